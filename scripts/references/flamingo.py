#!/usr/bin/python3
"""flamingo: a gated cross-attention dense block (docs/seed-models.md).

    x = x + tanh(attn_gate) * cross_attn.cross(ln_attn(x), visual)
    x = x + tanh(ff_gate) * ff(ln_ff(x))
    forward(text: f32[B, 12, 64], visual: f32[B, 10, 64]) -> f32[B, 12, 64]
    forward_masked(text, visual, visual_mask: bool[B, 10]) -> f32[B, 12, 64]
        (visual_mask: true = attend; false visual tokens are excluded as keys/values)

`visual` is used as it is (no LayerNorm on the media side).

Usage: /usr/bin/python3 scripts/references/flamingo.py [OUT_DIR]
"""

import sys

import torch
from torch import nn

import common

SEED = 4
B = 3


class GatedCrossAttentionBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln_attn = common.LayerNorm(64)
        self.cross_attn = common.MultiHeadAttention(64, 4)
        self.attn_gate = nn.Parameter(torch.zeros(1))
        self.ln_ff = common.LayerNorm(64)
        self.ff = common.Mlp(64, 256)
        self.ff_gate = nn.Parameter(torch.zeros(1))

    def forward(self, text, visual, visual_mask=None):
        x = text
        x = x + torch.tanh(self.attn_gate) * self.cross_attn.cross(self.ln_attn(x), visual,
                                                                   mask=visual_mask)
        x = x + torch.tanh(self.ff_gate) * self.ff(self.ln_ff(x))
        return x

    def forward_masked(self, text, visual, visual_mask):
        return self.forward(text, visual, visual_mask)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("flamingo")
    common.setup(SEED)
    model = GatedCrossAttentionBlock().eval()
    common.randomize_norms(model)
    with torch.no_grad():   # Flamingo initializes the gates at 0; the fixture needs them open
        model.attn_gate.fill_(0.8)
        model.ff_gate.fill_(-0.6)
    text = torch.randn(B, 12, 64)
    visual = torch.randn(B, 10, 64)
    # Row 0 attends to all 10 visual tokens, row 1 to the first 6, row 2 to a scattered 4.
    visual_mask = torch.zeros(B, 10, dtype=torch.bool)
    visual_mask[0, :] = True
    visual_mask[1, :6] = True
    visual_mask[2, [1, 4, 5, 8]] = True

    fx = common.Fixtures("flamingo", out_dir)
    fx.weights(model, "PyTorch-default init (seed 4); LayerNorms perturbed "
               "(weight 1 + N(0, 0.1), bias N(0, 0.1)); attn_gate 0.8, ff_gate -0.6")
    td, vd = f"B = {B} text sequences, N(0, 1)", "visual tokens, N(0, 1)"
    common.entry(fx, model, "forward", lambda m, a, b: m(a, b), (text, visual),
                 ("text", "visual"), ("f32", "f32"), "f32", (td, vd), "the block's output")
    common.entry(fx, model, "forward_masked", lambda m, a, b, c: m.forward_masked(a, b, c),
                 (text, visual, visual_mask), ("text", "visual", "visual_mask"),
                 ("f32", "f32", "bool"), "f32",
                 (td + " (same as forward's)", vd + " (same as forward's)",
                  "true = attend: row 0 all 10, row 1 tokens 0-5, row 2 tokens 1, 4, 5, 8"),
                 "the block's output with the masked visual tokens excluded")
    fx.readme("flamingo fixtures", f"""
A gated cross-attention dense block (Flamingo): `x = text`,
`x = x + tanh(attn_gate) * cross_attn.cross(ln_attn(x), visual)`,
`x = x + tanh(ff_gate) * ff(ln_ff(x))` (`visual` is not normalized). Entries (B symbolic,
B = {B} here): `forward(text: f32[B, 12, 64], visual: f32[B, 10, 64]) -> f32[B, 12, 64]` and
`forward_masked(text, visual, visual_mask: bool[B, 10])`, where a false mask entry excludes
that visual token (its attention score is -inf before the softmax) for every text query.
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
