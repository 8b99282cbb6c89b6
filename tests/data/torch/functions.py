"""The PyTorch tutorials' style: train_loop / test_loop functions called from `for t in range(epochs)`,
Adam, ReduceLROnPlateau on the test loss."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from common import blobs, out_path, report, weights_digest


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(8, 12), nn.Tanh())
        self.head = nn.Sequential(nn.Dropout(p=0.2), nn.Linear(12, 2))

    def forward(self, x):
        return self.head(self.features(x))


def train_loop(dataloader, model, loss_fn, optimizer):
    model.train()
    losses = []
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return sum(losses) / len(losses)


def test_loop(dataloader, model, loss_fn):
    model.eval()
    num_batches = len(dataloader)
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= len(dataloader.dataset)
    print(f"Test Error: \n Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f} \n")
    return test_loss, correct


torch.manual_seed(0)
X, y = blobs()
X_test, y_test = blobs(128, seed=2)
train_dataloader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
test_dataloader = DataLoader(TensorDataset(X_test, y_test), batch_size=64)
model = NeuralNetwork()
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0, threshold=0.5)

epochs = 4
seen = {"loss": [], "test_loss": [], "correct": [], "lr": []}
for t in range(epochs):
    print(f"Epoch {t+1}\n-------------------------------")
    seen["lr"].append(optimizer.param_groups[0]["lr"])
    seen["loss"].append(train_loop(train_dataloader, model, loss_fn, optimizer))
    test_loss, correct = test_loop(test_dataloader, model, loss_fn)
    seen["test_loss"].append(test_loss)
    seen["correct"].append(correct)
    scheduler.step(test_loss)
print("Done!")
with open("final.pt", "wb") as handle:  # an open file, as pytorch/examples' word_language_model saves
    torch.save(model, handle)
report(out_path(), weights=weights_digest(model), **seen)
