"""Every import style and model style the Keras capture must handle, in one script (one TF import)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import tensorflow as tf
from keras import layers
from tensorflow import keras as tfkeras
from tensorflow.keras.layers import Conv2D as C

L = tf.keras.layers  # an alias the rewriter cannot follow: captured from the model at fit

keras.utils.set_random_seed(0)
x = np.random.rand(64, 6, 6, 1).astype("float32")
y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int32")


def train(model, name, data=None):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if data is None:
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    else:
        model.fit(data, epochs=2, verbose=0)


# Sequential, with every import style for its layers.
train(keras.Sequential([
    keras.Input(shape=(6, 6, 1)),
    C(4, 3, padding="same", name="conv_alias"),
    tf.keras.layers.MaxPooling2D(2, name="pool_tf"),
    tfkeras.layers.Conv2D(4, 2, strides=1, name="conv_tfkeras"),
    L.Flatten(name="flatten_L"),
    layers.Dropout(0.1, name="dropout_from"),
    keras.layers.Dense(2, activation="softmax", name="dense_keras"),
], name="sequential"), "sequential")

# Functional.
inputs = keras.Input(shape=(6, 6, 1))
hidden = layers.Flatten(name="func_flatten")(inputs)
hidden = layers.Dense(8, activation="relu", name="func_dense")(hidden)
train(keras.Model(inputs, layers.Dense(2, activation="softmax", name="func_out")(hidden), name="functional"),
      "functional")


# Subclassed: its layers are built in __init__, where the rewriter sees only self.* assignments.
class Small(keras.Model):
    def __init__(self):
        super().__init__(name="subclassed")
        self.flatten = L.Flatten(name="sub_flatten")
        self.dense = L.Dense(2, activation="softmax", name="sub_dense")

    def call(self, inputs):
        return self.dense(self.flatten(inputs))


train(Small(), "subclassed")

# tf.data input.
dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
train(keras.Sequential([keras.Input(shape=(6, 6, 1)), L.Flatten(), L.Dense(2, activation="softmax",
                                                                      name="data_dense")], name="tfdata"),
      "tfdata", data=dataset)

# A custom GradientTape loop: no fit, the optimizer and layers are still captured.
model = keras.Sequential([keras.Input(shape=(6, 6, 1)), layers.Flatten(), layers.Dense(2, name="tape_dense")])
optimizer = keras.optimizers.SGD(learning_rate=0.01, momentum=0.5)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
for step in range(3):
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
print("done", float(loss))
