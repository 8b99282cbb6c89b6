"""Seeds torch, CUDA, Python and NumPy with different values and prints draws from each generator.

`python seeded.py` and `provinstr run seeded.py` must print the same numbers: capture never changes
what a seeding call does.
"""

import random

import numpy as np
import torch

torch.manual_seed(1)
torch.cuda.manual_seed_all(1)
random.seed(2)
np.random.seed(3)
rng = np.random.default_rng(4)

print(torch.rand(3).tolist())
print(torch.randint(0, 1000, (4,)).tolist())
print(random.random(), random.randint(0, 1000))
print(np.random.rand(3).tolist())
print(rng.integers(0, 1000, 4).tolist())
