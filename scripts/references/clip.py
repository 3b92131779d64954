#!/usr/bin/python3
"""clip: a small CLIP trained on synthetic coloured shapes, for zero-shot classification.

    visual: patch_embed = PatchEmbed(3, 8, 64) on 32x32 images (16 patches), class_embedding [64],
            positional_embedding [17, 64], ln_pre, layers = 2 x TransformerBlock(64, 4, 128),
            ln_post, proj = LinearNoBias(64, 32); image feature = proj(ln_post(x[:, 0]))
    text:   token_embedding = Embedding(64, 64), positional_embedding [16, 64],
            layers = 2 x TransformerBlock(64, 4, 128) run causally, ln_final,
            proj = LinearNoBias(64, 32); pooled at argmax(tokens) (the end-of-text token 63)
    logit_scale [] (the scale is exp(logit_scale))
    encode_image(images: f32[B, 3, 32, 32]) -> f32[B, 32]   (L2-normalized)
    encode_text(tokens: i64[N, 16]) -> f32[N, 32]           (L2-normalized)
    classify(images, tokens) -> f32[B, N] = softmax(exp(logit_scale) * img @ txt^T, dim=-1)

The data: 32x32 RGB images in [0, 1] of a circle, square or triangle, red, green or blue, of
random size and position on a plain light background, captioned from a few templates
("a photo of a red circle", "a small blue square", ...) with a word-level tokenizer
(0 = padding, 1..K = words, 63 = end of text, context 16). Trained with CLIP's symmetric
contrastive loss (Adam, single thread, a couple of minutes), then evaluated zero-shot
against the 9 prompts "a photo of a {colour} {shape}".

Usage: /usr/bin/python3 scripts/references/clip.py [OUT_DIR]
"""

import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import common

SEED = 1
CONTEXT = 16
VOCAB_SIZE = 64
PAD, EOT = 0, 63
COLORS = ["red", "green", "blue"]
SHAPES = ["circle", "square", "triangle"]
COLOR_RGB = {"red": (0.85, 0.12, 0.12), "green": (0.12, 0.70, 0.15), "blue": (0.12, 0.20, 0.85)}
WORDS = ["a", "an", "the", "photo", "picture", "drawing", "image", "of", "small", "big",
         "on", "light", "background", "plain", "shape"] + COLORS + SHAPES
TEMPLATES = ["a photo of a {c} {s}", "a picture of a {c} {s}", "a drawing of a {c} {s}",
             "an image of a {c} {s}", "a {z} {c} {s}", "a photo of a {z} {c} {s}",
             "a {c} {s} on a light background", "the {c} {s} shape",
             "a {c} {s} on a plain background", "a picture of the {z} {c} {s}"]
PROMPT_TEMPLATE = "a photo of a {c} {s}"

TRAIN_STEPS = 1000
BATCH = 64
LR = 1e-3
N_EVAL_PER_CLASS = 100
N_HELDOUT = 16


# ----------------------------------------------------------------------------- tokenizer

VOCAB = {w: i + 1 for i, w in enumerate(WORDS)}
assert len(VOCAB) <= 62


def tokenize(text):
    ids = [VOCAB[w] for w in text.split()] + [EOT]
    assert len(ids) <= CONTEXT, text
    return ids + [PAD] * (CONTEXT - len(ids))


def vocab_txt():
    names = ["<pad>"] + WORDS + ["<unused>"] * (VOCAB_SIZE - 2 - len(WORDS)) + ["<eot>"]
    assert len(names) == VOCAB_SIZE
    return "".join(n + "\n" for n in names)


def prompts():
    """The 9 zero-shot prompts, class k = colour_index * 3 + shape_index."""
    return [PROMPT_TEMPLATE.format(c=c, s=s) for c in COLORS for s in SHAPES]


# ----------------------------------------------------------------------------- images

_YY, _XX = np.mgrid[0:32, 0:32].astype(np.float64) + 0.5


def render(rng, color, shape):
    """One image [3, 32, 32] and its size word."""
    r = rng.uniform(4.0, 11.0)
    cx, cy = rng.uniform(r + 1, 31 - r, size=2)
    dx, dy = _XX - cx, _YY - cy
    if shape == "circle":
        inside = dx * dx + dy * dy <= r * r
    elif shape == "square":
        h = 0.85 * r
        inside = (np.abs(dx) <= h) & (np.abs(dy) <= h)
    else:  # an upward triangle: apex (cx, cy - r), base y = cy + r from cx - r to cx + r
        t = (dy + r) / (2 * r)          # 0 at the apex, 1 at the base
        inside = (t >= 0) & (t <= 1) & (np.abs(dx) <= t * r)
    background = rng.uniform(0.8, 1.0, size=3)
    fg = np.clip(np.array(COLOR_RGB[color]) + rng.uniform(-0.08, 0.08, size=3), 0, 1)
    img = np.where(inside[None], fg[:, None, None], background[:, None, None])
    img = img + rng.normal(0, 0.02, size=img.shape)
    return np.clip(img, 0, 1).astype(np.float32), ("small" if r < 7.5 else "big")


