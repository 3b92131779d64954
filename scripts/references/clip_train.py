#!/usr/bin/python3
"""The reference of examples/clip/train.c: the CLIP of examples/clip fine-tuned by PyTorch.

The model is examples/clip/probe.kiln's ClipProbe: CLIP's towers and logit_scale, with the
trained weights of examples/clip/data/clip.safetensors, plus `probe = Linear(32, 9)`, a fresh
linear classifier on the L2-normalized image embedding (PyTorch's default initialization,
seed 23). Two stages, "linear probe, then fine-tune" (LP-FT), exactly as the train entries
of probe.kiln declare them:

  linear_probe:  AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.01), lr 5e-2, only
                 probe.* trains; 50 steps of cross_entropy(probe(img), labels)
  finetune:      AdamW (the same settings), lr 1e-4, gradients clipped to a global norm
                 of 1, text.*, logit_scale and visual.layers.*.attn.k_proj.bias frozen
                 (the rest of the image tower and the probe train; a key bias's gradient
                 is zero: the softmax ignores the score q.b it adds to every key of a
                 query); 50 steps of cross_entropy(probe(img), labels) +
                 cross_entropy(exp(logit_scale) img @ txt^T, labels), txt the text
                 tower's embeddings of the 9 class prompts

on the example's 16 images (data/encode_image.images.f32, classes data/heldout.labels.i64,
prompts data/classify.tokens.i64), in batches of 8: step k reads images (8 k + j) mod 16.
Computed in float64 from the float32 weights and images. Writes into examples/clip/data:

  train.probe_init.f32           [297] the fresh probe: probe.weight [9, 32], then probe.bias [9]
  train.probe_grads.f32          [297] step 1's gradients of linear_probe (probe_linear_probe_grads)
  train.probe_losses.f32         [50] the loss of each linear_probe step
  train.probe_trained.safetensors  probe.weight, probe.bias after linear_probe
  train.probe_logits.f32         [16, 9] predict() on the 16 images after linear_probe
  train.finetune_grads.f32       [82921] step 1's gradients of finetune, parameter after
                                 parameter in the model's order (probe_finetune_grads)
  train.finetune_losses.f32      [50] the loss of each finetune step
  train.finetune_trained.safetensors  the trained tensors of fewer than 4096 values after
                                 finetune (the fixture size budget leaves out the 12 weight
                                 matrices of the blocks and the patch kernel)
  train.finetune_logits.f32      [16, 9] predict() on the 16 images after finetune
  train.finetune_classify.f32    [16, 9] classify() (zero-shot) on them after finetune

and lists them in a "## Training" section of data/README.md (replacing the section if
there is one: scripts/references/clip.py rewrites that README without it, so run this
script after it).

Run with Debian's python:  /usr/bin/python3 scripts/references/clip_train.py [OUT_DIR]
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

SEED = 23
CLASSES = 9
N_IMAGES, BATCH = 16, 8
PROBE_STEPS, PROBE_LR = 50, 5e-2
FINETUNE_STEPS, FINETUNE_LR = 50, 1e-4
WEIGHT_DECAY, CLIP_NORM = 0.01, 1.0
# finetune's final weights are written for the trained tensors smaller than this.
FINAL_MAX_NUMEL = 4096


class ClipProbe(nn.Module):
    """probe.kiln's ClipProbe; state_dict order logit_scale, visual.*, text.*, probe.*."""

    def __init__(self):
        super().__init__()
        self.visual = clip.VisualTransformer()
        self.text = clip.TextTransformer()
        self.logit_scale = nn.Parameter(torch.tensor(0.0))
        self.probe = common.Linear(32, CLASSES)

    def encode_image(self, images):
        return common.l2_normalize(self.visual(images))

    def predict(self, images):
        return self.probe(self.encode_image(images))

    def zero_shot_logits(self, image_emb, tokens):
        text_emb = common.l2_normalize(self.text(tokens))
        return self.logit_scale.exp() * image_emb @ text_emb.t()

    def classify(self, images, tokens):
        return torch.softmax(self.zero_shot_logits(self.encode_image(images), tokens), dim=-1)

    def probe_loss(self, images, labels):
        return F.cross_entropy(self.predict(images), labels)

    def finetune_loss(self, images, labels, tokens):
        image_emb = self.encode_image(images)
        return (F.cross_entropy(self.probe(image_emb), labels)
                + F.cross_entropy(self.zero_shot_logits(image_emb, tokens), labels))


def batch(images, labels, step):
    rows = [(BATCH * step + j) % N_IMAGES for j in range(BATCH)]
    return images[rows], labels[rows]


def train(params, optimizer, loss_fn, steps, clip_norm=None):
    losses = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(step)
        loss.backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(params, clip_norm)
        optimizer.step()
        losses.append(loss.item())
    return losses


def flat_grads(loss, params):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])


