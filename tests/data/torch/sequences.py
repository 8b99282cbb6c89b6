"""Several trainings in one script: a `while True` loop left by break, in a function called twice; two
trainings over one DataLoader with persistent workers; a dataset drawing from its own generator; models
deleted after their fold."""

import gc
import weakref

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from common import blobs, out_path, report, weights_digest


class Jittered(Dataset):
    """Each item gets noise from the dataset's own generator: reading an item changes what training sees."""

    def __init__(self, n):
        self.x, self.y = blobs(n)
        self.rng = np.random.default_rng(0)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index] + float(self.rng.normal(scale=0.01)), self.y[index]


def train(max_epochs, X, y):
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    epoch = 0
    while True:
        loss = nn.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        epoch += 1
        if epoch >= max_epochs:
            break
    return model


torch.manual_seed(0)
X, y = blobs(64)
digests, alive = [], []
for max_epochs in (3, 2):
    model = train(max_epochs, X, y)
    digests.append(weights_digest(model))
    alive.append(weakref.ref(model))
    del model
    gc.collect()

best_val_loss = 123.0  # between trainings, with gradients on: not an evaluation
loader = DataLoader(Jittered(64), batch_size=16, shuffle=True, num_workers=1, persistent_workers=True)
for fold in range(2):
    model = nn.Linear(8, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for epoch in range(2):
        for xb, yb in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            optimizer.step()
    digests.append(weights_digest(model))
    alive.append(weakref.ref(model))
    del model, optimizer
    gc.collect()

print("digests", [d[:12] for d in digests])
report(out_path(), weights=digests, alive=[ref() is not None for ref in alive])
