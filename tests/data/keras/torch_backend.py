"""A Keras script on the PyTorch backend (no provinstr in it); writes which frameworks it ended up with."""

import json
import sys

import numpy as np
import keras

x = np.random.default_rng(0).random((64, 4), dtype=np.float32)
y = (x.sum(axis=1) > 2).astype("int32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
model.fit(x, y, epochs=2, verbose=0)
model.evaluate(x, y, verbose=0)
frameworks = ("tensorflow", "torch", "keras", "sklearn", "jax")
with open(sys.argv[1], "w") as out:
    json.dump({"backend": keras.backend.backend(), "loaded": [m for m in frameworks if m in sys.modules]}, out)