def accuracy(scores, labels):
    return int((scores.argmax(-1) == labels).sum())


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("clip")
    os.makedirs(out_dir, exist_ok=True)
    data = common.default_out_dir("clip")
    common.setup(SEED)
    model = ClipProbe()
    with open(os.path.join(data, "clip.safetensors"), "rb") as f:
        pretrained = common.read_safetensors(f.read())
    with torch.no_grad():   # the example's CLIP; the probe keeps its fresh init
        for name, p in model.named_parameters():
            if not name.startswith("probe."):
                p.copy_(torch.from_numpy(pretrained[name].copy()))
    assert sorted(pretrained) == sorted(k for k in model.state_dict() if not k.startswith("probe."))
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    images = np.fromfile(os.path.join(data, "encode_image.images.f32"), dtype="<f4")
    images = torch.from_numpy(images.reshape(N_IMAGES, 3, 32, 32).astype(np.float64))
    labels = torch.from_numpy(np.fromfile(os.path.join(data, "heldout.labels.i64"), dtype="<i8"))
    tokens = torch.from_numpy(np.fromfile(os.path.join(data, "classify.tokens.i64"), dtype="<i8"))
    tokens = tokens.reshape(CLASSES, clip.CONTEXT)
    assert labels.shape == (N_IMAGES,)

    model = model.double()
    named = dict(model.named_parameters())

    # Stage 1: the linear probe, the towers frozen.
    probe_params = [p for n, p in named.items() if n.startswith("probe.")]
    for n, p in named.items():
        p.requires_grad_(n.startswith("probe."))
    probe_grads = flat_grads(model.probe_loss(*batch(images, labels, 0)), probe_params)
    optimizer = torch.optim.AdamW(probe_params, lr=PROBE_LR, weight_decay=WEIGHT_DECAY)
    probe_losses = train(probe_params, optimizer,
                         lambda s: model.probe_loss(*batch(images, labels, s)), PROBE_STEPS)
    with torch.no_grad():
        probe_logits = model.predict(images)
        zero_shot_before = accuracy(model.classify(images, tokens), labels)
    probe_trained = {k: v.float() for k, v in model.state_dict().items() if k.startswith("probe.")}

    # Stage 2: the image tower and the probe; the text tower, logit_scale and the key
    # biases (whose gradient is zero) frozen.
    def trains(n):
        return not (n.startswith("text.") or n == "logit_scale"
                    or (n.startswith("visual.layers.") and n.endswith(".attn.k_proj.bias")))
    finetune_params = [p for n, p in named.items() if trains(n)]
    for n, p in named.items():
        p.requires_grad_(trains(n))
    finetune_grads = flat_grads(model.finetune_loss(*batch(images, labels, 0), tokens),
                                finetune_params)
    optimizer = torch.optim.AdamW(finetune_params, lr=FINETUNE_LR, weight_decay=WEIGHT_DECAY)
    finetune_losses = train(
        finetune_params, optimizer,
        lambda s: model.finetune_loss(*batch(images, labels, s), tokens), FINETUNE_STEPS,
        clip_norm=CLIP_NORM)
    with torch.no_grad():
        finetune_logits = model.predict(images)
        finetune_classify = model.classify(images, tokens)

    final = {k: v.float() for k, v in model.state_dict().items()}
    for k, v in init.items():   # the frozen tensors are exactly where they started
        assert trains(k) or torch.equal(final[k], v), k
    finetune_trained = {k: v for k, v in final.items()
                        if trains(k) and v.numel() < FINAL_MAX_NUMEL}

    f32 = lambda t: t.detach().numpy().astype("<f4")  # noqa: E731
    path = lambda name: os.path.join(out_dir, name)  # noqa: E731
    np.concatenate([f32(init["probe.weight"]).reshape(-1),
                    f32(init["probe.bias"])]).tofile(path("train.probe_init.f32"))
    f32(probe_grads).tofile(path("train.probe_grads.f32"))
    np.array(probe_losses, dtype="<f4").tofile(path("train.probe_losses.f32"))
    with open(path("train.probe_trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(probe_trained))
    f32(probe_logits).tofile(path("train.probe_logits.f32"))
    f32(finetune_grads).tofile(path("train.finetune_grads.f32"))
    np.array(finetune_losses, dtype="<f4").tofile(path("train.finetune_losses.f32"))
    with open(path("train.finetune_trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(finetune_trained))
    f32(finetune_logits).tofile(path("train.finetune_logits.f32"))
    f32(finetune_classify).tofile(path("train.finetune_classify.f32"))

    summary = dict(
        probe_losses=probe_losses, finetune_losses=finetune_losses,
        probe_acc=accuracy(probe_logits, labels),
        finetune_acc=accuracy(finetune_logits, labels),
        zero_shot_before=zero_shot_before,
        zero_shot_after=accuracy(finetune_classify, labels),
        finetune_values=sum(v.numel() for v in finetune_trained.values()),
        finetune_tensors=len(finetune_trained),
        trained_values=sum(p.numel() for p in finetune_params),
        trained_tensors=len(finetune_params))
    write_readme(out_dir, summary)
    print(f"linear_probe: loss {probe_losses[0]:.4f} -> {probe_losses[-1]:.4f}, "
          f"{summary['probe_acc']}/{N_IMAGES} right; finetune: loss {finetune_losses[0]:.4f} -> "
          f"{finetune_losses[-1]:.4f}, {summary['finetune_acc']}/{N_IMAGES} right (zero-shot "
          f"{zero_shot_before} -> {summary['zero_shot_after']})")
    return summary


def write_readme(out_dir, s):
    common.replace_readme_section(out_dir, "## Training", f"""
The `train.*` files are the reference of `examples/clip/train.c`, which fine-tunes the CLIP
above for classification with the train entries of `examples/clip/probe.kiln` (the same
towers plus `probe = Linear(32, {CLASSES})` on the image embedding). They are written,
deterministically, by

    /usr/bin/python3 scripts/references/clip_train.py

(run it after `clip.py`, which rewrites this README without this section) in float64 from
the float32 weights (`clip.safetensors` and a fresh probe, PyTorch's default init, seed
{SEED}), rounded to f32. The data: the {N_IMAGES} images of `encode_image.images.f32`, their
classes `heldout.labels.i64` and the class prompts `classify.tokens.i64`, in batches of
{BATCH}: step k reads images ({BATCH} k + j) mod {N_IMAGES}. Two stages:

- `linear_probe`: AdamW (weight decay {WEIGHT_DECAY}), lr {PROBE_LR:g}, only `probe.*` trains;
  {PROBE_STEPS} steps of `cross_entropy(probe(img), labels)`: loss {s['probe_losses'][0]:.4f} -> {s['probe_losses'][-1]:.4f},
  {s['probe_acc']}/{N_IMAGES} images right;
- `finetune`: AdamW (weight decay {WEIGHT_DECAY}), lr {FINETUNE_LR:g}, gradients clipped to norm
  {CLIP_NORM:g}, `text.*`, `logit_scale` and the image tower's key biases
  `visual.layers.*.attn.k_proj.bias` (whose gradient is zero) frozen ({s['trained_tensors']} tensors, {s['trained_values']} values train);
  {FINETUNE_STEPS} steps of `cross_entropy(probe(img), labels)` + `cross_entropy(exp(logit_scale)
  img @ txt^T, labels)` (txt: the prompts' text embeddings): loss {s['finetune_losses'][0]:.4f} -> {s['finetune_losses'][-1]:.4f},
  {s['finetune_acc']}/{N_IMAGES} right by the probe, {s['zero_shot_after']}/{N_IMAGES} zero-shot (before: {s['zero_shot_before']}/{N_IMAGES}).

| file | shape | dtype | contents |
| --- | --- | --- | --- |
| `train.probe_init.f32` | [{CLASSES * 33}] | f32 | the fresh probe: `probe.weight` [{CLASSES}, 32] row-major, then `probe.bias` [{CLASSES}] |
| `train.probe_grads.f32` | [{CLASSES * 33}] | f32 | step 1's gradients of `linear_probe` (`probe.weight`, then `probe.bias`) |
| `train.probe_losses.f32` | [{PROBE_STEPS}] | f32 | the loss of each `linear_probe` step |
| `train.probe_trained.safetensors` | 2 tensors, {CLASSES * 33} values | F32 | `probe.weight`, `probe.bias` after `linear_probe` |
| `train.probe_logits.f32` | [{N_IMAGES}, {CLASSES}] | f32 | `predict` (the probe's logits) on the {N_IMAGES} images after `linear_probe` |
| `train.finetune_grads.f32` | [{s['trained_values']}] | f32 | step 1's gradients of `finetune`, parameter after parameter in state_dict order |
| `train.finetune_losses.f32` | [{FINETUNE_STEPS}] | f32 | the loss of each `finetune` step |
| `train.finetune_trained.safetensors` | {s['finetune_tensors']} tensors, {s['finetune_values']} values | F32 | the trained tensors of fewer than {FINAL_MAX_NUMEL} values after `finetune` (to keep these files small, the blocks' 12 weight matrices and the patch kernel are left out) |
| `train.finetune_logits.f32` | [{N_IMAGES}, {CLASSES}] | f32 | `predict` on the {N_IMAGES} images after `finetune` |
| `train.finetune_classify.f32` | [{N_IMAGES}, {CLASSES}] | f32 | `classify` (zero-shot, against the 9 prompts) on the {N_IMAGES} images after `finetune` |
""")


if __name__ == "__main__":
    main(sys.argv)
