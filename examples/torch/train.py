"""A plain PyTorch training: a small CNN on generated 16x16 images, SGD with a StepLR schedule,
a validation pass every epoch, a test at the end and the weights saved. No provinstr import:

    python train.py --epochs 6                 # trains
    provinstr run train.py --epochs 6          # trains the same, captured
    provinstr show last                        # layers, optimizer, epochs, adaptations, test, model file
"""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_images(n, generator):
    """Bright squares in one of four corners: the class is the corner."""
    labels = torch.randint(0, 4, (n,), generator=generator)
    images = torch.randn(n, 1, 16, 16, generator=generator)
    for index, corner in enumerate(labels.tolist()):
        row, column = divmod(corner, 2)
        images[index, 0, row * 8:row * 8 + 8, column * 8:column * 8 + 8] += 0.25
    return images, labels


class SmallCNN(nn.Module):
    def __init__(self, channels=8, dropout=0.25):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * channels * 16, 4))

    def forward(self, x):
        return self.head(self.features(x))


def train(model, loader, loss_fn, optimizer):
    model.train()
    total = 0.0
    for images, labels in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)


def evaluate(model, loader, loss_fn):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for images, labels in loader:
            outputs = model(images)
            loss_sum += loss_fn(outputs, labels).item() * len(labels)
            correct += (outputs.argmax(1) == labels).sum().item()
    return loss_sum / len(loader.dataset), correct / len(loader.dataset)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_images, train_labels = make_images(1024, generator)
    val_images, val_labels = make_images(256, generator)
    train_loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=args.batch_size, shuffle=True)
    val_loader = DataLoader(TensorDataset(val_images, val_labels), batch_size=256)

    model = SmallCNN()
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)

    for epoch in range(args.epochs):
        train_loss = train(model, train_loader, loss_fn, optimizer)
        val_loss, val_acc = evaluate(model, val_loader, loss_fn)
        scheduler.step()
        print(f"epoch {epoch + 1}/{args.epochs}  train_loss {train_loss:.4f}  val_loss {val_loss:.4f}  "
              f"val_acc {val_acc:.3f}")

    test_images, test_labels = make_images(256, generator)
    test_loss, test_acc = evaluate(model, DataLoader(TensorDataset(test_images, test_labels), batch_size=256), loss_fn)
    print(f"test_loss {test_loss:.4f}  test_acc {test_acc:.3f}")
    torch.save(model.state_dict(), "small_cnn.pt")


if __name__ == "__main__":
    main()
