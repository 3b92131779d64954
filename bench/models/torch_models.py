#!/usr/bin/python3
"""The PyTorch side of bench/models.sh (Debian's python3-torch, eager, float32).

    torch_models.py weights DIR     # seeded weights for both models, once (~1.1 GB)
    torch_models.py time DIR THREADS PROMPT "T1 T2 ..." "B1 B2 ..."

`weights` writes DIR/decoder.safetensors (the ~125 M-parameter LLaMA-style decoder of
bench/models.sh's settings) and DIR/clip_vit_b32.safetensors (OpenAI CLIP ViT-B/32) from
the reference modules in scripts/references/. `time` loads them and prints, for two
PyTorch columns, the same lines as the C timing drivers:

  torch        eager as Debian ships it: matmuls on its generic (reference) BLAS;
  torch-onednn the same modules with every linear layer on oneDNN (torch's mkldnn_linear,
               weights converted to oneDNN tensors once, on first use), the library
               Kiln's `auto` backend calls for large matmuls. Attention's own matmuls
               stay on the generic BLAS in both columns.

The decode step is the usual eager KV-cache step: one token's q, k, v; k and v appended to
the per-layer cache tensors (torch.cat); attention over all positions.
"""

import math
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "references"))
import clip_vit_b32  # noqa: E402
import common  # noqa: E402
import llama  # noqa: E402

DECODER = dict(vocab_size=32000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
               num_key_value_heads=4, intermediate_size=2048, rms_norm_eps=1e-6,
               rope_theta=10000.0)


class OnednnLinear:
    """While active, float32 F.linear (nn.Linear and nn.MultiheadAttention's packed
    projections alike) runs on oneDNN, each weight converted once."""

    def __enter__(self):
        self.saved, self.converted = F.linear, {}
        F.linear = self.linear

    def __exit__(self, *exc):
        F.linear = self.saved

    def linear(self, x, weight, bias=None):
        if x.dtype != torch.float32 or x.dim() < 2:
            return self.saved(x, weight, bias)
        key = (weight.data_ptr(), 0 if bias is None else bias.data_ptr())
        if key not in self.converted:
            self.converted[key] = [weight.contiguous().to_mkldnn()] + (
                [] if bias is None else [bias.contiguous().to_mkldnn()])
        rows = x.reshape(-1, x.shape[-1]).contiguous().to_mkldnn()
        y = torch.ops.aten.mkldnn_linear(rows, *self.converted[key]).to_dense()
        return y.reshape(*x.shape[:-1], weight.shape[0])


def load(model, path):
    tensors = common.read_safetensors(open(path, "rb").read())
    model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in tensors.items()})
    return model.eval()


def weights(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    path = os.path.join(out_dir, "decoder.safetensors")
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(common.safetensors_bytes(llama.Llama(DECODER).state_dict()))
    path = os.path.join(out_dir, "clip_vit_b32.safetensors")
    if not os.path.exists(path):
        model = clip_vit_b32.CLIP(**clip_vit_b32.CONFIGS["b32"])
        with open(path, "wb") as f:
            f.write(common.safetensors_bytes(model.state_dict()))


@torch.no_grad()
def decode_step(model, token, position, cache):
    """One token [1, 1] at `position` after the cached k, v ([1, KVH, T, hd] per layer)."""
    c = model.c
    hd = c["hidden_size"] // c["num_attention_heads"]
    cos, sin = llama.rotary_tables(torch.tensor([[position]]), hd, c["rope_theta"], torch.float32)
    x = model.model.embed_tokens(token)
    for layer, (past_k, past_v) in zip(model.model.layers, cache):
        a = layer.self_attn
        h = layer.input_layernorm(x)
        q = a.q_proj(h).view(1, 1, a.heads, a.hd).transpose(1, 2)
        k = a.k_proj(h).view(1, 1, a.kv_heads, a.hd).transpose(1, 2)
        v = a.v_proj(h).view(1, 1, a.kv_heads, a.hd).transpose(1, 2)
        q = q * cos + llama.rotate_half(q) * sin
        k = torch.cat([past_k, k * cos + llama.rotate_half(k) * sin], dim=2)
        v = torch.cat([past_v, v], dim=2)
        groups = a.heads // a.kv_heads
        scores = q @ k.repeat_interleave(groups, dim=1).transpose(-1, -2) / math.sqrt(a.hd)
        out = scores.softmax(-1) @ v.repeat_interleave(groups, dim=1)
        x = x + a.o_proj(out.transpose(1, 2).reshape(1, 1, -1))
        h = layer.post_attention_layernorm(x)
        gate = layer.mlp.gate_proj(h)
        x = x + layer.mlp.down_proj(gate * torch.sigmoid(gate) * layer.mlp.up_proj(h))
    return model.lm_head(model.model.norm(x))


def median_ms(fn, reps):
    fn()  # warm-up
    samples = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return sorted(samples)[len(samples) // 2]


@torch.no_grad()
def time_all(out_dir, prompt, lengths, batches, label):
    decoder = load(llama.Llama(DECODER), os.path.join(out_dir, "decoder.safetensors"))
    tokens = (torch.arange(prompt) * 7919 + 13).remainder(DECODER["vocab_size"])[None]
    ms = median_ms(lambda: decoder(tokens), 3)
    print(f"{label} prefill S={prompt} ms {ms:.3f}", flush=True)
    kvh = DECODER["num_key_value_heads"]
    hd = DECODER["hidden_size"] // DECODER["num_attention_heads"]
    for length in lengths:
        cache = [(torch.rand(1, kvh, length, hd) - 0.5, torch.rand(1, kvh, length, hd) - 0.5)
                 for _ in range(DECODER["num_hidden_layers"])]
        token = torch.tensor([[42]])
        ms = median_ms(lambda: decode_step(decoder, token, length, cache), 5)
        print(f"{label} decode T={length} ms {ms:.3f}", flush=True)
    del decoder
    clip = load(clip_vit_b32.CLIP(**clip_vit_b32.CONFIGS["b32"]),
                os.path.join(out_dir, "clip_vit_b32.safetensors"))
    for batch in batches:
        images = torch.rand(batch, 3, 224, 224) * 2 - 1
        ms = median_ms(lambda: clip.encode_image(images), 3)
        print(f"{label} encode_image B={batch} ms {ms:.3f}", flush=True)


def main(argv):
    if len(argv) == 3 and argv[1] == "weights":
        return weights(argv[2])
    if len(argv) != 7 or argv[1] != "time":
        sys.exit(__doc__)
    out_dir, threads, prompt = argv[2], int(argv[3]), int(argv[4])
    lengths = [int(x) for x in argv[5].split()]
    batches = [int(x) for x in argv[6].split()]
    torch.set_num_threads(threads)
    time_all(out_dir, prompt, lengths, batches, "torch")
    with OnednnLinear():
        time_all(out_dir, prompt, lengths, batches, "torch-onednn")


if __name__ == "__main__":
    main(sys.argv)
