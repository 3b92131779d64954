#!/usr/bin/python3
"""llava: a ViT whose patch features are projected into a small causal decoder
(docs/seed-models.md).

    vision: CLIP-style ViT, 1 layer, no proj; its output is ln_post(x)[:, 1:] (the 16 patch
            tokens after ln_post, the class token dropped)              -> [B, 16, 64]
    projector: linear_2(gelu(linear_1(.)))                                -> [B, 16, 96]
    h = concat(projector(vision(images)), embed_tokens(tokens)) + positional_embedding[:S]
    h = layers (causal, pre-norm); logits = lm_head(norm(h))
    logits(images: f32[B, 3, 32, 32], tokens: i64[B, 8]) -> f32[B, 24, 128]
    generate(images, tokens) -> i64[B, 4]: greedy; step k runs the whole sequence
        (16 image + 8 + k tokens) and appends argmax(logits[:, -1]).

Usage: /usr/bin/python3 scripts/references/llava.py [OUT_DIR]
"""

import sys

import torch
from torch import nn

import common

SEED = 2
B = 2
PROMPT = 8
NEW_TOKENS = 4
VOCAB = 128


class VisionTower(nn.Module):
    def __init__(self, layers=1, d=64):
        super().__init__()
        self.patch_embed = common.PatchEmbed(3, 8, d)
        self.class_embedding = nn.Parameter(torch.randn(d) * d ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(17, d) * d ** -0.5)
        self.ln_pre = common.LayerNorm(d)
        self.layers = nn.ModuleList([common.TransformerBlock(d, 4, 2 * d) for _ in range(layers)])
        self.ln_post = common.LayerNorm(d)

    def forward(self, images):
        x = self.patch_embed(images)                                     # [B, 16, 64]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1) + self.positional_embedding       # [B, 17, 64]
        x = self.ln_pre(x)
        for layer in self.layers:
            x = layer(x)
        return self.ln_post(x)[:, 1:]                                    # [B, 16, 64]


class Projector(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear_1 = common.Linear(64, 96)
        self.linear_2 = common.Linear(96, 96)

    def forward(self, x):
        return self.linear_2(common.gelu(self.linear_1(x)))


class Llava(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision = VisionTower()
        self.projector = Projector()
        self.embed_tokens = common.Embedding(VOCAB, 96)
        self.positional_embedding = nn.Parameter(torch.randn(32, 96) * 96 ** -0.5)
        self.layers = nn.ModuleList([common.TransformerBlock(96, 4, 192) for _ in range(2)])
        self.norm = common.LayerNorm(96)
        self.lm_head = common.LinearNoBias(96, VOCAB)

    def logits(self, images, tokens):
        h = torch.cat([self.projector(self.vision(images)), self.embed_tokens(tokens)], dim=1)
        h = h + self.positional_embedding[:h.shape[1]]
        for layer in self.layers:
            h = layer.causal(h)
        return self.lm_head(self.norm(h))

    def generate(self, images, tokens, new_tokens=NEW_TOKENS, margins=None):
        out = []
        for _ in range(new_tokens):
            last = self.logits(images, tokens)[:, -1]                     # [B, 128]
            if margins is not None:
                top2 = last.topk(2, dim=-1).values
                margins.append(float((top2[:, 0] - top2[:, 1]).min()))
            nxt = last.argmax(dim=-1)                                    # [B]
            out.append(nxt)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        return torch.stack(out, dim=1)                                   # [B, 4] i64


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("llava")
    common.setup(SEED)
    model = Llava().eval()
    common.randomize_norms(model)
    images = torch.rand(B, 3, 32, 32)
    tokens = torch.randint(0, VOCAB, (B, PROMPT))

    fx = common.Fixtures("llava", out_dir)
    fx.weights(model, "PyTorch-default init (seed 2); class/positional embeddings "
               "N(0, 1/d); LayerNorms perturbed (weight 1 + N(0, 0.1), bias N(0, 0.1))")
    idesc = f"B = {B} images, uniform in [0, 1)"
    tdesc = f"{PROMPT}-token prompts, uniform in [0, {VOCAB})"
    common.entry(fx, model, "logits", lambda m, a, b: m.logits(a, b), (images, tokens),
                 ("images", "tokens"), ("f32", "i64"), "f32", (idesc, tdesc),
                 "logits of the 16 image positions then the 8 prompt positions")
    generated = common.entry(fx, model, "generate", lambda m, a, b: m.generate(a, b),
                             (images, tokens), ("images", "tokens"), ("f32", "i64"), "i64",
                             (idesc + " (same as logits')", tdesc + " (same as logits')"),
                             "the 4 greedily generated token ids")
    margins = []
    common.run_reference(model, lambda m, a, b: m.generate(a, b, margins=margins), images, tokens)
    print(f"  llava.generate: tokens {generated.tolist()}, smallest top-1/top-2 logit margin "
          f"{min(margins):.4f}")
    assert min(margins) > 1e-2, "an argmax is too close to a tie for a float32 implementation"
    fx.readme("llava fixtures", f"""
A LLaVA-style model: a 1-layer ViT (`vision`, as clip's `visual` without `proj`; its output
is `ln_post(x)[:, 1:]`, the 16 patch tokens after `ln_post`, class token dropped), a
projector `linear_2(gelu(linear_1(.)))` to 96, then `h = concat(projected image tokens,
embed_tokens(tokens)) + positional_embedding[:S]` (S = 24 for 8 prompt tokens), 2 causal
pre-norm blocks, `norm`, `lm_head`. Entries (B symbolic, B = {B} here):
`logits(images: f32[B, 3, 32, 32], tokens: i64[B, 8]) -> f32[B, 24, 128]` and
`generate(images, tokens) -> i64[B, 4]`: greedy, step k (0..3) runs the full sequence of
24 + k positions and appends `argmax(logits[:, -1])` (the generated tokens are embedded
with `embed_tokens` and take positions 24, 25, 26). Generated here: {generated.tolist()};
the smallest gap between the largest and second-largest last-position logit over the 4
steps is {min(margins):.4f} (no near-ties).
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
