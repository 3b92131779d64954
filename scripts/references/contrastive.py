#!/usr/bin/python3
"""contrastive: CLIP's symmetric InfoNCE loss over two linear encoders (docs/seed-models.md).

    image_encoder = Linear(48, 32), text_encoder = Linear(24, 32), logit_scale []
    similarity(image_features: f32[B, 48], text_features: f32[B, 24]) -> f32[B, B]
        = exp(logit_scale) * normalize(image_encoder(img)) @ normalize(text_encoder(txt))^T
    loss(same inputs) -> f32 = (CE(logits, arange(B)) + CE(logits^T, arange(B))) / 2

Usage: /usr/bin/python3 scripts/references/contrastive.py [OUT_DIR]
"""

import math
import sys

import torch
import torch.nn.functional as F
from torch import nn

import common

SEED = 7
B = 5


class Contrastive(nn.Module):
    def __init__(self):
        super().__init__()
        self.image_encoder = common.Linear(48, 32)
        self.text_encoder = common.Linear(24, 32)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def similarity(self, image_features, text_features):
        img = common.l2_normalize(self.image_encoder(image_features))
        txt = common.l2_normalize(self.text_encoder(text_features))
        return self.logit_scale.exp() * img @ txt.t()

    def loss(self, image_features, text_features):
        logits = self.similarity(image_features, text_features)
        labels = torch.arange(logits.shape[0])
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("contrastive")
    common.setup(SEED)
    model = Contrastive().eval()
    # Paired features: text row i is the least-squares preimage under text_encoder of
    # image_encoder(image row i), plus noise, so matching pairs score highest.
    image_features = torch.randn(B, 48)
    with torch.no_grad():
        target = model.image_encoder(image_features) - model.text_encoder.bias     # [B, 32]
        pinv = torch.linalg.pinv(model.text_encoder.weight.double()).float()        # [24, 32]
        text_features = target @ pinv.t() + 1.5 * torch.randn(B, 24)

    fx = common.Fixtures("contrastive", out_dir)
    fx.weights(model, "`logit_scale` = ln(1/0.07) (CLIP's init), encoders PyTorch-default "
               "init (seed 7)")
    inputs = (image_features, text_features)
    names, dtypes = ("image_features", "text_features"), ("f32", "f32")
    descs = (f"B = {B} image feature rows, N(0, 1)",
             "text features: row i = pinv(text_encoder.weight) (image_encoder(image row i) - "
             "text_encoder.bias) + 1.5 N(0, 1): text i is meant for image i (4 of the 5 "
             "images score their own text highest)")
    common.entry(fx, model, "similarity", lambda m, a, b: m.similarity(a, b), inputs, names,
                 dtypes, "f32", descs, "the logits `exp(logit_scale) * img @ txt^T`")
    common.entry(fx, model, "loss", lambda m, a, b: m.loss(a, b), inputs, names, dtypes, "f32",
                 descs, "the symmetric cross-entropy (a scalar)", out_shape=[])
    fx.readme("contrastive fixtures", """
CLIP's symmetric InfoNCE on two linear encoders. Entries (B symbolic, B = 5 here):
`similarity(image_features: f32[B, 48], text_features: f32[B, 24]) -> f32[B, B]` =
`exp(logit_scale) * normalize(image_encoder(image_features)) @ normalize(text_encoder(text_features))^T`
(normalize: L2 over the last dim) and `loss(...) -> f32` =
`(CE(logits, arange(B)) + CE(logits^T, arange(B))) / 2`, CE the mean cross-entropy.
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
