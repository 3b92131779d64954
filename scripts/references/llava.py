#!/usr/bin/python3
"""llava: a ViT whose patch features are projected into a LLaMA-style decoder
(docs/seed-models.md), generating through a key/value cache.

    vision: CLIP-style ViT, 1 layer, no proj; its output is ln_post(x)[:, 1:] (the 16 patch
            tokens after ln_post, the class token dropped)              -> [B, 16, 64]
    multi_modal_projector: linear_2(gelu(linear_1(.)))                    -> [B, 16, 96]
    language_model: llama.Llama (Hugging Face LlamaForCausalLM names: model.embed_tokens,
            model.layers.N, model.norm, lm_head), vocabulary 128, d 96, 2 layers, 4 heads,
            2 kv heads, MLP 192; its input embeddings are the 16 projected image tokens then
            the 8 prompt tokens' embeddings.
    prefill(images: f32[B, 3, 32, 32], tokens: i64[B, 8])
        -> (logits f32[B, 24, 128], cache f32[24, 2, 2, B, 2, 24])
    decode_step(tokens: i64[B, 1], positions: i64[B, 1], past: f32[T, 2, 2, B, 2, 24])
        -> (logits f32[B, 128], cache entry f32[1, 2, 2, B, 2, 24])

The reference generates without a cache (each step a full forward over the image tokens,
the prompt and the tokens so far), so the compiled cache path is checked independently.

Usage: /usr/bin/python3 scripts/references/llava.py [OUT_DIR]
"""

import sys

import torch
from torch import nn

import common
import llama

SEED = 2
B = 2
PROMPT = 8
NEW_TOKENS = 8
VOCAB = 128
LANGUAGE = dict(vocab_size=VOCAB, hidden_size=96, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, intermediate_size=192, rms_norm_eps=1e-6,
                rope_theta=10000.0)


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
        self.multi_modal_projector = Projector()
        self.language_model = llama.Llama(LANGUAGE)

    def embeds(self, images, tokens):
        image_tokens = self.multi_modal_projector(self.vision(images))
        return torch.cat([image_tokens, self.language_model.model.embed_tokens(tokens)], dim=1)

    def prefill(self, images, tokens):
        return self.language_model.forward_embeds(self.embeds(images, tokens))

    def generate(self, images, tokens, margins=None):
        """Greedy, without a cache: the tokens [B, N] and each decode step's logits."""
        generated, step_logits = [], []
        for step in range(NEW_TOKENS):
            last = self.prefill(images, tokens)[0][:, -1]
            if step > 0:
                step_logits.append(last)
            if margins is not None:
                top2 = last.topk(2, dim=-1).values
                margins.append(float((top2[:, 0] - top2[:, 1]).min()))
            nxt = last.argmax(dim=-1)
            generated.append(nxt)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        return torch.stack(generated, dim=1), torch.stack(step_logits)


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("llava")
    common.setup(SEED)
    model = Llava().eval()
    common.randomize_norms(model)
    llama.randomize(model.language_model)
    images = torch.rand(B, 3, 32, 32)
    tokens = torch.randint(0, VOCAB, (B, PROMPT))

    fx = common.Fixtures("llava", out_dir)
    fx.weights(model, "PyTorch-default init (seed 2); class/positional embeddings "
               "N(0, 1/d); LayerNorms perturbed (weight 1 + N(0, 0.1), bias N(0, 0.1)); "
               "embed_tokens N(0, 1); RMSNorm weights 1 + N(0, 0.1)")
    logits, cache = common.run_reference(model, lambda m, a, b: m.prefill(a, b), images, tokens)
    fx.raw("prefill.images.f32", images, "f32", f"B = {B} images, uniform in [0, 1)")
    fx.raw("prefill.tokens.i64", tokens, "i64", f"{PROMPT}-token prompts, uniform in [0, {VOCAB})")
    fx.raw("prefill.out0.f32", logits.float(), "f32",
           "logits of the 16 image positions then the 8 prompt positions")
    fx.raw("prefill.out1.f32", cache.float(), "f32",
           "the 24 positions' cache [24, layers, 2 (k, v), B, kv_heads, head_dim]")
    margins = []
    generated, step_logits = common.run_reference(
        model, lambda m, a, b: m.generate(a, b, margins=margins), images, tokens)
    fx.raw("generate.out.i64", generated, "i64", f"the {NEW_TOKENS} greedily generated token ids")
    fx.raw("decode_step.out0.f32", step_logits.float(), "f32",
           f"the logits of the {NEW_TOKENS - 1} decode steps (step k feeds generated token k "
           "at position 24 + k), from full forwards without a cache")
    print(f"  llava.generate: tokens {generated.tolist()}, smallest top-1/top-2 logit margin "
          f"{min(margins):.4f}")
    assert min(margins) > 1e-2, "an argmax is too close to a tie for a float32 implementation"
    fx.readme("llava fixtures", f"""
A LLaVA-style model: a 1-layer ViT (`vision`, as clip's `visual` without `proj`; its output
is `ln_post(x)[:, 1:]`, the 16 patch tokens after `ln_post`, class token dropped), a
projector `multi_modal_projector.linear_2(gelu(linear_1(.)))` to 96, then a LLaMA-style
decoder (`language_model`: {LANGUAGE}) whose input embeddings are the 16 projected image
tokens then the 8 prompt tokens' embeddings (positions 0..23). `prefill(images, tokens)`
gives the 24 positions' logits and cache; greedy generation then calls `decode_step` once
per new token after the first. The reference logits of a decode step are those of a full
forward without a cache. Generated here: {generated.tolist()}; the smallest gap between the
two largest logits over the steps is {min(margins):.4f} (no near-ties).
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
