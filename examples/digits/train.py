"""A small CNN on scikit-learn's bundled 8x8 digits, with ReduceLROnPlateau halving the learning rate.

A plain Keras 3 script with no provinstr import; run it as `python train.py` or under
`provinstr run`. The data ships with scikit-learn (load_digits: 1,797 images), no downloads.
The plateau callback is set to act within a few epochs, so a captured run shows pi:Adaptation.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the output

import keras
import numpy as np
from keras import layers
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.05, help="initial learning rate (default 0.05)")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs (default 15)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--patience", type=int, default=2,
                        help="epochs without val_loss improvement before the learning rate is halved (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the split and weights (default 0)")
    parser.add_argument("--out", default="out/digits", help="folder for the saved model (default out/digits)")
    return parser.parse_args(argv)


def load_data(seed: int):
    """(x_train, y_train), (x_test, y_test): the digits scaled to [0, 1] as (8, 8, 1) images, 75 % / 25 %."""
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
    )
    return (x_train, y_train), (x_test, y_test)


def build_model() -> keras.Model:
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.25),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="digits_cnn",
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data(args.seed)

    model = build_model()
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=args.lr, momentum=args.momentum),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    # min_delta is large on purpose: small gains count as a plateau, so the rate is halved within the run.
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=0.5, patience=args.patience, min_delta=0.01, min_lr=1e-4, verbose=1
    )
    model.fit(
        x_train, y_train, validation_split=0.2, epochs=args.epochs, batch_size=args.batch_size,
        callbacks=[plateau], verbose=2,
    )

    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss {test_loss:.4f}  test accuracy {test_accuracy:.4f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "digits_cnn.keras"
    model.save(path)
    print(f"model saved to {path}")


if __name__ == "__main__":
    main()
