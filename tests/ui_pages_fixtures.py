"""Fixtures for the compare, graph and SPARQL page tests: a 36-run sweep shaped like the seed paper's grid
(K × L × learning rate × optimizer) and one long training (LONG_EPOCHS epochs), recorded through provinstr's
API, and a ui server over them."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from analysis_runs import start_training, write_run
from ui_fixtures import start_ui_server

import provinstr

GRID = {"K": (12, 16, 24), "L": (4, 8, 16), "learning_rate": (0.001, 0.02), "optimizer": ("adam", "sgd")}
GRID_GROUP = "denseed-grid"
GRID_EPOCHS = 6
LONG_EPOCHS = 400  # more epochs than the graph page draws of an expanded group at once


@dataclass
class GridStore:
    """The sweep's store: its folder and each run's id by its configuration."""

    path: Path
    runs: dict[tuple, str] = field(default_factory=dict)
    group: str = GRID_GROUP
    long: str = ""  # the id of a run of LONG_EPOCHS epochs, in no group
    long_epochs: int = LONG_EPOCHS

    def configs(self) -> list[tuple]:
        """Every (K, L, learning_rate, optimizer) of the grid."""
        return list(itertools.product(*GRID.values()))

    def final(self, metric: str, config: tuple) -> float:
        """The loss or val_loss a configuration's last epoch recorded."""
        loss = grid_loss(*config, GRID_EPOCHS - 1)
        return loss if metric == "loss" else round(loss * 1.1 + 0.01, 6)


def grid_loss(K: int, L: int, learning_rate: float, optimizer: str, epoch: int) -> float:
    """A learning curve whose level depends on every hyperparameter, so the sweep views have something to show."""
    floor = 0.05 + 0.4 / K + 0.02 * abs(L - 8) / 4 + (0.03 if optimizer == "sgd" else 0.0)
    speed = 1.5 if learning_rate > 0.01 else 4.0
    return round(floor + 0.8 * math.exp(-epoch / speed), 6)


def write_grid(store: Path, group: str = GRID_GROUP) -> dict[tuple, str]:
    """Record the 36 runs of the grid (finished, each with a Training of GRID_EPOCHS epochs); their ids."""
    ids = {}
    for K, L, rate, optimizer in itertools.product(*GRID.values()):
        name = f"grid-K{K}-L{L}-lr{rate}-{optimizer}"
        with provinstr.run(name=name, store=str(store), group=group) as run:
            training = start_training(run, {"K": K, "L": L, "learning_rate": rate, "optimizer": optimizer,
                                            "epochs": GRID_EPOCHS}, layers=[])
            for epoch in range(GRID_EPOCHS):
                loss = grid_loss(K, L, rate, optimizer, epoch)
                training.metric("loss", loss, epoch=epoch)
                training.metric("val_loss", round(loss * 1.1 + 0.01, 6), epoch=epoch)
            training.end()
            ids[(K, L, rate, optimizer)] = run.id
    return ids


@pytest.fixture(scope="session")
def grid_store(tmp_path_factory) -> GridStore:
    folder = tmp_path_factory.mktemp("grid-store") / ".provinstr"
    runs = write_grid(folder)
    return GridStore(folder, runs, long=write_run(folder, name="long.py", epochs=LONG_EPOCHS, adaptations=()))


@pytest.fixture(scope="session")
def grid_server(grid_store):
    """`provinstr ui` over the grid's store."""
    server = start_ui_server(grid_store.path)
    yield server
    server.stop()
