"""Loop styles by name (first argument): a while loop with gradient accumulation, LBFGS with a closure,
and manual parameter updates with no optimizer at all."""

import sys

import torch
from torch import nn

from common import blobs, out_path, report, weights_digest

style = sys.argv[1]
torch.manual_seed(0)
X, y = blobs(128)
model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
loss_fn = nn.CrossEntropyLoss()
backpropagated = []  # per epoch: the mean of the values .backward() was called on

if style == "while":
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, nesterov=True, momentum=0.5)
    accumulate = 2
    epoch, max_epochs = 0, 3
    while epoch < max_epochs:
        values = []
        for start in range(0, len(X), 16):
            part = loss_fn(model(X[start:start + 16]), y[start:start + 16]) / accumulate
            part.backward()
            values.append(part.item())
            if (start // 16) % accumulate == accumulate - 1:
                optimizer.step()
                optimizer.zero_grad()
        backpropagated.append(sum(values) / len(values))
        epoch += 1
elif style == "lbfgs":
    optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4)
    for epoch in range(3):
        values = []

        def closure():
            optimizer.zero_grad()
            loss = loss_fn(model(X), y)
            loss.backward()
            values.append(loss.item())
            return loss

        optimizer.step(closure)
        backpropagated.append(sum(values) / len(values))
elif style == "manual":
    learning_rate = 0.1
    for epoch in range(3):
        loss = loss_fn(model(X), y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for parameter in model.parameters():
                parameter -= learning_rate * parameter.grad
        backpropagated.append(loss.item())
elif style in ("onecycle", "user"):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=12) if style == "onecycle" else None
    for epoch in range(3):
        values = []
        for start in range(0, len(X), 32):
            loss = loss_fn(model(X[start:start + 32]), y[start:start + 32])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()  # per batch: a schedule, not adaptations
            values.append(loss.item())
        backpropagated.append(sum(values) / len(values))
        if style == "user" and epoch == 1:
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] / 4  # the script edits the rate itself
print("losses", [round(v, 6) for v in backpropagated])
report(out_path(), losses=backpropagated, weights=weights_digest(model))
