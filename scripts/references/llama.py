#!/usr/bin/python3
"""llama: a LLaMA-style decoder with Hugging Face's LlamaForCausalLM names, and greedy
generation through a key/value cache (examples/llama, stdlib LlamaModel).

    model.embed_tokens, model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
    post_attention_layernorm, mlp.{gate,up,down}_proj}, model.norm, lm_head; RMSNorm,
    rotary embeddings (half rotation, theta 10000), SwiGLU, grouped-query attention.
    prefill(tokens: i64[B, S]) -> (logits f32[B, S, V], cache f32[S, L, 2, B, KVH, hd])
    decode_step(tokens: i64[B, 1], positions: i64[B, 1], past: f32[T, L, 2, B, KVH, hd])
        -> (logits f32[B, V], cache entry f32[1, L, 2, B, KVH, hd])

The reference never uses a cache: the logits of decode step k are those of the last
position of a full forward over the prompt and the tokens generated so far, so the
compiled cache path is checked against an independent computation.

Usage: /usr/bin/python3 scripts/references/llama.py [OUT_DIR]
"""

import math
import sys

import torch
from torch import nn

import common

SEED = 5
B = 2
PROMPT = 7
NEW_TOKENS = 8
CONFIG = dict(vocab_size=256, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, intermediate_size=172, rms_norm_eps=1e-6,
              rope_theta=10000.0)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def rotary_tables(positions, head_dim, theta, dtype):
    """cos, sin [B, 1, S, head_dim] for positions [B, S]."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
    angles = positions.to(torch.float64)[..., None] * inv_freq          # [B, S, hd/2]
    table = torch.cat([angles, angles], dim=-1)[:, None]                # [B, 1, S, hd]
    return table.cos().to(dtype), table.sin().to(dtype)


class Attention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.hd = heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, d, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(d, d, bias=False)

    def forward(self, x, cos, sin):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        kr = k.repeat_interleave(groups, dim=1)
        vr = v.repeat_interleave(groups, dim=1)
        scores = q @ kr.transpose(-1, -2) / math.sqrt(self.hd)
        causal = torch.ones(s, s, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        out = scores.softmax(-1) @ vr
        return self.o_proj(out.transpose(1, 2).reshape(b, s, -1)), k, v


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.self_attn = Attention(d, c["num_attention_heads"], c["num_key_value_heads"])
        self.mlp = nn.Module()
        self.mlp.gate_proj = nn.Linear(d, c["intermediate_size"], bias=False)
        self.mlp.up_proj = nn.Linear(d, c["intermediate_size"], bias=False)
        self.mlp.down_proj = nn.Linear(c["intermediate_size"], d, bias=False)
        self.input_layernorm = RMSNorm(d, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(d, c["rms_norm_eps"])

    def forward(self, x, cos, sin):
        attended, k, v = self.self_attn(self.input_layernorm(x), cos, sin)
        x = x + attended
        h = self.post_attention_layernorm(x)
        gate = self.mlp.gate_proj(h)
        return x + self.mlp.down_proj(gate * torch.sigmoid(gate) * self.mlp.up_proj(h)), k, v


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.model = nn.Module()
        self.model.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.model.layers = nn.ModuleList([DecoderLayer(c)
                                           for _ in range(c["num_hidden_layers"])])
        self.model.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)

    def forward(self, tokens):
        """Logits of every position, and the cache [S, L, 2, B, KVH, hd]."""
        return self.forward_embeds(self.model.embed_tokens(tokens))

    def forward_embeds(self, x):
        """forward() from the input embeddings x [B, S, d] (LLaVA's image tokens)."""
        b, s, _ = x.shape
        hd = self.c["hidden_size"] // self.c["num_attention_heads"]
        dtype = self.lm_head.weight.dtype
        positions = torch.arange(s)[None].expand(b, s)
        cos, sin = rotary_tables(positions, hd, self.c["rope_theta"], dtype)
        cache = []
        for layer in self.model.layers:
            x, k, v = layer(x, cos, sin)
            cache.append(torch.stack([k, v]).permute(3, 0, 1, 2, 4))    # [S, 2, B, KVH, hd]
        return self.lm_head(self.model.norm(x)), torch.stack(cache, dim=1)

    def prefill(self, tokens):
        return self.forward(tokens)

    def decode_logits(self, prompt, new_tokens=NEW_TOKENS, margins=None):
        """Greedy generation without a cache: every step a full forward. Returns the
        generated tokens [B, N] and the logits of each decode step [N - 1, B, V]."""
        tokens, generated, step_logits = prompt, [], []
        for step in range(new_tokens):
            last = self.forward(tokens)[0][:, -1]
            if step > 0:
                step_logits.append(last)
            if margins is not None:
                top2 = last.topk(2, dim=-1).values
                margins.append(float((top2[:, 0] - top2[:, 1]).min()))
            nxt = last.argmax(-1)
            generated.append(nxt)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        return torch.stack(generated, dim=1), torch.stack(step_logits)


def randomize(model, rng_std=0.1):
    """Well-separated logits: embeddings N(0, 1), RMSNorm weights 1 + N(0, 0.1)."""
    with torch.no_grad():
        model.model.embed_tokens.weight.normal_(0.0, 1.0)
        for m in model.modules():
            if isinstance(m, RMSNorm):
                m.weight.add_(torch.randn_like(m.weight) * rng_std)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("llama")
    common.setup(SEED)
    model = Llama(CONFIG).eval()
    randomize(model)
    tokens = torch.randint(0, CONFIG["vocab_size"], (B, PROMPT))

    fx = common.Fixtures("llama", out_dir)
    fx.weights(model, f"PyTorch-default Linear init (seed {SEED}); embed_tokens N(0, 1); "
               "RMSNorm weights 1 + N(0, 0.1)")
    logits, cache = common.run_reference(model, lambda m, t: m.prefill(t), tokens)
    fx.raw("prefill.tokens.i64", tokens, "i64", f"B = {B} prompts of {PROMPT} tokens")
    fx.raw("prefill.out0.f32", logits.float(), "f32", "logits of every prompt position")
    fx.raw("prefill.out1.f32", cache.float(), "f32",
           "the prompt's cache [S, layers, 2 (k, v), B, kv_heads, head_dim]; keys rotated")
    margins = []
    generated, step_logits = common.run_reference(
        model, lambda m, t: m.decode_logits(t, margins=margins), tokens)
    fx.raw("generate.out.i64", generated, "i64",
           f"the {NEW_TOKENS} greedily generated tokens of each row")
    fx.raw("decode_step.out0.f32", step_logits.float(), "f32",
           f"the logits of the {NEW_TOKENS - 1} decode steps (step k feeds generated token k "
           f"at position {PROMPT} + k), from full forwards without a cache")
    print(f"  llama.generate: {generated.tolist()}, smallest top-1/top-2 logit margin "
          f"{min(margins):.4f}")
    assert min(margins) > 1e-2, "an argmax is too close to a tie for a float32 implementation"
    fx.readme("llama fixtures", f"""
A LLaMA-style decoder with Hugging Face's `LlamaForCausalLM` names: {CONFIG}.
`prefill(tokens)` gives every position's logits and the prompt's cache; greedy generation
then calls `decode_step` once per new token after the first, appending each step's cache
entry. The reference logits of a decode step are the last position of a full forward over
the prompt and the tokens generated so far (no cache). Generated here: {generated.tolist()};
the smallest gap between the two largest logits over the steps is {min(margins):.4f}.
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
