"""A small Lightning training as tutorials write it: a LightningModule with save_hyperparameters, self.log,
configure_optimizers with a StepLR, a ModelCheckpoint, then test, predict, validate the best checkpoint and
save a checkpoint of its own.

The script prints one JSON line: what it saw (its own callback's copy of trainer.callback_metrics per epoch,
the learning rate per epoch, the best checkpoint, the test results, whether the trainer's callbacks are as before).
Run with `--pl` it imports `pytorch_lightning` instead of `lightning`, and stops early with EarlyStopping.
"""

import json
import sys

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

if "--pl" in sys.argv:
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
else:
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

torch.manual_seed(0)
features = torch.randn(96, 4)
labels = (features.sum(dim=1) > 0).long()
train_set = TensorDataset(features[:64], labels[:64])
val_set = TensorDataset(features[64:], labels[64:])
train_loader = DataLoader(train_set, batch_size=16, shuffle=True)
val_loader = DataLoader(val_set, batch_size=32)


class TwoLayer(pl.LightningModule):
    def __init__(self, hidden=8, lr=0.1, gamma=0.5):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, index):
        x, y = batch
        loss = nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True)
        return loss

    def validation_step(self, batch, index):
        x, y = batch
        out = self(x)
        self.log("val_loss", nn.functional.cross_entropy(out, y))
        self.log("val_acc", (out.argmax(dim=1) == y).float().mean())

    def on_train_epoch_end(self):
        self.log("lr_seen", self.trainer.optimizers[0].param_groups[0]["lr"])

    def test_step(self, batch, index):
        x, y = batch
        self.log("test_acc", (self(x).argmax(dim=1) == y).float().mean())

    def predict_step(self, batch, index):
        return self(batch[0]).softmax(dim=1)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)
        return [optimizer], [torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=self.hparams.gamma)]


class Seen(pl.Callback):
    """The script's own record of each epoch: the metrics Lightning holds once the epoch is over."""

    def __init__(self):
        self.epochs, self.rates, self.final = [], [], {}

    def on_train_epoch_start(self, trainer, module):
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_epoch_end(self, trainer, module):
        self.epochs.append({"epoch": trainer.current_epoch,
                            **{k: float(v) for k, v in trainer.callback_metrics.items()}})

    def on_train_end(self, trainer, module):
        self.final = {k: float(v) for k, v in trainer.callback_metrics.items()}


early = "--pl" in sys.argv
seen = Seen()
checkpoint = ModelCheckpoint(dirpath="checkpoints", monitor="val_loss", save_top_k=1)
callbacks = [seen, checkpoint]
if early:  # val_acc cannot improve by 0.5 twice: stops at epoch 2
    callbacks.append(EarlyStopping(monitor="val_acc", mode="max", patience=2, min_delta=0.5))
trainer = pl.Trainer(max_epochs=6 if early else 3, logger=False, enable_progress_bar=False,
                     enable_model_summary=False, accelerator="cpu", gradient_clip_val=1.0, callbacks=callbacks)
before = list(trainer.callbacks)
model = TwoLayer(hidden=8, lr=0.1)
trainer.fit(model, train_loader, val_loader)
after = list(trainer.callbacks)
results = trainer.test(model, dataloaders=val_loader, verbose=False)
predictions = trainer.predict(model, dataloaders=val_loader)
validated = trainer.validate(dataloaders=val_loader, ckpt_path="best", verbose=False)  # the best weights
trainer.save_checkpoint("final.ckpt")
print(json.dumps({
    "epochs": seen.epochs, "final": seen.final, "rates": seen.rates, "test": results, "validate": validated,
    "best": checkpoint.best_model_path, "best_score": float(checkpoint.best_model_score),
    "stopped_epoch": callbacks[-1].stopped_epoch if early else None,
    "callbacks_kept": before == after and [type(c).__name__ for c in after] == [type(c).__name__ for c in before],
    "callbacks": [type(c).__name__ for c in after],
    "predictions": list(torch.cat(predictions).shape),
}))