def make_batch(rng, n, labels=None, captions=True):
    labels = rng.integers(0, 9, size=n) if labels is None else np.asarray(labels)
    images, toks = [], []
    for k in labels:
        color, shape = COLORS[k // 3], SHAPES[k % 3]
        img, size_word = render(rng, color, shape)
        images.append(img)
        if captions:
            template = TEMPLATES[rng.integers(len(TEMPLATES))]
            toks.append(tokenize(template.format(c=color, s=shape, z=size_word)))
    images = torch.from_numpy(np.stack(images))
    toks = torch.tensor(toks, dtype=torch.int64) if captions else None
    return images, toks, torch.from_numpy(labels.astype(np.int64))


# ----------------------------------------------------------------------------- model

class VisualTransformer(nn.Module):
    def __init__(self, d=64, layers=2, out=32):
        super().__init__()
        self.patch_embed = common.PatchEmbed(3, 8, d)
        self.class_embedding = nn.Parameter(torch.randn(d) * d ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(17, d) * d ** -0.5)
        self.ln_pre = common.LayerNorm(d)
        self.layers = nn.ModuleList([common.TransformerBlock(d, 4, 2 * d) for _ in range(layers)])
        self.ln_post = common.LayerNorm(d)
        self.proj = common.LinearNoBias(d, out)

    def forward(self, images):
        x = self.patch_embed(images)                                     # [B, 16, 64]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding       # [B, 17, 64]
        x = self.ln_pre(x)
        for layer in self.layers:
            x = layer(x)
        return self.proj(self.ln_post(x[:, 0]))                          # [B, 32]


class TextTransformer(nn.Module):
    def __init__(self, d=64, layers=2, out=32):
        super().__init__()
        self.token_embedding = common.Embedding(VOCAB_SIZE, d)
        self.positional_embedding = nn.Parameter(torch.randn(CONTEXT, d) * 0.01)
        self.layers = nn.ModuleList([common.TransformerBlock(d, 4, 2 * d) for _ in range(layers)])
        self.ln_final = common.LayerNorm(d)
        self.proj = common.LinearNoBias(d, out)
        with torch.no_grad():
            self.token_embedding.weight.normal_(0, 0.02)

    def forward(self, tokens):
        x = self.token_embedding(tokens) + self.positional_embedding     # [N, 16, 64]
        for layer in self.layers:
            x = layer.causal(x)
        eot = tokens.argmax(dim=-1)                                      # the end-of-text position
        x = x[torch.arange(x.shape[0]), eot]                             # [N, 64]
        return self.proj(self.ln_final(x))                               # [N, 32]


class Clip(nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = VisualTransformer()
        self.text = TextTransformer()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_image(self, images):
        return common.l2_normalize(self.visual(images))

    def encode_text(self, tokens):
        return common.l2_normalize(self.text(tokens))

    def classify(self, images, tokens):
        logits = self.logit_scale.exp() * self.encode_image(images) @ self.encode_text(tokens).t()
        return torch.softmax(logits, dim=-1)

    def contrastive_loss(self, images, tokens):
        logits = self.logit_scale.exp() * self.encode_image(images) @ self.encode_text(tokens).t()
        labels = torch.arange(images.shape[0])
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


# ----------------------------------------------------------------------------- training

@torch.no_grad()
def zero_shot_accuracy(model, images, labels, prompt_tokens):
    pred = model.classify(images, prompt_tokens).argmax(dim=-1)
    return float((pred == labels).double().mean())


def train(model, rng, eval_set, prompt_tokens):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    warmup = 100
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup)
        * 0.5 * (1 + math.cos(math.pi * min(s, TRAIN_STEPS) / TRAIN_STEPS)))
    start = time.time()
    model.train()
    for step in range(TRAIN_STEPS):
        images, toks, _ = make_batch(rng, BATCH)
        loss = model.contrastive_loss(images, toks)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if (step + 1) % 250 == 0:
            model.eval()
            acc = zero_shot_accuracy(model, eval_set[0], eval_set[1], prompt_tokens)
            model.train()
            print(f"  step {step + 1:5d}: loss {loss.item():.4f}, zero-shot accuracy "
                  f"{100 * acc:.1f}%, {time.time() - start:.0f}s", flush=True)
    model.eval()
    return time.time() - start


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("clip")
    rng = common.setup(SEED)
    eval_rng = np.random.default_rng(SEED + 1000)
    model = Clip()

    prompt_list = prompts()
    prompt_tokens = torch.tensor([tokenize(p) for p in prompt_list], dtype=torch.int64)
    eval_images, _, eval_labels = make_batch(
        eval_rng, 9 * N_EVAL_PER_CLASS, labels=np.repeat(np.arange(9), N_EVAL_PER_CLASS),
        captions=False)
    heldout_labels = eval_rng.permutation(np.arange(N_HELDOUT) % 9)
    images, _, labels = make_batch(eval_rng, N_HELDOUT, labels=heldout_labels, captions=False)

    seconds = train(model, rng, (eval_images, eval_labels), prompt_tokens)
    eval_acc = zero_shot_accuracy(model, eval_images, eval_labels, prompt_tokens)
    print(f"  trained {TRAIN_STEPS} steps in {seconds:.0f}s; zero-shot accuracy on "
          f"{len(eval_labels)} held-out images: {100 * eval_acc:.1f}%")

    fx = common.Fixtures("clip", out_dir)
    fx.weights(model, f"trained: {TRAIN_STEPS} Adam steps of {BATCH} image-caption pairs "
               "(seed 1), symmetric contrastive loss")
    fx.text("vocab.txt", vocab_txt(), "the tokenizer: line i (0-based) is token i; `<pad>` 0, "
            "`<eot>` 63, `<unused>` ids never occur")
    fx.raw("heldout.labels.i64", labels, "i64",
           "the class of each held-out image: index of its prompt (colour * 3 + shape; "
           "colours red, green, blue; shapes circle, square, triangle)")
    idesc = f"{N_HELDOUT} held-out images (unseen in training), RGB in [0, 1]"
    tdesc = "the 9 prompts `a photo of a {colour} {shape}`, tokenized (row k = class k)"
    common.entry(fx, model, "encode_image", lambda m, a: m.encode_image(a), (images,),
                 ("images",), ("f32",), "f32", (idesc,), "L2-normalized image embeddings")
    common.entry(fx, model, "encode_text", lambda m, a: m.encode_text(a), (prompt_tokens,),
                 ("tokens",), ("i64",), "f32", (tdesc,), "L2-normalized text embeddings")
    probs = common.entry(fx, model, "classify", lambda m, a, b: m.classify(a, b),
                         (images, prompt_tokens), ("images", "tokens"), ("f32", "i64"), "f32",
                         (idesc + " (same as encode_image's)", tdesc + " (same as encode_text's)"),
                         "softmax over the 9 prompts of `exp(logit_scale) * img @ txt^T`")
    pred = probs.argmax(dim=-1)
    correct = int((pred == labels).sum())
    print(f"  held-out fixture images: {correct}/{N_HELDOUT} correct")
    words = "\n".join(f"    {p:<28} -> {tokenize(p)}" for p in prompt_list)
    fx.readme("clip fixtures", f"""
A small CLIP trained on synthetic coloured shapes (see `scripts/references/clip.py`):
32x32 RGB images in [0, 1] of a circle, square or triangle in red, green or blue, of random
size and position, on a plain light background, with small pixel noise; captions from 10
templates ("a photo of a red circle", "a small blue square", "the green triangle shape", ...).
Trained for {TRAIN_STEPS} steps (batch {BATCH}, Adam with warm-up and cosine decay, lr {LR}, one CPU
thread, about 3 minutes) with the symmetric contrastive loss; zero-shot accuracy against the 9 prompts
`a photo of a {{colour}} {{shape}}`: {100 * eval_acc:.1f}% on {len(eval_labels)} held-out images,
{correct}/{N_HELDOUT} on the 16 fixture images.

Entries (B, N symbolic; B = {N_HELDOUT}, N = 9 here):
`encode_image(images: f32[B, 3, 32, 32]) -> f32[B, 32]`, `encode_text(tokens: i64[N, 16]) -> f32[N, 32]`
(both L2-normalized) and `classify(images, tokens) -> f32[B, N]`
= `softmax(exp(logit_scale) * encode_image(images) @ encode_text(tokens)^T)` over the prompts.
Tokens: a word-level tokenizer (`vocab.txt`), the word ids then 63 (end of text) then 0s;
the text tower pools at the position of the largest id in each row (the 63). The prompts:

{words}
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
