"""A small DenseED-like surrogate: encoder / dense block (K, L) / decoder, trained on smooth 2-D fields.

The case study of the Keras-Prov paper is DenseED (Zhu & Zabaras 2018; Freitas et al. 2020): a
dense convolutional encoder-decoder that learns to map one field to another. This is a plain
Keras 3 script with no provinstr import; run it as `python train.py` or under `provinstr run`.

The data is generated here, no downloads: each sample is a smooth field on a 32x32 grid (a sum
of random Gaussian bumps and a plane wave); the network sees a coarse, noisy version of it and
learns to give back the fine field.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the output

import keras
import numpy as np
from keras import layers

GRID = 32  # fields are GRID x GRID
COARSE = 4  # the input keeps one value per COARSE x COARSE block


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.02, help="learning rate (default 0.02)")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    parser.add_argument("--decay", type=float, default=0.0, help="weight decay (default 0: none)")
    parser.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd", help="optimizer (default sgd)")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    parser.add_argument("--K", type=int, default=24, help="growth rate: feature maps each dense layer adds")
    parser.add_argument("--L", type=int, default=4, help="number of conv layers in the dense block")
    parser.add_argument("--samples", type=int, default=512, help="number of generated fields (default 512)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for data and weights (default 0)")
    parser.add_argument("--out", default="out/denseed", help="folder for the saved model (default out/denseed)")
    return parser.parse_args(argv)


# -- data ------------------------------------------------------------------------------------
def smooth_fields(count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` smooth fields of shape (GRID, GRID, 1), each a sum of Gaussian bumps and a plane wave."""
    axis = np.linspace(0.0, 1.0, GRID, dtype=np.float32)
    y, x = np.meshgrid(axis, axis, indexing="ij")
    fields = np.zeros((count, GRID, GRID), dtype=np.float32)
    for bump in range(4):
        centre_x, centre_y = rng.uniform(0.1, 0.9, (2, count, 1, 1)).astype(np.float32)
        width = rng.uniform(0.08, 0.25, (count, 1, 1)).astype(np.float32)
        height = rng.normal(0.0, 1.0, (count, 1, 1)).astype(np.float32)
        fields += height * np.exp(-((x - centre_x) ** 2 + (y - centre_y) ** 2) / (2 * width**2))
    wave_x, wave_y = rng.uniform(-6.0, 6.0, (2, count, 1, 1)).astype(np.float32)
    phase = rng.uniform(0.0, 2 * np.pi, (count, 1, 1)).astype(np.float32)
    fields += 0.3 * np.sin(wave_x * x + wave_y * y + phase)
    return fields[..., None]


def coarse_and_noisy(fields: np.ndarray, rng: np.random.Generator, noise: float = 0.05) -> np.ndarray:
    """Block means of each field, stretched back to full size, plus Gaussian noise: the network's input."""
    count = fields.shape[0]
    blocks = fields.reshape(count, GRID // COARSE, COARSE, GRID // COARSE, COARSE, 1).mean(axis=(2, 4))
    stretched = blocks.repeat(COARSE, axis=1).repeat(COARSE, axis=2)
    return (stretched + rng.normal(0.0, noise, stretched.shape)).astype(np.float32)


def make_data(samples: int, seed: int):
    """(x_train, y_train), (x_test, y_test): 80 % / 20 % of `samples` generated fields."""
    rng = np.random.default_rng(seed)
    targets = smooth_fields(samples, rng)
    inputs = coarse_and_noisy(targets, rng)
    cut = int(samples * 0.8)
    return (inputs[:cut], targets[:cut]), (inputs[cut:], targets[cut:])


# -- network ---------------------------------------------------------------------------------
def encoder(x, filters: int, padding: str = "same", strides: int = 2):
    """Halve the grid: BN-ReLU-Conv 1x1 (mix channels), BN-ReLU-Conv 3x3 with `strides`."""
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 1, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.Conv2D(filters, 3, strides=strides, padding=padding, use_bias=False)(x)


def dense_block(x, K: int, L: int):
    """L layers of BN-ReLU-Conv 3x3, each adding K feature maps concatenated to all before it."""
    for _ in range(L):
        y = layers.BatchNormalization()(x)
        y = layers.ReLU()(y)
        y = layers.Conv2D(K, 3, padding="same", use_bias=False)(y)
        x = layers.Concatenate()([x, y])
    return x


def decoder(x, filters: int, padding: str = "same", strides: int = 2):
    """Double the grid: BN-ReLU-Conv 1x1, BN-ReLU-Conv2DTranspose 3x3 with `strides`."""
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 1, padding=padding, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    return layers.Conv2DTranspose(filters, 3, strides=strides, padding=padding, use_bias=False)(x)


def build_model(K: int, L: int) -> keras.Model:
    inputs = keras.Input(shape=(GRID, GRID, 1), name="coarse_field")
    x = layers.Conv2D(16, 5, padding="same", name="first_conv")(inputs)
    x = encoder(x, filters=32, padding="same", strides=2)
    x = dense_block(x, K=K, L=L)
    x = decoder(x, filters=32, padding="same", strides=2)
    outputs = layers.Conv2D(1, 3, padding="same", name="field")(x)
    return keras.Model(inputs, outputs, name=f"denseed_K{K}_L{L}")


def make_optimizer(args: argparse.Namespace) -> keras.optimizers.Optimizer:
    weight_decay = args.decay or None
    if args.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate=args.lr, weight_decay=weight_decay)
    return keras.optimizers.SGD(learning_rate=args.lr, momentum=args.momentum, weight_decay=weight_decay)


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = make_data(args.samples, args.seed)

    model = build_model(args.K, args.L)
    model.compile(optimizer=make_optimizer(args), loss="mse", metrics=["mae"])
    model.fit(x_train, y_train, validation_split=0.2, epochs=args.epochs, batch_size=args.batch_size, verbose=2)

    test_loss, test_mae = model.evaluate(x_test, y_test, batch_size=args.batch_size, verbose=0)
    print(f"test loss {test_loss:.5f}  test mae {test_mae:.5f}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"denseed_K{args.K}_L{args.L}.keras"
    model.save(path)
    print(f"model saved to {path}")


if __name__ == "__main__":
    main()
