"""A DenseED-like encoder / dense-block / decoder network in numpy alone, trained by plain gradient steps.

No provinstr import: tests/data/denseed_rules.toml makes `provinstr run` record its blocks and losses.
"""

import argparse

import numpy as np


def encoder(x, weights, padding="same", strides=2):
    """Halve the spatial size (strided mean) and mix channels."""
    if padding == "same" and x.shape[1] % strides:
        x = np.pad(x, ((0, 0), (0, strides - x.shape[1] % strides), (0, 0)))
    pooled = x.reshape(x.shape[0], -1, strides, x.shape[2]).mean(axis=2)
    return np.tanh(pooled @ weights)


def dense_block(x, K, L):
    """L layers, each adding K feature maps computed from everything before it (DenseNet style)."""
    rng = np.random.default_rng(L * 100 + K)
    for _ in range(L):
        mixed = np.tanh(x @ rng.normal(0, 0.1, (x.shape[2], K)))
        x = np.concatenate([x, mixed], axis=2)
    return x


def decoder(x, weights, padding="same", strides=2):
    """Double the spatial size back and project to one output channel."""
    return np.repeat(x, strides, axis=1) @ weights


def train_epoch(epoch, state, data, target, K, L, learning_rate=0.05):
    """One epoch of gradient descent on the decoder weights; returns the epoch's mean squared error."""
    features = dense_block(encoder(data, state["enc"], padding="same", strides=2), K=K, L=L)
    if "dec" not in state:
        state["dec"] = np.zeros((features.shape[2], 1))
    up = np.repeat(features, 2, axis=1)
    error = decoder(features, state["dec"], padding="same", strides=2) - target
    state["dec"] -= learning_rate * np.einsum("nsf,nso->fo", up, error) / error.size
    return float(np.mean(error ** 2))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--K", type=int, default=24)
    parser.add_argument("--L", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=3)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    data = rng.normal(size=(64, 16, 3))
    target = np.sin(data.sum(axis=2, keepdims=True))
    state = {"enc": rng.normal(0, 0.3, (3, 8))}
    for epoch in range(options.epochs):
        loss = train_epoch(epoch, state, data, target, options.K, options.L)
        print(f"epoch {epoch}: loss {loss:.5f}")


if __name__ == "__main__":
    main()
