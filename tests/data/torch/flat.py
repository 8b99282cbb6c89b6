"""A flat epoch loop: DataLoader, SGD with momentum, StepLR, validation in the loop, a test after, torch.save."""

import sys

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from common import blobs, inject_fault, out_path, report, weights_digest

inject_fault()

fail_at = int(sys.argv[sys.argv.index("--fail-at") + 1]) if "--fail-at" in sys.argv else None

torch.manual_seed(0)
X, y = blobs()
X_val, y_val = blobs(96, seed=1)
train_data = TensorDataset(X, y)
train_loader = DataLoader(train_data, batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 2))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

seen = {"loss": [], "val_loss": [], "val_acc": [], "lr": [], "steps": []}
for epoch in range(5):
    model.train()
    running, steps = 0.0, 0
    seen["lr"].append(optimizer.param_groups[0]["lr"])
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        running += loss.item()
        steps += 1
    if epoch == fail_at:
        raise RuntimeError(f"the data ran out in epoch {epoch}")
    model.eval()
    with torch.no_grad():
        val_loss = loss_fn(model(X_val), y_val).item()
        val_acc = (model(X_val).argmax(1) == y_val).float().mean().item()
    scheduler.step()
    seen["loss"].append(running / steps)
    seen["val_loss"].append(val_loss)
    seen["val_acc"].append(val_acc)
    seen["steps"].append(steps)
    print(f"epoch {epoch} loss {running / steps:.6f} val_loss {val_loss:.6f} val_acc {val_acc:.4f}")

with torch.no_grad():
    test_acc = (model(X_val).argmax(1) == y_val).float().mean().item()
print("test_acc", test_acc)
torch.save(model.state_dict(), "model.pt")
report(out_path(), weights=weights_digest(model), test_acc=test_acc, **seen)
