#!/usr/bin/python3
"""The reference of examples/clip/train_contrastive.c: CLIP's two towers trained by PyTorch.

The model is examples/clip/contrastive.kiln's ClipContrastive: clip.kiln's towers and
logit_scale, starting from examples/clip/data/clip.safetensors. One train entry,
`contrastive`, exactly as contrastive.kiln declares it: AdamW (betas 0.9/0.999, eps 1e-8,
weight decay 0.01), lr 1e-4, gradients clipped to a global norm of 1, every parameter
trained but the attention key biases of both towers (`*.attn.k_proj.bias`, whose gradient
is zero: the softmax ignores the score q.b it adds to every key of a query); 50 steps of
CLIP's symmetric InfoNCE

    logits = exp(logit_scale) img @ txt^T,   labels = arange(B)
    loss = (cross_entropy(logits, labels) + cross_entropy(logits^T, labels)) / 2

on the pairs (image i, the prompt of its class) of the example's 16 images
(data/encode_image.images.f32, classes data/heldout.labels.i64, prompts
data/classify.tokens.i64), in batches of 8: step k reads pairs (8 k + j) mod 16.
Computed in float64 from the float32 weights and images. Writes into examples/clip/data:

  train_contrastive.losses.f32           [50] the loss of each step
  train_contrastive.grads.safetensors    step 1's gradients (contrastive_contrastive_grads)
                                         of the trained tensors of fewer than 4096 values,
                                         and for each larger one, under its name, the L2
                                         norm of its gradient ([1])
  train_contrastive.trained.safetensors  the trained tensors of fewer than 4096 values
                                         (logit_scale among them) after the 50 steps

(the big tensors' full gradients would take 600 KB). Deterministic; takes no seed (no
random initialization).

Run with Debian's python:  /usr/bin/python3 scripts/references/clip_contrastive_train.py [OUT_DIR]
"""

import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip  # noqa: E402
import common  # noqa: E402

CLASSES = 9
N_IMAGES, BATCH = 16, 8
STEPS, LR = 50, 1e-4
WEIGHT_DECAY, CLIP_NORM = 0.01, 1.0
# Full gradients and final weights are written for the trained tensors smaller than this.
SMALL_NUMEL = 4096


class ClipContrastive(nn.Module):
    """contrastive.kiln's ClipContrastive; state_dict order logit_scale, visual.*, text.*."""

    def __init__(self):
        super().__init__()
        self.visual = clip.VisualTransformer()
        self.text = clip.TextTransformer()
        self.logit_scale = nn.Parameter(torch.tensor(0.0))

    def clip_loss(self, images, tokens):
        img = common.l2_normalize(self.visual(images))
        txt = common.l2_normalize(self.text(tokens))
        logits = self.logit_scale.exp() * img @ txt.t()
        labels = torch.arange(images.shape[0])
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def trains(name):
    return not name.endswith(".attn.k_proj.bias")


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("clip")
    os.makedirs(out_dir, exist_ok=True)
    data = common.default_out_dir("clip")
    common.setup(0)
    model = ClipContrastive()
    with open(os.path.join(data, "clip.safetensors"), "rb") as f:
        pretrained = common.read_safetensors(f.read())
    assert sorted(pretrained) == sorted(model.state_dict())
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(pretrained[name].copy()))
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    images = np.fromfile(os.path.join(data, "encode_image.images.f32"), dtype="<f4")
    images = torch.from_numpy(images.reshape(N_IMAGES, 3, 32, 32).astype(np.float64))
    labels = torch.from_numpy(np.fromfile(os.path.join(data, "heldout.labels.i64"), dtype="<i8"))
    prompts = torch.from_numpy(np.fromfile(os.path.join(data, "classify.tokens.i64"), dtype="<i8"))
    captions = prompts.reshape(CLASSES, clip.CONTEXT)[labels]   # image i's caption
    assert labels.shape == (N_IMAGES,)

    model = model.double()
    named = dict(model.named_parameters())
    for n, p in named.items():
        p.requires_grad_(trains(n))
    params = [p for n, p in named.items() if trains(n)]
    names = [n for n in named if trains(n)]

    def batch(step):
        rows = [(BATCH * step + j) % N_IMAGES for j in range(BATCH)]
        return images[rows], captions[rows]

    grads = torch.autograd.grad(model.clip_loss(*batch(0)), params)
    optimizer = torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
    losses = []
    for step in range(STEPS):
        optimizer.zero_grad()
        loss = model.clip_loss(*batch(step))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP_NORM)
        optimizer.step()
        losses.append(loss.item())

    final = {k: v.float() for k, v in model.state_dict().items()}
    for k, v in init.items():
        assert trains(k) or torch.equal(final[k], v), k
    grad_file = {}
    for n, g in zip(names, grads):
        g = g.detach()
        grad_file[n] = g.float() if g.numel() < SMALL_NUMEL else g.norm().reshape(1).float()
    trained = {k: v for k, v in final.items() if trains(k) and v.numel() < SMALL_NUMEL}

    path = lambda name: os.path.join(out_dir, name)  # noqa: E731
    np.array(losses, dtype="<f4").tofile(path("train_contrastive.losses.f32"))
    with open(path("train_contrastive.grads.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(grad_file))
    with open(path("train_contrastive.trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(trained))
    print(f"contrastive: loss {losses[0]:.4f} -> {losses[-1]:.4f}, logit_scale "
          f"{float(init['logit_scale']):.4f} -> {float(final['logit_scale']):.4f}; "
          f"{len(params)} tensors train, {sum(g.numel() < SMALL_NUMEL for g in grads)} "
          f"gradients stored whole, {len(trained)} trained tensors stored")


if __name__ == "__main__":
    main(sys.argv)
