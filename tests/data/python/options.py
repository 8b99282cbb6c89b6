"""A script configured from its command line, and seeded: `provinstr run` records both as hyperparameters.

It imports nothing from provinstr. It parses twice (a second parse with other values, as a sweep helper
might), seeds Python's and NumPy's generators with one value, and calls a .parse_args that is not argparse's.
"""

import argparse
import random
from pathlib import Path

import numpy as np

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--lr", type=float, default=0.01)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--layers", type=int, nargs="+", default=[8])
parser.add_argument("--shuffle", action="store_true")
parser.add_argument("--no-augment", dest="augment", action="store_false")
parser.add_argument("--optimizer", default="sgd")
parser.add_argument("--out", type=Path, default=Path("runs") / "out")
parser.add_argument("--resume", default=None)
parser.add_argument("--api-key")
parser.add_argument("--password", default="pw-default-42")
parser.add_argument("--seed", type=int, default=7)
args = parser.parse_args()

again, rest = parser.parse_known_args(["--epochs", "5", "--unknown"])


class Settings:
    def parse_args(self):
        return argparse.Namespace(not_a_command_line_option=1)


Settings().parse_args()

random.seed(args.seed)
np.random.seed(args.seed)
rng = np.random.default_rng(args.seed)
unseeded = np.random.default_rng()  # no fixed seed: nothing to record
print(args.epochs, again.epochs, rest, args.layers, args.shuffle, args.augment)
