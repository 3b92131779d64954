#!/usr/bin/python3
"""The reference of examples/contrastive/train.c: CLIP-style contrastive training by PyTorch.

Both encoders and logit_scale start from a fresh initialization (seeded: PyTorch's
default for the encoders, ln(1/0.07) for logit_scale) and train exactly as the train
entry of examples/contrastive/contrastive.kiln declares:

  fit:  AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.01, logit_scale included),
        lr 1e-2, gradients clipped to a global norm of 1; 60 steps of the symmetric
        InfoNCE loss on batches of 16 pairs

on 400 synthetic (image, caption) feature pairs that share a latent vector: z ~ N(0, I_8),
image = z A + 0.5 N(0, I_48), text = z C + 0.5 N(0, I_24), with A [8, 48] and C [8, 24]
fixed random maps (N(0, 1/8)), so a pair's features are related only through z, which
the encoders must learn to recover. Rows 0..383 train, in fixed order (step k reads rows
(16 k + j) mod 384); rows 384..399 are held out. Computed in float64 from the float32
initial weights and features. Writes into examples/contrastive/data:

  train.init.safetensors      the initial weights, f32
  train.image_features.f32    [400, 48] the image features
  train.text_features.f32     [400, 24] the text features (row i pairs with image row i)
  train.grads.f32             [2369] step 1's gradients, parameter after parameter in the
                              model's order (contrastive_fit_grads)
  train.losses.f32            [60] the loss of each step
  train.final_similarity.f32  [16, 16] similarity() on the held-out pairs at the end
  train.final_loss.f32        [] loss() on the held-out pairs at the end
  train.trained.safetensors   the final weights, f32

and lists them in a "Training fixtures" section of data/README.md (replacing the section
if there is one: scripts/references/contrastive.py rewrites that README without it, so
run this script after it).

Run with Debian's python:  /usr/bin/python3 scripts/references/contrastive_train.py [OUT_DIR]
"""

import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import contrastive  # noqa: E402

SEED = 11
LATENT, NOISE = 8, 0.5
N_ROWS, N_TRAIN = 400, 384
BATCH = 16
STEPS, LR = 60, 1e-2
WEIGHT_DECAY, CLIP = 0.01, 1.0

README_SECTION = "## Training fixtures"


def batch(image, text, step):
    rows = [(BATCH * step + j) % N_TRAIN for j in range(BATCH)]
    return image[rows], text[rows]


def retrieved(logits):
    """How many images score their own caption highest."""
    return int((logits.argmax(-1) == torch.arange(logits.shape[0])).sum())


