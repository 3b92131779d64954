#!/usr/bin/python3
"""clip_vit_b32: OpenAI's CLIP ViT-B/32, with OpenAI's exact state_dict names and layout.

The module below mirrors `model.py` of openai/CLIP (the VisionTransformer image tower):

    visual: conv1 = Conv2d(3, width, patch, stride=patch, bias=False), class_embedding [width],
            positional_embedding [(R / patch)^2 + 1, width], ln_pre,
            transformer.resblocks.i (ResidualAttentionBlock, width / 64 heads), ln_post,
            proj [width, E] (a bare parameter: x @ proj)
    text:   token_embedding [vocab, tw], positional_embedding [C, tw],
            transformer.resblocks.i (causal: -inf above the diagonal), ln_final,
            text_projection [tw, E]
    logit_scale [] (initialised to log(1 / 0.07); the scale is exp(logit_scale))

    ResidualAttentionBlock(d, heads): attn = nn.MultiheadAttention(d, heads)
        (in_proj_weight [3d, d], in_proj_bias [3d], out_proj.weight [d, d], out_proj.bias [d]),
        ln_1, mlp = c_fc Linear(d, 4d), QuickGELU (x * sigmoid(1.702 x)), c_proj Linear(4d, d),
        ln_2:
        x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)). LayerNorm eps 1e-5 everywhere.

    encode_image(image: f32[B, 3, R, R]) -> f32[B, E]: ln_post(x[:, 0]) @ proj (not normalized)
    encode_text(text: i64[N, C]) -> f32[N, E]: ln_final(x)[n, text[n].argmax()] @ text_projection
        (not normalized)
    classify(image, text) -> f32[B, N]: softmax over N of
        exp(logit_scale) * normalize(encode_image) @ normalize(encode_text)^T

Configs (`--config`):
    b32   ViT-B/32's sizes: embed_dim 512, image_resolution 224, vision 12 layers x 768 (patch 32),
          context 77, vocab 49408, text 12 layers x 512 (8 heads); 151 M parameters, ~600 MB
    tiny  the same code at embed_dim 32, image_resolution 64, vision 2 layers x 128 (patch 32),
          context 77, vocab 512, text 2 layers x 64 (4 heads): the committed fixtures

The weights are random, not OpenAI's: initialised as OpenAI's `initialize_parameters` does
(token_embedding std 0.02, positional_embedding std 0.01, attention and MLP weights with
stds by width and layers, text_projection std width^-0.5; the image tower's class_embedding,
positional_embedding and proj with std width^-0.5 as in OpenAI's VisionTransformer), applied
to both towers, with a fixed seed. Biases (0 in OpenAI's init) get N(0, 0.02) and LayerNorms
weight 1 + N(0, 0.1), bias N(0, 0.1), so that a swapped or ignored parameter shows; visual.proj
and text_projection are scaled by PROJ_GAIN (below), so that the features are small.

Inputs: images are smooth random patterns in [0, 1] plus noise, normalised with CLIP's mean and
std; token rows are SOT (vocab - 2), random word ids in [1, vocab - 3], EOT (vocab - 1, the
largest id, where the text tower pools) at varying positions (one at the last position), then
0 padding. Reference outputs are float64 (`model.double()` on the float32 weights and inputs);
a float32 run of the same module (in a second thread, its Linear layers on oneDNN as Kiln's
are) must agree within the drivers' tolerance.
The texts are evaluated row by row up to their end-of-text token (`encode_text_rows`: the same
values, as the causal mask keeps later positions from it; checked against the full rows for
tiny), since Debian's torch runs float64 matmuls on the reference BLAS (~3 GFLOP/s): b32
takes about 45 s (4 GB of memory), tiny under a second.

Usage: /usr/bin/python3 scripts/references/clip_vit_b32.py [--config tiny|b32] [OUT_DIR]
    (default: --config tiny into examples/clip-vit-b32/data; b32 needs an OUT_DIR)
"""

import argparse
import copy
import os
import sys
import textwrap
import threading
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import common

NAME = "clip_vit_b32"
EXAMPLE_DIR = os.path.join(common.REPO_ROOT, "examples", "clip-vit-b32")
SEED = 32

