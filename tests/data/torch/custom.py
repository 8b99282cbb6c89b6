"""What third parties bring: a map-style Dataset with a random transform, an IterableDataset, an
Optimizer subclass, a model wrapped by torch.compile and DataParallel, a checkpoint per epoch, and
the best checkpoint loaded back for a final evaluation."""

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, IterableDataset

from common import blobs, out_path, report, weights_digest


class NoisyBlobs(Dataset):
    def __init__(self, n):
        self.x, self.y = blobs(n)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return self.x[index] + 0.01 * torch.randn(8), self.y[index]  # draws from torch's generator


class Stream(IterableDataset):
    def __iter__(self):
        x, y = blobs(64, seed=3)
        return iter(zip(x, y))


class PlainSGD(torch.optim.Optimizer):
    def __init__(self, params, lr=0.1, shrink=0.0):
        super().__init__(params, {"lr": lr, "shrink": shrink})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter.mul_(1 - group["shrink"]).add_(parameter.grad, alpha=-group["lr"])


torch.manual_seed(0)
train_loader = DataLoader(NoisyBlobs(192), batch_size=48, shuffle=True)
val_loader = DataLoader(Stream(), batch_size=32)
net = nn.Sequential(nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 2))
model = nn.DataParallel(torch.compile(net, backend="eager"))
loss_fn = nn.CrossEntropyLoss()
optimizer = PlainSGD(model.parameters(), lr=0.2, shrink=0.001)

val_losses = []
for epoch in range(3):
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss_fn(model(xb), yb).backward()
        optimizer.step()
    with torch.no_grad():
        val_loss = sum(loss_fn(model(xb), yb).item() for xb, yb in val_loader) / 2
    val_losses.append(val_loss)
    torch.save(net.state_dict(), f"checkpoint_{epoch}.pt")

best = min(range(3), key=val_losses.__getitem__)
net.load_state_dict(torch.load(f"checkpoint_{best}.pt"))
with torch.no_grad():
    test_loss = sum(loss_fn(net(xb), yb).item() for xb, yb in val_loader) / 2
print("val", [round(v, 6) for v in val_losses], "best", best, "test", round(test_loss, 6))
report(out_path(), val_loss=val_losses, best=best, test_loss=test_loss, weights=weights_digest(net))
