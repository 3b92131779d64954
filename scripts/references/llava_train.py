#!/usr/bin/python3
"""The reference of examples/llava/train.c: LLaVA's alignment stage by PyTorch.

LLaVA's first stage ("feature alignment") trains only the projector between a frozen
vision tower and a frozen language model, on image captions: next-token cross-entropy
over the caption's tokens, the instruction's tokens masked out of the loss. Here, as the
train entry `align` of examples/llava/llava.kiln declares it:

  align:  AdamW (betas 0.9/0.999, eps 1e-8, no weight decay), multi_modal_projector.*
          trained, gradients clipped to a global norm of 1; 60 steps of batch 4 at a
          cosine learning rate: step k (from 0) at float32(2e-2 * (1 + cos(pi k / 60)) / 2)

The vision tower and the language model are the example's (examples/llava/data/
llava.safetensors, frozen); the projector starts from PyTorch's default initialization
(seed 23). The data are synthetic (numpy, seed 23): 12 images of 32 x 32 pixels, each a
square of one of 4 colours (its class) at a random place on a dim noisy background, and
8-token texts: an instruction (one of 3 templates, 1 to 3 tokens), the class's caption
(3 or 4 tokens), an end token (1), padding (0). Rows 0..7 train, in fixed order (step k
reads rows (4 k + j) mod 8); rows 8..11 (one image per class) are held out.
`caption_loss` sees the 16 image tokens then the 8 text tokens, as prefill does; text
position i predicts targets[i] = text[i + 1] (0 after the last), counted where mask[i] is
1: from the last instruction token to the last caption token (which predicts the end).
Computed in float64 from the float32 initial weights. Writes into examples/llava/data:

  train.projector.safetensors  the fresh projector (4 tensors, f32); train.c puts it in
                               place of llava.safetensors' projector
  train.images.f32             [12, 3, 32, 32] the images
  train.tokens.i64             [12, 8] the texts
  train.targets.i64            [12, 8] the next tokens
  train.mask.f32               [12, 8] 1 where the target is a caption token or the end
  train.grads.f32              [15552] step 1's gradients of the projector's parameters,
                               one after another in the model's order (llava_align_grads)
  train.losses.f32             [60] the loss of each step
  train.heldout_loss.f32       [2] caption_loss on the held-out rows before and after
  train.final_logits.f32       [4, 8, 128] the held-out rows' logits of the 8 text
                               positions (prefill's out0[:, 16:]) after training
  train.trained.safetensors    the projector after training (4 tensors, f32)

Run with Debian's python:  /usr/bin/python3 scripts/references/llava_train.py [OUT_DIR]
"""

import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import llava  # noqa: E402

SEED = 23
N_ROWS, N_TRAIN = 12, 8
BATCH = 4
STEPS, LR, CLIP = 60, 2e-2, 1.0
TEXT = 8
IMAGE_TOKENS = 16
PAD, END = 0, 1
COLOURS = [(0.9, 0.15, 0.1), (0.1, 0.8, 0.2), (0.15, 0.25, 0.95), (0.95, 0.85, 0.1)]
PROJECTOR = "multi_modal_projector."


def lr_at(step):
    """The cosine schedule, rounded to float32 as train.c passes it."""
    return float(np.float32(LR * 0.5 * (1.0 + math.cos(math.pi * step / STEPS))))


def make_data(rng):
    """Images [12, 3, 32, 32], texts, next-token targets and loss masks [12, 8]."""
    templates = [[int(t) for t in rng.choice(np.arange(2, 10), size=n, replace=False)]
                 for n in (1, 2, 3)]
    words = rng.choice(np.arange(10, llava.VOCAB), size=16, replace=False)
    captions = [[int(t) for t in words[4 * c:4 * c + (3 if c % 2 else 4)]] for c in range(4)]
    classes = [r % 4 for r in range(N_ROWS)]
    images = np.zeros((N_ROWS, 3, 32, 32), dtype=np.float32)
    tokens = np.full((N_ROWS, TEXT), PAD, dtype=np.int64)
    targets = np.full((N_ROWS, TEXT), PAD, dtype=np.int64)
    mask = np.zeros((N_ROWS, TEXT), dtype=np.float32)
    for r, c in enumerate(classes):
        image = 0.3 * rng.random((3, 32, 32))
        top, left = rng.integers(0, 17, size=2)
        colour = np.array(COLOURS[c])[:, None, None]
        image[:, top:top + 16, left:left + 16] = colour + 0.1 * rng.random((3, 16, 16))
        images[r] = image
        prompt = templates[int(rng.integers(0, 3))]
        text = prompt + captions[c] + [END]
        tokens[r, :len(text)] = text
        targets[r, :len(text) - 1] = text[1:]
        mask[r, len(prompt) - 1:len(text) - 1] = 1.0
    return images, tokens, targets, mask, templates, captions


