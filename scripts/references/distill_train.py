#!/usr/bin/python3
"""The reference of examples/distill/train.c: the student distilled from the teacher by PyTorch.

The teacher is the example's (examples/distill/data/distill.safetensors, frozen); the
student starts from PyTorch's default initialization (seeded) and trains exactly as the
train entry of examples/distill/distill.kiln declares:

  fit:  Adam (betas 0.9/0.999, eps 1e-8, no weight decay), lr 1e-2, teacher.* frozen;
        60 steps of the distillation loss (T = 4, alpha = 0.7)

on 160 inputs x ~ N(0, 1) (seeded), labelled with the teacher's predicted class: rows
0..127 train, in fixed order, batch 16 (step k reads rows (16 k + j) mod 128); rows
128..159 are held out. Computed in float64 from the float32 initial weights. Writes into
examples/distill/data:

  train.init.safetensors     the initial weights, f32: the teacher's, the fresh student
  train.x.f32                [160, 32] the inputs
  train.y.i64                [160] the labels (argmax of the teacher's logits)
  train.grads.f32            [698] step 1's gradients of the student's parameters, one
                             after another in the model's order (distill_fit_grads)
  train.losses.f32           [60] the loss of each step
  train.final_logits.f32     [32, 10] student_logits() on the held-out rows at the end
  train.trained.safetensors  the final weights (teacher unchanged), f32

Run with Debian's python:  /usr/bin/python3 scripts/references/distill_train.py [OUT_DIR]
"""

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import distill  # noqa: E402

SEED = 16
N_ROWS, N_TRAIN = 160, 128
BATCH = 16
STEPS, LR = 60, 1e-2


def batch(x, y, step):
    rows = [(BATCH * step + j) % N_TRAIN for j in range(BATCH)]
    return x[rows], y[rows]


# The data/README.md section on these fixtures (distill.py rewrites that README
# without it).
README_SECTION = """
The `train.*` files are the reference of `examples/distill/train.c` (the train entry
`fit`: Adam, lr 1e-2, `teacher.*` frozen, 60 steps of batch 16; step k reads rows
(16 k + j) mod 128). They are written, deterministically, by

    /usr/bin/python3 scripts/references/distill_train.py

in float64 from the float32 initial weights, rounded to f32.

| file | shape | dtype | contents |
| --- | --- | --- | --- |
| `train.init.safetensors` | 8 tensors, 3460 values | F32 | the teacher of `distill.safetensors`; a fresh student (PyTorch-default init, seed 16) |
| `train.x.f32` | [160, 32] | f32 | N(0, 1) (seed 16); rows 0..127 train, 128..159 are held out |
| `train.y.i64` | [160] | i64 | labels: the class the teacher predicts for each row |
| `train.grads.f32` | [698] | f32 | step 1's gradients of the student's parameters, in state_dict order, each row-major (`distill_fit_grads`) |
| `train.losses.f32` | [60] | f32 | the loss of each step |
| `train.final_logits.f32` | [32, 10] | f32 | `student_logits` on the held-out rows after training |
| `train.trained.safetensors` | 8 tensors, 3460 values | F32 | the weights after training (the teacher unchanged) |
"""


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("distill")
    os.makedirs(out_dir, exist_ok=True)
    common.setup(SEED)
    model = distill.Distill()
    with open(os.path.join(common.default_out_dir("distill"), "distill.safetensors"), "rb") as f:
        teacher = common.read_safetensors(f.read())
    with torch.no_grad():   # the example's teacher; the student keeps its fresh init
        for name, p in model.named_parameters():
            if name.startswith("teacher."):
                p.copy_(torch.from_numpy(teacher[name].copy()))
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x = torch.randn(N_ROWS, 32)

    model = model.double()
    xd = x.double()
    with torch.no_grad():
        y = model.teacher_logits(xd).argmax(-1)

    for p in model.teacher.parameters():
        p.requires_grad_(False)
    params = list(model.student.parameters())

    # Step 1's gradients, for distill_fit_grads.
    loss = model.loss(*batch(xd, y, 0))
    flat_grads = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])

    optimizer = torch.optim.Adam(params, lr=LR)
    losses = []
    for step in range(STEPS):
        optimizer.zero_grad()
        loss = model.loss(*batch(xd, y, step))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    with torch.no_grad():
        logits = model.student_logits(xd[N_TRAIN:])
        agree = (logits.argmax(-1) == y[N_TRAIN:]).sum().item()
    final = {k: v.float() for k, v in model.state_dict().items()}
    for k, v in init.items():   # the frozen teacher is exactly where it started
        assert k.startswith("student.") or torch.equal(final[k], v), k

    f32 = lambda t: t.detach().numpy().astype("<f4")  # noqa: E731
    path = lambda name: os.path.join(out_dir, name)  # noqa: E731
    with open(path("train.init.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(init))
    with open(path("train.trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(final))
    f32(x).tofile(path("train.x.f32"))
    y.numpy().astype("<i8").tofile(path("train.y.i64"))
    f32(flat_grads).tofile(path("train.grads.f32"))
    np.array(losses, dtype="<f4").tofile(path("train.losses.f32"))
    f32(logits).tofile(path("train.final_logits.f32"))
    print(f"fit: loss {losses[0]:.4f} -> {losses[-1]:.4f}; held-out agreement with the "
          f"teacher {agree} of {N_ROWS - N_TRAIN}")
    write_readme(out_dir)


def write_readme(out_dir):
    common.replace_readme_section(out_dir, "## Training", README_SECTION)


if __name__ == "__main__":
    main(sys.argv)
