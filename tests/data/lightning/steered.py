"""A slow Lightning fit for `provinstr steer`: 16 short epochs, a StepLR every 3 epochs; prints each epoch's rate."""

import json
import time

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
features = torch.randn(32, 4)
loader = DataLoader(TensorDataset(features, features.sum(dim=1, keepdim=True)), batch_size=16)


class Linear(L.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def training_step(self, batch, index):
        loss = nn.functional.mse_loss(self.layer(batch[0]), batch[1])
        self.log("loss", loss)
        return loss

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
        return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 3, gamma=0.5)}


class Rates(L.Callback):
    """The rate each epoch's steps use (read at its first batch), and a pause that gives the asker time."""

    def __init__(self):
        self.rates = []

    def on_train_batch_start(self, trainer, module, batch, index):
        if index == 0:
            self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_epoch_end(self, trainer, module):
        time.sleep(0.3)


rates = Rates()
trainer = L.Trainer(max_epochs=16, logger=False, enable_progress_bar=False, enable_model_summary=False,
                    enable_checkpointing=False, accelerator="cpu", callbacks=[rates])
trainer.fit(Linear(), loader)
print(json.dumps(rates.rates))
