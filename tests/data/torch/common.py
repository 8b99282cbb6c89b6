"""Helpers the test scripts share: generated data and a JSON report of what the script itself computed."""

import hashlib
import json
import sys

import torch


def blobs(n=256, features=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=generator)
    return x, (x.sum(1) > 0).long()


def weights_digest(model):
    hasher = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        hasher.update(name.encode() + tensor.detach().cpu().numpy().tobytes())
    return hasher.hexdigest()


def report(path, **values):
    """What the script saw, for the test to compare with the store (the path is the last argument)."""
    with open(path, "w") as handle:
        json.dump(values, handle)


def out_path():
    return sys.argv[-1]


def inject_fault():
    """PROVINSTR_TEST_FAULT=<hook>: that capture hook raises (the test checks training goes on)."""
    import os

    where = os.environ.get("PROVINSTR_TEST_FAULT")
    if not where:
        return

    def boom(*args, **kwargs):
        raise RuntimeError(f"injected fault in {where}")

    from provinstr.adapters.torch import adapter, describe, training

    target = {"modules": (describe, "record_modules"), "optimizer": (training.TorchTraining, "describe_optimizer"),
              "loss": (training.TorchTraining, "backward"), "save": (adapter.TorchAdapter, "on_model"),
              "step": (training.TorchTraining, "stepped")}[where]
    setattr(*target, boom)