def update_readme(out_dir, initial_scale, final_scale, losses, held_out_before, held_out_after):
    path = os.path.join(out_dir, "README.md")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if README_SECTION in text:
        text = text[:text.index(README_SECTION)]
    text = text.rstrip("\n") + "\n\n" if text else ""
    text += f"""{README_SECTION}

The reference of `examples/contrastive/train.c`, written by
`/usr/bin/python3 scripts/references/contrastive_train.py` (deterministic; run it after
`contrastive.py`, which rewrites this README without this section): {STEPS} steps of the
train entry `fit` (AdamW, weight decay {WEIGHT_DECAY}, lr {LR:g}, gradients clipped to norm {CLIP:g})
from a fresh initialization (seed {SEED}), on batches of {BATCH} pairs: step k reads rows
({BATCH} k + j) mod {N_TRAIN}. A pair shares a latent vector z ~ N(0, I_{LATENT}):
image = z A + {NOISE} N(0, I_48), text = z C + {NOISE} N(0, I_24), with A and C fixed random
maps. The loss falls from {losses[0]:.4f} to {losses[-1]:.4f} and `logit_scale` rises from {initial_scale:.4f}
to {final_scale:.4f}. Held-out images that score their own caption highest: {held_out_before} of {N_ROWS - N_TRAIN}
before training, {held_out_after} of {N_ROWS - N_TRAIN} after.

| file | shape | dtype | contents |
| --- | --- | --- | --- |
| `train.init.safetensors` | 5 tensors, 2369 values | F32 | the initial weights (state_dict order as above) |
| `train.image_features.f32` | [{N_ROWS}, 48] | f32 | image features; rows 0..{N_TRAIN - 1} train, {N_TRAIN}..{N_ROWS - 1} are held out |
| `train.text_features.f32` | [{N_ROWS}, 24] | f32 | text features; row i is image row i's caption |
| `train.grads.f32` | [2369] | f32 | step 1's gradients, parameter after parameter in state_dict order |
| `train.losses.f32` | [{STEPS}] | f32 | the loss of each step |
| `train.final_similarity.f32` | [{N_ROWS - N_TRAIN}, {N_ROWS - N_TRAIN}] | f32 | `similarity` on the held-out pairs after training |
| `train.final_loss.f32` | [] | f32 | `loss` on the held-out pairs after training |
| `train.trained.safetensors` | 5 tensors, 2369 values | F32 | the weights after training |
"""
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("contrastive")
    os.makedirs(out_dir, exist_ok=True)
    common.setup(SEED)
    model = contrastive.Contrastive()
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    z = torch.randn(N_ROWS, LATENT)
    image_map = torch.randn(LATENT, 48) / math.sqrt(LATENT)
    text_map = torch.randn(LATENT, 24) / math.sqrt(LATENT)
    image = z @ image_map + NOISE * torch.randn(N_ROWS, 48)
    text = z @ text_map + NOISE * torch.randn(N_ROWS, 24)

    model = model.double()
    image_d, text_d = image.double(), text.double()
    held_out = (image_d[N_TRAIN:], text_d[N_TRAIN:])
    params = list(model.parameters())
    with torch.no_grad():
        held_out_before = retrieved(model.similarity(*held_out))

    # Step 1's gradients, for contrastive_fit_grads.
    loss = model.loss(*batch(image_d, text_d, 0))
    flat_grads = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])

    optimizer = torch.optim.AdamW(params, lr=LR, weight_decay=WEIGHT_DECAY)
    losses = []
    for step in range(STEPS):
        optimizer.zero_grad()
        loss = model.loss(*batch(image_d, text_d, step))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        optimizer.step()
        losses.append(loss.item())

    with torch.no_grad():
        similarity = model.similarity(*held_out)
        final_loss = model.loss(*held_out)
    held_out_after = retrieved(similarity)

    f32 = lambda t: t.detach().numpy().astype("<f4")  # noqa: E731
    with open(os.path.join(out_dir, "train.init.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(init))
    with open(os.path.join(out_dir, "train.trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes({k: v.float() for k, v in model.state_dict().items()}))
    f32(image).tofile(os.path.join(out_dir, "train.image_features.f32"))
    f32(text).tofile(os.path.join(out_dir, "train.text_features.f32"))
    f32(flat_grads).tofile(os.path.join(out_dir, "train.grads.f32"))
    np.array(losses, dtype="<f4").tofile(os.path.join(out_dir, "train.losses.f32"))
    f32(similarity).tofile(os.path.join(out_dir, "train.final_similarity.f32"))
    f32(final_loss).tofile(os.path.join(out_dir, "train.final_loss.f32"))
    initial_scale = init["logit_scale"].item()
    final_scale = model.logit_scale.item()
    update_readme(out_dir, initial_scale, final_scale, losses, held_out_before, held_out_after)
    print(f"fit: loss {losses[0]:.4f} -> {losses[-1]:.4f}; logit_scale {initial_scale:.4f} -> "
          f"{final_scale:.4f}; held-out loss {final_loss.item():.4f}, images scoring their own "
          f"caption highest {held_out_before} -> {held_out_after} of {N_ROWS - N_TRAIN}")


if __name__ == "__main__":
    main(sys.argv)
