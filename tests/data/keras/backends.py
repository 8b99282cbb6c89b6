"""The Keras capture suite's key cases in one script, for any backend (KERAS_BACKEND); no provinstr in it.

Writes into the folder argv[1]: seen.json (backend, the frameworks loaded before and after the final
model.save, each fit's History (a list of them for a model fitted twice), evaluate's results), the
data (x.npy ...), the predictions and the trained weights of the first and the last model (.npz).
Each model is named after its case: the store's pi:Model labels tell the Trainings apart.
"""

import json
import random
import sys
from pathlib import Path

import keras
import numpy as np
from keras import layers

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
backend = keras.backend.backend()

rng = np.random.default_rng(0)
x = rng.random((240, 4), dtype=np.float32)
y = (x.sum(axis=1) > 2).astype("int32")
xv = rng.random((60, 4), dtype=np.float32)
yv = (xv.sum(axis=1) > 2).astype("int32")
for name, array in {"x": x, "y": y, "xv": xv, "yv": yv}.items():
    np.save(out / f"{name}.npy", array)


def seed(value):
    """keras.utils.set_random_seed, which imports TensorFlow whatever the backend, for this backend only."""
    if backend == "tensorflow":
        keras.utils.set_random_seed(value)
        return
    import torch

    random.seed(value)  # unseeded initializers draw their seeds from Python's random
    np.random.seed(value)
    torch.manual_seed(value)


def small(name, optimizer):
    seed(0)
    model = keras.Sequential([
        keras.Input((4,), name="features"),
        layers.Dense(8, activation="relu", name="hidden"),
        layers.Dense(2, activation="softmax", name="scores"),
    ], name=name)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


histories, results = {}, {}

# Metrics, hyperparameters, layers, data, the saved model, evaluate and predict.
trained = small("metrics", keras.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True))
histories["metrics"] = trained.fit(x, y, epochs=3, batch_size=32, validation_data=(xv, yv), verbose=0).history
np.savez(out / "weights.npz", *trained.get_weights())
results["evaluate"] = trained.evaluate(xv, yv, verbose=0)  # [loss, accuracy]
np.save(out / "predictions.npy", trained.predict(xv, verbose=0))

# ReduceLROnPlateau: epoch 0 sets the best loss, every later epoch misses it by min_delta.
plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10)
histories["plateau"] = small("plateau", keras.optimizers.SGD(learning_rate=0.05)).fit(
    x, y, epochs=3, batch_size=32, callbacks=[plateau], verbose=0).history

scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
histories["scheduler"] = small("scheduler", keras.optimizers.SGD(learning_rate=0.1)).fit(
    x, y, epochs=3, batch_size=32, callbacks=[scheduler], verbose=0).history

stop = keras.callbacks.EarlyStopping(monitor="loss", min_delta=10, patience=1)
histories["stopping"] = small("stopping", "adam").fit(
    x, y, epochs=10, batch_size=32, callbacks=[stop], verbose=0).history

# A learning-rate schedule: a hyperparameter, its value each epoch a metric, no adaptations.
schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
histories["schedule"] = small("schedule", keras.optimizers.SGD(learning_rate=schedule)).fit(
    x, y, epochs=2, batch_size=32, verbose=0).history

# A rate the script sets between two fits of one model (two Trainings of the model "refit").
model = small("refit", keras.optimizers.SGD(learning_rate=0.05))
histories["refit"] = [model.fit(x, y, epochs=1, batch_size=32, verbose=0).history]
model.optimizer.learning_rate = 0.01
histories["refit"].append(model.fit(x, y, epochs=3, initial_epoch=1, batch_size=32, verbose=0).history)

# The backend's own tensors, and its own stream: tf.data on TensorFlow, a DataLoader on PyTorch.
tensors = keras.ops.convert_to_tensor(x[:120]), keras.ops.convert_to_tensor(y[:120])
histories["tensors"] = small("tensors", "sgd").fit(*tensors, epochs=1, batch_size=32, verbose=0).history
if backend == "tensorflow":
    import tensorflow as tf

    stream = tf.data.Dataset.from_tensor_slices((x, y)).batch(48)
else:
    import torch

    pairs = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    stream = torch.utils.data.DataLoader(pairs, batch_size=48)
streamed = small("stream", "sgd")
histories["stream"] = streamed.fit(stream, epochs=2, verbose=0).history

FRAMEWORKS = ("tensorflow", "torch", "keras", "sklearn", "jax")
seen = {"backend": backend, "loaded": [m for m in FRAMEWORKS if m in sys.modules],
        "histories": histories, "results": results}

# Last: Keras' own save imports TensorFlow on any backend where it is installed (it asks tf.available).
streamed.save(out / "saved.keras")
np.savez(out / "streamed.npz", *streamed.get_weights())
seen["loaded_at_end"] = [m for m in FRAMEWORKS if m in sys.modules]
(out / "seen.json").write_text(json.dumps(seen, indent=1))
print("done", backend)
