"""A tiny Keras fit for the ui tests: a dense block of L layers of K units (recorded as a DenseBlock
transformation by dense_rules.toml), ReduceLROnPlateau that lowers the rate every other epoch, a test
and a saved model. `--sleep S` makes each epoch last S seconds more (a training the tests watch)."""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from keras import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--lr", type=float, default=0.05)
parser.add_argument("--K", type=int, default=8)
parser.add_argument("--L", type=int, default=2)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--out", default="model.keras")
args = parser.parse_args()


def dense_block(x, K, L):
    for _ in range(L):
        x = layers.Concatenate()([x, layers.Dense(K, activation="relu")(x)])
    return x


class Slow(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        time.sleep(args.sleep)


keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x_train = rng.random((160, 6)).astype("float32")
y_train = (x_train.sum(axis=1) > 3).astype("float32")
x_test = rng.random((40, 6)).astype("float32")
y_test = (x_test.sum(axis=1) > 3).astype("float32")

inputs = keras.Input((6,))
outputs = layers.Dense(1, activation="sigmoid", name="out")(dense_block(inputs, K=args.K, L=args.L))
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.SGD(learning_rate=args.lr, momentum=0.9), loss="binary_crossentropy",
              metrics=["accuracy"])
# min_delta larger than any change: the rate halves after every second epoch, so the curves show adaptations
plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=10.0, verbose=0)
model.fit(x_train, y_train, validation_split=0.25, epochs=args.epochs, batch_size=32, verbose=0,
          callbacks=[plateau, Slow()])
model.evaluate(x_test, y_test, verbose=0)
model.save(args.out)
print("done")
