#!/usr/bin/python3
"""The reference of examples/mlp/train.c: the digits MLP trained by PyTorch.

Pre-training from PyTorch's default initialization (seeded), then fine-tuning
with the first layer frozen, exactly as the train entries of
examples/mlp/mlp.kiln declare them:

  fit:       SGD, momentum 0.9, lr 0.3, every parameter;        100 steps
  finetune:  AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.01), lr 3e-3,
             fc1.* frozen, gradients clipped to a global norm of 1; 50 steps

on the 300 digits of examples/mlp/data (test_x.f32, test_y.i64): rows 0..239
train, in fixed order, batch 32 (step k reads rows (32 k + j) mod 240); rows
240..299 are held out. Computed in float64 from the float32 initial weights.
Writes into examples/mlp/data:

  init.safetensors           the initial (random) weights, f32
  train.grads.f32            [17226] step 1's gradients of fit, parameter after
                             parameter in the model's order (mlp_fit_grads)
  train.fit_losses.f32       [100] the loss of each fit step
  train.finetune_losses.f32  [50] the loss of each finetune step
  train.final_probs.f32      [60, 10] predict() on the held-out rows at the end
  trained.safetensors        the final weights, f32

Run with Debian's python:  /usr/bin/python3 scripts/references/mlp_train.py
"""

import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

SEED = 7
BATCH = 32
N_TRAIN = 240
FIT_STEPS, FIT_LR = 100, 0.3
FINETUNE_STEPS, FINETUNE_LR = 50, 3e-3


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)

    def logits(self, x):
        return self.fc3(torch.sigmoid(self.fc2(torch.relu(self.fc1(x)))))


def batch(x, y, step):
    rows = [(BATCH * step + j) % N_TRAIN for j in range(BATCH)]
    return x[rows], y[rows]


def train(model, x, y, optimizer, steps, clip=None):
    losses = []
    params = [p for p in model.parameters() if p.requires_grad]
    for step in range(steps):
        xb, yb = batch(x, y, step)
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model.logits(xb), yb)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        optimizer.step()
        losses.append(loss.item())
    return losses


def main():
    common.setup(SEED)
    data = common.default_out_dir("mlp")
    x = np.fromfile(os.path.join(data, "test_x.f32"), dtype="<f4").reshape(300, 64)
    y = np.fromfile(os.path.join(data, "test_y.i64"), dtype="<i8")
    model = Mlp()
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}

    model = model.double()
    xd, yt = torch.from_numpy(x.astype(np.float64)), torch.from_numpy(y)

    # Step 1's gradients, for mlp_fit_grads.
    loss = nn.functional.cross_entropy(model.logits(batch(xd, yt, 0)[0]), batch(xd, yt, 0)[1])
    grads = torch.autograd.grad(loss, list(model.parameters()))
    flat_grads = torch.cat([g.reshape(-1) for g in grads])

    fit = torch.optim.SGD(model.parameters(), lr=FIT_LR, momentum=0.9)
    fit_losses = train(model, xd, yt, fit, FIT_STEPS)

    for p in model.fc1.parameters():
        p.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    finetune = torch.optim.AdamW(trainable, lr=FINETUNE_LR, weight_decay=0.01)
    finetune_losses = train(model, xd, yt, finetune, FINETUNE_STEPS, clip=1.0)

    with torch.no_grad():
        probs = torch.softmax(model.logits(xd[N_TRAIN:]), dim=-1)
    accuracy = (probs.argmax(-1) == yt[N_TRAIN:]).double().mean().item()

    f32 = lambda t: t.detach().numpy().astype("<f4")  # noqa: E731
    with open(os.path.join(data, "init.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(init))
    with open(os.path.join(data, "trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes({k: v.float() for k, v in model.state_dict().items()}))
    f32(flat_grads).tofile(os.path.join(data, "train.grads.f32"))
    np.array(fit_losses, dtype="<f4").tofile(os.path.join(data, "train.fit_losses.f32"))
    np.array(finetune_losses, dtype="<f4").tofile(os.path.join(data, "train.finetune_losses.f32"))
    f32(probs).tofile(os.path.join(data, "train.final_probs.f32"))
    print(f"fit: loss {fit_losses[0]:.4f} -> {fit_losses[-1]:.4f}; finetune: "
          f"{finetune_losses[0]:.4f} -> {finetune_losses[-1]:.4f}; held-out accuracy "
          f"{accuracy:.3f}")


if __name__ == "__main__":
    main()
