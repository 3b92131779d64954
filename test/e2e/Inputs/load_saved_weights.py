"""Checks a file kilnc's NAME_save_weights wrote for examples/mlp against the
original weights, with the references' reader and with torch.

    load_saved_weights.py ORIGINAL SAVED
"""
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "scripts",
                                "references"))
import common  # noqa: E402

original = common.read_safetensors(open(sys.argv[1], "rb").read())
saved = common.read_safetensors(open(sys.argv[2], "rb").read())
assert list(saved) == list(original), (list(saved), list(original))
for name, array in original.items():
    assert saved[name].dtype == array.dtype and np.array_equal(saved[name], array), name
print(f"{len(saved)} tensors identical, in state_dict order")

mlp = nn.Module()
mlp.fc1, mlp.fc2, mlp.fc3 = nn.Linear(64, 128), nn.Linear(128, 64), nn.Linear(64, 10)
mlp.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in saved.items()}, strict=True)
print("torch load_state_dict(strict=True): ok")