CONFIGS = {
    "b32": dict(embed_dim=512, image_resolution=224, vision_layers=12, vision_width=768,
                vision_patch_size=32, context_length=77, vocab_size=49408,
                transformer_width=512, transformer_heads=8, transformer_layers=12),
    "tiny": dict(embed_dim=32, image_resolution=64, vision_layers=2, vision_width=128,
                 vision_patch_size=32, context_length=77, vocab_size=512,
                 transformer_width=64, transformer_heads=4, transformer_layers=2),
}

# visual.proj and text_projection are drawn with PROJ_GAIN times OpenAI's std, so that the
# unnormalized features are about 0.02 in size rather than 1: a float32 run's error then
# stays well under the drivers' absolute tolerance (1e-6) on the features near zero
# (at ViT-B/32 depth, float32 errors are ~5e-6 of the features' scale). classify, which
# normalizes them, does not change.
PROJ_GAIN = 0.02
N_TEXTS = 8
BATCHES = (1, 8)
# Where each of the 8 rows ends (the EOT position): short and long rows, one filling the context.
EOT_POSITIONS = (5, 1, 17, 76, 9, 40, 3, 58)
# CLIP's image normalisation (OpenAI's preprocess).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


# ----------------------------------------------------------------------------- the model

class LayerNorm(nn.LayerNorm):
    def __init__(self, d):
        super().__init__(d, eps=1e-5)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(d_model, d_model * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(d_model * 4, d_model)),
        ]))
        self.ln_2 = LayerNorm(d_model)
        self.attn_mask = attn_mask   # a plain attribute, as OpenAI's: not in the state_dict

    def attention(self, x):
        # The mask is [C, C]; a shorter sequence (encode_text_rows) takes its top-left corner.
        n = x.shape[0]
        mask = None if self.attn_mask is None else self.attn_mask[:n, :n].to(dtype=x.dtype)
        return self.attn(x, x, x, need_weights=False, attn_mask=mask)[0]

    def forward(self, x):            # x: [L, N, D] (sequence first, as OpenAI's)
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, attn_mask=None):
        super().__init__()
        self.width = width
        self.layers = layers
        self.resblocks = nn.Sequential(
            *[ResidualAttentionBlock(width, heads, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution, patch_size, width, layers, heads, output_dim):
        super().__init__()
        self.input_resolution = input_resolution
        self.output_dim = output_dim
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(
            scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))

    def forward(self, x):
        x = self.conv1(x)                                    # [B, width, g, g]
        x = x.reshape(x.shape[0], x.shape[1], -1)            # [B, width, g * g]
        x = x.permute(0, 2, 1)                               # [B, g * g, width]
        cls = self.class_embedding.to(x.dtype) + torch.zeros(
            x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1)                       # [B, g * g + 1, width]
        x = x + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x)
        x = x.permute(1, 0, 2)                               # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)                               # LND -> NLD
        x = self.ln_post(x[:, 0, :])
        return x @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed_dim, image_resolution, vision_layers, vision_width,
                 vision_patch_size, context_length, vocab_size, transformer_width,
                 transformer_heads, transformer_layers):
        super().__init__()
        self.context_length = context_length
        vision_heads = vision_width // 64
        self.visual = VisionTransformer(
            input_resolution=image_resolution, patch_size=vision_patch_size,
            width=vision_width, layers=vision_layers, heads=vision_heads, output_dim=embed_dim)
        self.transformer = Transformer(
            width=transformer_width, layers=transformer_layers, heads=transformer_heads,
            attn_mask=self.build_attention_mask())
        self.vocab_size = vocab_size
        self.token_embedding = nn.Embedding(vocab_size, transformer_width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, transformer_width))
        self.ln_final = LayerNorm(transformer_width)
        self.text_projection = nn.Parameter(torch.empty(transformer_width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        self.initialize_parameters()

    @torch.no_grad()
    def initialize_parameters(self):
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        # OpenAI initialises the text transformer so; the same rule is applied to the
        # image tower here (with its own width and depth).
        for tower in (self.transformer, self.visual.transformer):
            proj_std = (tower.width ** -0.5) * ((2 * tower.layers) ** -0.5)
            attn_std = tower.width ** -0.5
            fc_std = (2 * tower.width) ** -0.5
            for block in tower.resblocks:
                nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
                nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
                nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
                nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=self.transformer.width ** -0.5)
        # Small features (see PROJ_GAIN).
        self.text_projection.mul_(PROJ_GAIN)
        self.visual.proj.mul_(PROJ_GAIN)
        # Non-trivial biases and LayerNorms, so that each parameter matters in the checks.
        for module in self.modules():
            if not isinstance(module, nn.LayerNorm):
                for name, p in module.named_parameters(recurse=False):
                    if name.endswith("bias"):     # in_proj_bias, out_proj.bias, c_fc, c_proj
                        p.normal_(0, 0.02)
        common.randomize_norms(self)

    def build_attention_mask(self):
        mask = torch.empty(self.context_length, self.context_length)
        mask.fill_(float("-inf"))
        mask.triu_(1)        # -inf strictly above the diagonal, 0 on and below it
        return mask

    @property
    def dtype(self):
        return self.visual.conv1.weight.dtype

    def encode_image(self, image):
        return self.visual(image.type(self.dtype))

    def encode_text(self, text):
        x = self.token_embedding(text).type(self.dtype)     # [N, C, tw]
        x = x + self.positional_embedding[:text.shape[1]].type(self.dtype)
        x = x.permute(1, 0, 2)                               # NLD -> LND
        x = self.transformer(x)
        x = x.permute(1, 0, 2)                               # LND -> NLD
        x = self.ln_final(x).type(self.dtype)
        # Pooled at the end-of-text token, the largest id in each row.
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection

    def encode_text_rows(self, text):
        """encode_text, one row at a time on the row up to its end-of-text token: the same
        values (the causal mask keeps the later positions from the end-of-text position), for
        a fraction of the work when most rows are short."""
        return torch.cat([self.encode_text(row[None, :int(row.argmax()) + 1]) for row in text])

    def classify(self, image, text):
        return self.classify_features(self.encode_image(image), self.encode_text(text))

    def classify_features(self, image_features, text_features):
        """classify() from encode_image's and encode_text's outputs."""
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = text_features / text_features.norm(dim=1, keepdim=True)
        logits = self.logit_scale.exp() * image_features @ text_features.t()
        return logits.softmax(dim=-1)


# ----------------------------------------------------------------------------- inputs

def make_images(rng, n, resolution):
    """n smooth random RGB patterns in [0, 1] with pixel noise, CLIP-normalised: [n, 3, R, R]."""
    yy, xx = np.mgrid[0:resolution, 0:resolution].astype(np.float64) / resolution
    images = np.empty((n, 3, resolution, resolution))
    for i in range(n):
        for c in range(3):
            img = np.full_like(xx, rng.uniform(0.3, 0.7))
            for _ in range(4):
                fy, fx = rng.uniform(-3.0, 3.0, size=2)
                img += rng.uniform(0.05, 0.2) * np.sin(
                    2 * np.pi * (fy * yy + fx * xx) + rng.uniform(0, 2 * np.pi))
            img += rng.normal(0, 0.03, size=img.shape)
            images[i, c] = (np.clip(img, 0, 1) - CLIP_MEAN[c]) / CLIP_STD[c]
    return torch.from_numpy(images.astype(np.float32))


def make_texts(rng, n, context, vocab):
    """Token rows [n, context]: SOT, words, EOT at EOT_POSITIONS, zeros."""
    sot, eot = vocab - 2, vocab - 1
    rows = np.zeros((n, context), dtype=np.int64)
    for i in range(n):
        end = EOT_POSITIONS[i % len(EOT_POSITIONS)]
        assert 1 <= end < context
        rows[i, 0] = sot
        rows[i, 1:end] = rng.integers(1, vocab - 2, size=end - 1)   # [1, vocab - 3]
        rows[i, end] = eot
    return torch.from_numpy(rows)


# ----------------------------------------------------------------------------- references

def agreement(got, reference):
    """common.f32_agreement's measures of a float32 result against the f32-rounded float64
    reference: (worst rel err, worst err / tolerance, #elements outside the tolerance)."""
    got = got.double()
    ref = reference.float().double()
    diff = (got - ref).abs()
    worst = float((diff / ref.abs().clamp_min(1e-30)).max())
    tol = common.REL_TOL * ref.abs() + common.ABS_TOL
    return worst, float((diff / tol).max()), int((diff > tol).sum())


@torch.no_grad()
def evaluate(model, images, text):
    """Every fixture output of `model` (in its own dtype), keyed by fixture stem."""
    out = {"encode_text": model.encode_text_rows(text)}
    for b, image in images.items():
        feats = model.encode_image(image)
        out[f"b{b}.encode_image"] = feats
        out[f"b{b}.classify"] = model.classify_features(feats, out["encode_text"])
    return out


_blas_linear = F.linear


def _linear(x, weight, bias=None):
    """F.linear, with float32 on oneDNN (torch's mkldnn_linear, ~10x Debian's reference BLAS)
    and every other dtype (the float64 reference) as before."""
    if x.dtype != torch.float32 or x.dim() < 2:
        return _blas_linear(x, weight, bias)
    rows = x.reshape(-1, x.shape[-1]).contiguous().to_mkldnn()
    args = [rows, weight.contiguous().to_mkldnn()]
    if bias is not None:
        args.append(bias.contiguous().to_mkldnn())
    y = torch.ops.aten.mkldnn_linear(*args).to_dense()
    return y.reshape(*x.shape[:-1], weight.shape[0])


class onednn_float32_linear:
    """While active, F.linear (nn.Linear and nn.MultiheadAttention's projections) runs float32
    on oneDNN. Only the float32 self-check uses it; the float64 reference is unaffected."""

    def __enter__(self):
        F.linear = _linear

    def __exit__(self, *exc):
        F.linear = _blas_linear


def run_in_thread(fn, *args):
    """Starts fn(*args) in a thread; returns (a dict that receives its result's items, or
    "error": the exception it raised, and the thread)."""
    result = {}

    def work():
        try:
            result.update(fn(*args))
        except BaseException as e:   # re-raised by the caller after join()
            result["error"] = e

    thread = threading.Thread(target=work)
    thread.start()
    return result, thread


def config_text(cfg):
    grid = cfg["image_resolution"] // cfg["vision_patch_size"]
    return (f"embed_dim {cfg['embed_dim']}, image_resolution {cfg['image_resolution']}, "
            f"vision_layers {cfg['vision_layers']}, vision_width {cfg['vision_width']} "
            f"({cfg['vision_width'] // 64} heads), vision_patch_size {cfg['vision_patch_size']} "
            f"({grid}x{grid} patches and the class token), context_length "
            f"{cfg['context_length']}, vocab_size {cfg['vocab_size']}, transformer_width "
            f"{cfg['transformer_width']}, transformer_heads {cfg['transformer_heads']}, "
            f"transformer_layers {cfg['transformer_layers']}")


def describe_row(row, eot):
    """A token row for the README: the ids up to EOT, then how many zeros follow."""
    end = row.index(eot) + 1
    ids = [str(t) for t in row[:end]]
    if len(ids) > 12:
        ids = ids[:6] + [f"... ({end - 10} more) ..."] + ids[-4:]
    pad = f", then {len(row) - end} zeros" if end < len(row) else ""
    return f"    EOT at {end - 1:2d}: [{', '.join(ids)}]{pad}"


def parse_args(argv):
    p = argparse.ArgumentParser(prog=os.path.basename(argv[0]),
                                description="CLIP ViT-B/32 reference weights and fixtures")
    p.add_argument("--config", choices=sorted(CONFIGS), default="tiny")
    p.add_argument("out_dir", nargs="?", default=None,
                   help="output folder (default for tiny: examples/clip-vit-b32/data)")
    args = p.parse_args(argv[1:])
    if args.out_dir is None:
        if args.config != "tiny":
            p.error("--config b32 needs an OUT_DIR (its ~600 MB of weights are never committed)")
        args.out_dir = os.path.join(EXAMPLE_DIR, "data")
    return args


def main(argv):
    args = parse_args(argv)
    cfg = CONFIGS[args.config]
    start = time.time()
    rng = common.setup(SEED)
    with torch.no_grad():
        model = CLIP(**cfg).eval()
    n_params = sum(p.numel() for p in model.parameters())

    r, c, v = cfg["image_resolution"], cfg["context_length"], cfg["vocab_size"]
    images = {b: make_images(rng, b, r) for b in BATCHES}
    text = make_texts(rng, N_TEXTS, c, v)

    # A second thread runs the float32 model and then writes the weights, while this one runs
    # the float64 reference (torch releases the GIL inside its ops; each op is single-threaded,
    # so both results are deterministic).
    fx = common.Fixtures(NAME, args.out_dir)

    def float32_run_and_weights():
        got = evaluate(model, images, text)
        fx.weights(model, f"random, OpenAI's initialisation (seed {SEED}), non-trivial biases "
                   f"and LayerNorms; {args.config} config")
        return got

    with onednn_float32_linear():
        got32, worker = run_in_thread(float32_run_and_weights)
        # The float64 reference: the float32 weights and inputs, widened.
        model64 = copy.deepcopy(model).double()
        ref = evaluate(model64, {b: x.double() for b, x in images.items()}, text)
        if args.config == "tiny":   # encode_text_rows is encode_text
            with torch.no_grad():
                full = model64.encode_text(text)
            assert torch.allclose(full, ref["encode_text"], rtol=1e-12, atol=0), \
                float((full - ref["encode_text"]).abs().max())
        worker.join()
    if "error" in got32:
        raise got32["error"]

    for b in BATCHES:
        fx.raw(f"b{b}.image.f32", images[b], "f32",
               f"{b} image{'s' if b > 1 else ''}: smooth random patterns in [0, 1] with noise, "
               "normalised with CLIP's mean and std")
    fx.raw("text.i64", text, "i64",
           f"{N_TEXTS} token rows: SOT {v - 2}, word ids in [1, {v - 3}], EOT {v - 1} at positions "
           f"{', '.join(str(p) for p in EOT_POSITIONS)}, then 0")
    descriptions = {"encode_text": "encode_text(text.i64), not normalized"}
    for b in BATCHES:
        descriptions[f"b{b}.encode_image"] = f"encode_image(b{b}.image.f32), not normalized"
        descriptions[f"b{b}.classify"] = (
            f"classify(b{b}.image.f32, text.i64): softmax over the {N_TEXTS} texts of "
            "`exp(logit_scale) * normalize(img) @ normalize(txt)^T`")
    failures = []
    for stem in [f"b{b}.encode_image" for b in BATCHES] + ["encode_text"] + \
            [f"b{b}.classify" for b in BATCHES]:
        out = ref[stem]
        fx.raw(f"{stem}.f32", out.float(), "f32", descriptions[stem])
        worst, ratio, bad = agreement(got32[stem], out)
        print(f"  {stem}: out {list(out.shape)}; float32 torch vs reference: worst rel err "
              f"{worst:.2e}, worst err/tolerance {ratio:.3f}, {bad} outside")
        if bad:
            failures.append(stem)

    probs = ref[f"b{BATCHES[-1]}.classify"]
    best = probs.argmax(dim=-1)
    print("  b8 classify: argmax text per image: " + ", ".join(
        f"{int(k)} ({float(probs[i, k]):.3f})" for i, k in enumerate(best)))

    if args.config == "tiny":
        rows = "\n".join(describe_row(row.tolist(), v - 1) for row in text)
        intro = textwrap.fill(
            f"OpenAI's CLIP ViT-B/32 architecture with OpenAI's `state_dict` names and layout "
            f"(`scripts/references/{NAME}.py`, a self-written mirror of openai/CLIP's "
            f"`model.py`) at the `tiny` config: {config_text(cfg)}; {n_params} parameters. "
            f"Random weights, initialised as OpenAI's `initialize_parameters` (seed {SEED}), "
            f"with non-trivial biases and LayerNorms and the output projections scaled by "
            f"{PROJ_GAIN} (features about {PROJ_GAIN} in size). The full ViT-B/32 "
            f"(`--config b32`: {config_text(CONFIGS['b32'])}; ~600 MB of weights) is generated "
            f"on demand and never committed (`examples/clip-vit-b32/README.md`).", width=92)
        fx.readme(f"{NAME} fixtures (tiny config)", f"""
{intro}

Entries (B, N symbolic; B = 1 and 8, N = {N_TEXTS} here):

- `encode_image(image: f32[B, 3, {r}, {r}]) -> f32[B, {cfg['embed_dim']}]`:
  `ln_post(x[:, 0]) @ proj`, not normalized;
- `encode_text(text: i64[N, {c}]) -> f32[N, {cfg['embed_dim']}]`: `ln_final`, pooled at the
  end-of-text token `text.argmax(-1)`, `@ text_projection`, not normalized;
- `classify(image, text) -> f32[B, N]`: softmax over the texts of
  `exp(logit_scale) * normalize(encode_image) @ normalize(encode_text)^T`.

Token rows (SOT {v - 2}, words in [1, {v - 3}], EOT {v - 1}, the largest id, then 0):

{rows}
""")
    print(f"wrote {fx.out_dir} ({args.config}: {n_params} parameters) in "
          f"{time.time() - start:.1f}s")
    if failures:
        sys.exit(f"error: float32 torch is outside the drivers' tolerance for "
                 f"{', '.join(failures)}")


if __name__ == "__main__":
    main(sys.argv)
