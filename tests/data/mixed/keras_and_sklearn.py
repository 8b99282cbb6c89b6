"""One array trained on by scikit-learn and by Keras in one script (no provinstr in it)."""

import numpy as np
import keras
from sklearn.linear_model import LogisticRegression

rng = np.random.default_rng(0)
features = rng.random((64, 4), dtype=np.float32)
labels = (features.sum(axis=1) > 2).astype("int32")

LogisticRegression(max_iter=200).fit(features, labels)

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
model.fit(features, labels, epochs=1, verbose=0)
np.save("features.npy", features)
