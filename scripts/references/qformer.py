#!/usr/bin/python3
"""qformer: BLIP-2's querying transformer, 2 post-norm layers (docs/seed-models.md).

    q = query_tokens (expanded to the batch)
    per layer: q = ln_self(q + self_attn(q))
               q = ln_cross(q + cross_attn.cross(q, image_features))
               q = ln_mlp(q + mlp(q))
    forward(image_features: f32[B, 17, 48]) -> f32[B, 8, 64]

Usage: /usr/bin/python3 scripts/references/qformer.py [OUT_DIR]
"""

import sys

import torch
from torch import nn

import common

SEED = 3
B = 3


class QFormerLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = common.MultiHeadAttention(64, 4)
        self.ln_self = common.LayerNorm(64)
        self.cross_attn = common.MultiHeadAttention(64, 4, kv_dim=48)
        self.ln_cross = common.LayerNorm(64)
        self.mlp = common.Mlp(64, 128)
        self.ln_mlp = common.LayerNorm(64)

    def forward(self, q, image):
        q = self.ln_self(q + self.self_attn(q))
        q = self.ln_cross(q + self.cross_attn.cross(q, image))
        return self.ln_mlp(q + self.mlp(q))


class QFormer(nn.Module):
    def __init__(self):
        super().__init__()
        self.query_tokens = nn.Parameter(torch.randn(1, 8, 64) * 0.5)
        self.layers = nn.ModuleList([QFormerLayer() for _ in range(2)])

    def forward(self, image_features):
        q = self.query_tokens.expand(image_features.shape[0], -1, -1)
        for layer in self.layers:
            q = layer(q, image_features)
        return q


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("qformer")
    common.setup(SEED)
    model = QFormer().eval()
    common.randomize_norms(model)
    image_features = torch.randn(B, 17, 48)

    fx = common.Fixtures("qformer", out_dir)
    fx.weights(model, "query_tokens 0.5 N(0, 1); PyTorch-default init (seed 3); LayerNorms "
               "perturbed (weight 1 + N(0, 0.1), bias N(0, 0.1))")
    common.entry(fx, model, "forward", lambda m, a: m(a), (image_features,),
                 ("image_features",), ("f32",), "f32",
                 (f"B = {B} sets of 17 image feature vectors, N(0, 1)",),
                 "the 8 query outputs per image")
    fx.readme("qformer fixtures", f"""
BLIP-2's querying transformer: `q = query_tokens` broadcast over the batch, then per layer
(post-norm) `q = ln_self(q + self_attn(q))`, `q = ln_cross(q + cross_attn.cross(q, image_features))`,
`q = ln_mlp(q + mlp(q))`; no final norm. Entry (B symbolic, B = {B} here):
`forward(image_features: f32[B, 17, 48]) -> f32[B, 8, 64]`.
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