def caption_loss(model, images, tokens, targets, mask):
    """llava.kiln's caption_loss: the masked mean next-token NLL of the text positions."""
    logits, _ = model.prefill(images, tokens)
    log_probs = torch.log_softmax(logits[:, IMAGE_TOKENS:], dim=-1)
    nll = -log_probs.gather(-1, targets[..., None])[..., 0]
    return (nll * mask).sum() / mask.sum()


def text_logits(model, images, tokens):
    return model.prefill(images, tokens)[0][:, IMAGE_TOKENS:]


def rows(step):
    return [(BATCH * step + j) % N_TRAIN for j in range(BATCH)]


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("llava")
    os.makedirs(out_dir, exist_ok=True)
    rng = common.setup(SEED)
    projector = llava.Projector()          # the fresh projector: PyTorch's default init
    images, tokens, targets, mask, templates, captions = make_data(rng)

    model = llava.Llava()
    with open(os.path.join(common.default_out_dir("llava"), "llava.safetensors"), "rb") as f:
        example = common.read_safetensors(f.read())
    fresh = {PROJECTOR + k: v for k, v in projector.state_dict().items()}
    with torch.no_grad():   # the example's vision tower and language model, a new projector
        for name, p in model.named_parameters():
            source = fresh[name] if name.startswith(PROJECTOR) else torch.from_numpy(
                example[name].copy())
            p.copy_(source)
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}

    model = model.double()
    x = torch.from_numpy(images).double()
    t, y, m = torch.from_numpy(tokens), torch.from_numpy(targets), torch.from_numpy(mask).double()
    train_batch = lambda step: (x[rows(step)], t[rows(step)], y[rows(step)], m[rows(step)])  # noqa: E731
    held_out = (x[N_TRAIN:], t[N_TRAIN:], y[N_TRAIN:], m[N_TRAIN:])

    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(PROJECTOR))
    params = list(model.multi_modal_projector.parameters())

    # Step 1's gradients, for llava_align_grads (before clipping, as the buffer holds them).
    loss = caption_loss(model, *train_batch(0))
    flat_grads = torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])

    with torch.no_grad():
        before = caption_loss(model, *held_out).item()
        logits_before = text_logits(model, *held_out[:2])
    optimizer = torch.optim.AdamW(params, lr=LR, weight_decay=0.0)
    losses, norms = [], []
    for step in range(STEPS):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        optimizer.zero_grad()
        loss = caption_loss(model, *train_batch(step))
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, CLIP)))
        optimizer.step()
        losses.append(loss.item())

    with torch.no_grad():
        after = caption_loss(model, *held_out).item()
        logits = text_logits(model, *held_out[:2])
    final = {k: v.float() for k, v in model.state_dict().items()}
    for k, v in init.items():   # the frozen parts are the example's, exactly
        if not k.startswith(PROJECTOR):
            assert torch.equal(final[k], v) and np.array_equal(v.numpy(), example[k]), k

    def accuracy(lg):
        """Caption tokens (and ends) predicted right, teacher-forced, and the smallest
        top-1/top-2 margin among the counted positions."""
        chosen = m[N_TRAIN:] > 0
        top2 = lg[chosen].topk(2, dim=-1).values
        right = int((lg.argmax(-1)[chosen] == y[N_TRAIN:][chosen]).sum())
        return right, int(chosen.sum()), float((top2[:, 0] - top2[:, 1]).min())

    right_before, counted, margin_before = accuracy(logits_before)
    right_after, _, margin_after = accuracy(logits)
    assert min(margin_before, margin_after) > 1e-3, "an argmax is too close to a tie"

    f32 = lambda a: a.detach().numpy().astype("<f4")  # noqa: E731
    path = lambda name: os.path.join(out_dir, name)  # noqa: E731
    projector_only = lambda sd: {k: v for k, v in sd.items() if k.startswith(PROJECTOR)}  # noqa: E731
    with open(path("train.projector.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(projector_only(init)))
    with open(path("train.trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(projector_only(final)))
    images.astype("<f4").tofile(path("train.images.f32"))
    tokens.astype("<i8").tofile(path("train.tokens.i64"))
    targets.astype("<i8").tofile(path("train.targets.i64"))
    mask.astype("<f4").tofile(path("train.mask.f32"))
    f32(flat_grads).tofile(path("train.grads.f32"))
    np.array(losses, dtype="<f4").tofile(path("train.losses.f32"))
    np.array([before, after], dtype="<f4").tofile(path("train.heldout_loss.f32"))
    f32(logits).tofile(path("train.final_logits.f32"))
    print(f"align: loss {losses[0]:.4f} -> {losses[-1]:.4f} (gradient norm {norms[0]:.3f} -> "
          f"{norms[-1]:.3f}); held-out loss {before:.4f} -> {after:.4f}, caption tokens "
          f"right {right_before} -> {right_after} of {counted} (margins {margin_before:.4f}, "
          f"{margin_after:.4f})")
    write_readme(out_dir, templates, captions, losses, before, after, right_before, right_after,
                 counted)


def write_readme(out_dir, templates, captions, losses, before, after, right_before,
                 right_after, counted):
    common.replace_readme_section(out_dir, "## Training", f"""
The `train.*` files are the reference of `examples/llava/train.c`, LLaVA's alignment stage:
the train entry `align` (AdamW without weight decay, gradients clipped to norm 1, only
`multi_modal_projector.*` trained) for 60 steps of batch 4 at the learning rate
float32({LR:g} (1 + cos(pi k / {STEPS})) / 2) for step k = 0, 1, ...; step k reads rows
(4 k + j) mod 8. The vision tower and the language model are those of `llava.safetensors`;
the projector starts afresh. They are written, deterministically, by

    /usr/bin/python3 scripts/references/llava_train.py

in float64 from the float32 initial weights, rounded to f32.

The data are synthetic (numpy, seed {SEED}). Image r shows a 16 x 16 square of colour
r mod 4 (red, green, blue, yellow; each channel + U[0, 0.1)) at a random place on a
U[0, 0.3) noise background; rows 0..7 train, rows 8..11 (one per colour) are held out.
Its text is an instruction (one of the templates {templates}, drawn per row), the
caption of its colour (in colour order: {captions}), the end token 1, then padding 0.
`caption_loss` puts the 16 image tokens ahead of the 8 text tokens, as `prefill` does;
text position i predicts `targets[i]` (text token i + 1) and counts where `mask[i]` is 1:
from the instruction's last token (which predicts the caption's first) to the caption's
last (which predicts the end). The loss falls from {losses[0]:.4f} to {losses[-1]:.4f}; on the
held-out rows from {before:.4f} to {after:.4f} (log 128 = 4.8520: a uniform guess), with
{right_before} then {right_after} of their {counted} caption tokens and ends predicted
right, teacher-forced: the frozen language model has random weights, so a projector
alone steers it only so far.

| file | shape | dtype | contents |
| --- | --- | --- | --- |
| `train.projector.safetensors` | 4 tensors, 15552 values | F32 | the fresh projector (PyTorch-default init, seed {SEED}), in place of `llava.safetensors`' |
| `train.images.f32` | [12, 3, 32, 32] | f32 | the images |
| `train.tokens.i64` | [12, 8] | i64 | the texts: instruction, caption, end (1), padding (0) |
| `train.targets.i64` | [12, 8] | i64 | the next token of each text position (0 after the last) |
| `train.mask.f32` | [12, 8] | f32 | 1 where the target is a caption token or the end, else 0 |
| `train.grads.f32` | [15552] | f32 | step 1's gradients of the projector's parameters, in state_dict order, each row-major (`llava_align_grads`, before clipping) |
| `train.losses.f32` | [60] | f32 | the loss of each step |
| `train.heldout_loss.f32` | [2] | f32 | `caption_loss` on rows 8..11 before and after training |
| `train.final_logits.f32` | [4, 8, 128] | f32 | the text positions' logits of rows 8..11 after training (`prefill` out0[:, 16:]) |
| `train.trained.safetensors` | 4 tensors, 15552 values | F32 | the projector after training (the rest stays that of `llava.safetensors`) |
""")


if __name__ == "__main__":
    main(sys.argv)
