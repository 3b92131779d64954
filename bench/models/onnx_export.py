#!/usr/bin/python3
"""Exports the CLIP ViT-B/32 image encoder that bench/models.sh times to ONNX, for its
ONNX Runtime column (Debian's python3-torch; the `onnx` package is not needed).

    onnx_export.py DIR     # DIR/clip_vit_b32.safetensors -> DIR/clip_image.onnx (once)

The module is scripts/references/clip_vit_b32.py's, with the weights Kiln and PyTorch
load, exported with a symbolic batch; ONNX Runtime then runs the same graph
(bench/models/ort_timing.js).
"""

import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "references"))
import clip_vit_b32  # noqa: E402
import torch_models  # noqa: E402


class ImageEncoder(torch.nn.Module):
    def __init__(self, clip):
        super().__init__()
        self.clip = clip

    def forward(self, image):
        return self.clip.encode_image(image)


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    out = os.path.join(argv[1], "clip_image.onnx")
    if os.path.exists(out):
        return
    clip = torch_models.load(clip_vit_b32.CLIP(**clip_vit_b32.CONFIGS["b32"]),
                             os.path.join(argv[1], "clip_vit_b32.safetensors"))
    image = torch.rand(2, 3, 224, 224) * 2 - 1
    with torch.no_grad():
        torch.onnx.export(ImageEncoder(clip), (image,), out + ".tmp", input_names=["image"],
                          output_names=["features"], opset_version=14,
                          dynamic_axes={"image": {0: "B"}, "features": {0: "B"}})
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main(sys.argv)
