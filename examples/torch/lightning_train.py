"""A Lightning training of the same corner-square task: self.log'd metrics, a StepLR from
configure_optimizers, a checkpoint per best epoch, a test at the end. No provinstr import:

    python lightning_train.py                   # trains
    provinstr run lightning_train.py            # trains the same, captured
"""

import argparse

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from train import SmallCNN, make_images


class CornerClassifier(L.LightningModule):
    def __init__(self, lr=0.05, channels=8):
        super().__init__()
        self.save_hyperparameters()
        self.model = SmallCNN(channels=channels)
        self.loss_fn = nn.CrossEntropyLoss()

    def training_step(self, batch, batch_index):
        images, labels = batch
        loss = self.loss_fn(self.model(images), labels)
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss

    def validation_step(self, batch, batch_index):
        images, labels = batch
        outputs = self.model(images)
        self.log("val_loss", self.loss_fn(outputs, labels))
        self.log("val_acc", (outputs.argmax(1) == labels).float().mean())

    def test_step(self, batch, batch_index):
        images, labels = batch
        self.log("test_acc", (self.model(images).argmax(1) == labels).float().mean())

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 2, gamma=0.5)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    L.seed_everything(0)
    generator = torch.Generator().manual_seed(0)
    train_loader = DataLoader(TensorDataset(*make_images(1024, generator)), batch_size=64, shuffle=True)
    val_loader = DataLoader(TensorDataset(*make_images(256, generator)), batch_size=256)
    test_loader = DataLoader(TensorDataset(*make_images(256, generator)), batch_size=256)
    checkpoint = ModelCheckpoint(dirpath="checkpoints", monitor="val_loss")
    trainer = L.Trainer(max_epochs=args.epochs, accelerator="cpu", logger=False, enable_progress_bar=False,
                        enable_model_summary=False, callbacks=[checkpoint])
    module = CornerClassifier()
    trainer.fit(module, train_loader, val_loader)
    print(trainer.test(module, test_loader, verbose=False))
    print("best checkpoint", checkpoint.best_model_path)


if __name__ == "__main__":
    main()
