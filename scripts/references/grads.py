#!/usr/bin/python3
"""grads: the gradient of every differentiable builtin against PyTorch autograd (grads.test).

test/e2e/Inputs/grads/grads.kiln has one loss method and one train entry `d_<case>` per
case: the loss is `sum(op(params...) * w)` with `w` a random cotangent of the op's result
(scalar results: `op * s`), and the entry trains exactly the parameters the op reads, so
`grads_d_<case>_grads` returns the loss and the vector-Jacobian product of the op for each
float operand. This script writes

    test/e2e/Inputs/grads/grads.safetensors        every `param` of the module
    test/e2e/Inputs/grads/data/<case>.<arg>.<dtype> the loss's inputs (f32, i64, bool)
    test/e2e/Inputs/grads/data/<case>.loss.f32      the loss, float64 autograd rounded to f32
    test/e2e/Inputs/grads/data/<case>.grads.f32     d loss / d param of each trained param,
                                                    flattened and concatenated in the
                                                    module's param declaration order
    test/e2e/Inputs/grads/data/README.md            the list of cases and their layouts

The references are float64 torch (1.13) autograd on the float32 parameters and inputs.
It also checks that grads.kiln declares the same params, cases, arguments and trained
params as CASES below, and reports how a float32 torch run of each case fares against the
C driver's tolerance (|got - ref| <= 1e-4 * max(1, |ref|)).

Parameter values stay away from the kinks of the ops that read them (relu/abs at 0,
clamp at -0.5 and 0.8, minimum at 0.25, maximum/minimum ties with b and c, ties of max),
so the one-sided derivatives agree and torch's choice at a tie never matters.

    /usr/bin/python3 scripts/references/grads.py [OUT_DIR]

(deterministic: the same bytes on every run; OUT_DIR defaults to test/e2e/Inputs/grads).
"""

import collections
import fnmatch
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

import common

SEED = 20241206
SYM_B = 3          # the value of the symbolic dim B of the sym_* cases
SYM_S = 2          # and of S
REL_TOL = 1e-4     # grads.c: |got - ref| <= REL_TOL * max(1, |ref|)
KINKS = (0.0, 0.25, -0.5, 0.8)   # relu/abs, minimum(a, 0.25), clamp(a, -0.5, 0.8)
MARGIN = 0.1

DEFAULT_OUT = os.path.join(common.REPO_ROOT, "test", "e2e", "Inputs", "grads")
KILN_FILE = os.path.join(DEFAULT_OUT, "grads.kiln")

# The module's params in declaration order (the order of the gradient buffers).
PARAMS = collections.OrderedDict([
    ("a", (4, 6)), ("b", (4, 6)), ("c", (6,)), ("p", (4, 6)), ("m", (6, 5)),
    ("t", (2, 4, 6)), ("u", (2, 6, 3)), ("e", (10, 6)), ("ln_w", (6,)), ("ln_b", (6,)),
    ("q", (2, 2, 3, 4)), ("k", (2, 2, 5, 4)), ("v", (2, 2, 5, 3)), ("sb", (3, 5)),
    ("ck", (4, 3, 4, 4)), ("cb", (4,)), ("img", (2, 3, 9, 8)),
    # Attention over several query and key blocks of the flash-style kernels (64 each).
    ("q2", (1, 2, 70, 8)), ("k2", (1, 2, 80, 8)), ("v2", (1, 2, 80, 5)), ("sb2", (70, 80)),
])


# ----------------------------------------------------------------------------- params

def make_params(rng):
    """Float32 parameter values with the margins the module's comments promise."""
    def normal(shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    P = {}
    P["b"] = normal((4, 6))
    c = rng.uniform(0.5, 1.5, 6) * rng.choice([-1.0, 1.0], 6)
    P["c"] = c.astype(np.float32)
    # a: away from the kinks, from b (maximum/minimum(a, b)) and from c (maximum(a, c));
    # the values of each row distinct (max over an axis).
    a = np.zeros((4, 6), dtype=np.float32)
    for i in range(4):
        for j in range(6):
            while True:
                x = np.float32(rng.standard_normal() * 1.2)
                bad = [abs(x - k) < MARGIN for k in KINKS]
                bad += [abs(x - P["b"][i, j]) < MARGIN, abs(x - P["c"][j]) < MARGIN]
                bad += [abs(x - a[i, jj]) < MARGIN for jj in range(j)]
                if not any(bad):
                    break
            a[i, j] = x
    P["a"] = a
    P["p"] = rng.uniform(0.5, 2.0, (4, 6)).astype(np.float32)
    P["m"] = normal((6, 5), 0.5)
    P["t"] = distinct_rows(rng, (2, 4, 6))
    P["u"] = normal((2, 6, 3), 0.5)
    P["e"] = normal((10, 6))
    P["ln_w"] = (1.0 + rng.standard_normal(6) * 0.3).astype(np.float32)
    P["ln_b"] = normal((6,), 0.3)
    P["q"] = normal((2, 2, 3, 4))
    P["k"] = normal((2, 2, 5, 4))
    P["v"] = normal((2, 2, 5, 3))
    P["sb"] = normal((3, 5), 0.5)
    P["ck"] = normal((4, 3, 4, 4), 0.3)
    P["cb"] = normal((4,), 0.3)
    P["img"] = normal((2, 3, 9, 8))
    P["q2"] = normal((1, 2, 70, 8))
    P["k2"] = normal((1, 2, 80, 8))
    P["v2"] = normal((1, 2, 80, 5))
    P["sb2"] = normal((70, 80))
    out = collections.OrderedDict()
    for name, shape in PARAMS.items():
        assert P[name].shape == shape and P[name].dtype == np.float32, name
        out[name] = P[name]
    return out


def distinct_rows(rng, shape):
    """N(0, 1) values whose last-axis rows have no two values within MARGIN (max ties)."""
    x = rng.standard_normal(shape).astype(np.float32)
    rows = x.reshape(-1, shape[-1])
    for r in rows:
        for j in range(len(r)):
            while any(abs(r[j] - r[jj]) < MARGIN for jj in range(j)):
                r[j] = np.float32(rng.standard_normal())
    return rows.reshape(shape)


# ----------------------------------------------------------------------------- cases

Case = collections.namedtuple("Case", "name trained args loss")


def cases(rng):
    """The cases in grads.kiln's order. Each arg is (name, dtype, value, kiln dims); `loss`
    maps (params, inputs) torch tensors to the scalar loss."""
    def f32(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def ints(n, high, shape):
        """Random ids in [0, high) with at least one repeated value."""
        while True:
            x = rng.integers(0, high, size=n).astype(np.int64)
            if len(set(x.tolist())) < n:
                return x.reshape(shape)

    def scalar():
        return np.array(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]), dtype=np.float32)

    out = []

    def add(name, trained, args, loss):
        out.append(Case(name, trained, args, loss))

    def elementwise(name, trained, op, shape=(4, 6)):
        """loss(w: f32[shape]) = sum(op(P) * w)."""
        add(name, trained, [("w", "f32", f32(*shape), list(shape))],
            lambda P, I: (op(P) * I["w"]).sum())

    def scalar_loss(name, trained, op, extra=()):
        """loss(extra..., s: f32) = op(P, I) * s."""
        add(name, trained, list(extra) + [("s", "f32", scalar(), [])],
            lambda P, I: op(P, I) * I["s"])

    # arithmetic
    elementwise("add", "ab", lambda P: P["a"] + P["b"])
    elementwise("add_bcast", "ac", lambda P: P["a"] + P["c"])
    elementwise("add_scalar", "a", lambda P: 1.5 + P["a"])
    elementwise("sub", "ab", lambda P: P["a"] - P["b"])
    elementwise("sub_bcast", "ac", lambda P: P["c"] - P["a"])
    elementwise("sub_scalar", "a", lambda P: 1.5 - P["a"])
    elementwise("mul", "ab", lambda P: P["a"] * P["b"])
    elementwise("mul_bcast", "ac", lambda P: P["c"] * P["a"])
    elementwise("mul_self", "a", lambda P: P["a"] * P["a"])
    elementwise("mul_scalar", "a", lambda P: P["a"] * 2.5)
    elementwise("div", "ap", lambda P: P["a"] / P["p"])
    elementwise("div_bcast", "ac", lambda P: P["a"] / P["c"])
    elementwise("div_bcast_left", "cp", lambda P: P["c"] / P["p"])
    elementwise("div_scalar", "a", lambda P: P["a"] / 4.0)
    elementwise("rdiv_scalar", "p", lambda P: 3.0 / P["p"])
    elementwise("neg", "a", lambda P: -P["a"])
    elementwise("maximum", "ab", lambda P: torch.maximum(P["a"], P["b"]))
    elementwise("maximum_bcast", "ac", lambda P: torch.maximum(P["a"], P["c"]))
    elementwise("minimum", "ab", lambda P: torch.minimum(P["a"], P["b"]))
    elementwise("minimum_scalar", "a",
                lambda P: torch.minimum(P["a"], torch.tensor(0.25, dtype=P["a"].dtype)))
    elementwise("pow", "bp", lambda P: torch.pow(P["p"], P["b"]))
    elementwise("pow_bcast", "cp", lambda P: torch.pow(P["p"], P["c"]))
    elementwise("pow_scalar", "p", lambda P: torch.pow(P["p"], 3.0))

    # unary
    elementwise("relu", "a", lambda P: torch.relu(P["a"]))
    elementwise("sigmoid", "a", lambda P: torch.sigmoid(P["a"]))
    elementwise("tanh", "a", lambda P: torch.tanh(P["a"]))
    elementwise("exp", "a", lambda P: torch.exp(P["a"]))
    elementwise("log", "p", lambda P: torch.log(P["p"]))
    elementwise("sqrt", "p", lambda P: torch.sqrt(P["p"]))
    elementwise("rsqrt", "p", lambda P: torch.rsqrt(P["p"]))
    elementwise("abs", "a", lambda P: torch.abs(P["a"]))
    elementwise("sin", "a", lambda P: torch.sin(P["a"]))
    elementwise("cos", "a", lambda P: torch.cos(P["a"]))
    elementwise("gelu", "a", lambda P: F.gelu(P["a"]))
    elementwise("gelu_tanh", "a", lambda P: F.gelu(P["a"], approximate="tanh"))
    elementwise("clamp", "a", lambda P: torch.clamp(P["a"], -0.5, 0.8))
    elementwise("clamp_min", "a", lambda P: torch.clamp(P["a"], min=-0.5))
    cond = rng.random((4, 6)) < 0.5
    add("where", ["a", "b"],
        [("cond", "bool", cond, [4, 6]), ("w", "f32", f32(4, 6), [4, 6])],
        lambda P, I: (torch.where(I["cond"], P["a"], P["b"]) * I["w"]).sum())
    cond = rng.random((4, 6)) < 0.5
    add("where_bcast", ["a", "c"],
        [("cond", "bool", cond, [4, 6]), ("w", "f32", f32(4, 6), [4, 6])],
        lambda P, I: (torch.where(I["cond"], P["c"], P["a"]) * I["w"]).sum())

    # normalizations
    elementwise("softmax", "a", lambda P: torch.softmax(P["a"], -1))
    elementwise("softmax_axis0", "a", lambda P: torch.softmax(P["a"], 0))
    elementwise("log_softmax", "a", lambda P: torch.log_softmax(P["a"], -1))
    elementwise("log_softmax_axis0", "a", lambda P: torch.log_softmax(P["a"], 0))
    elementwise("layer_norm", ["a", "ln_w", "ln_b"],
                lambda P: F.layer_norm(P["a"], (6,), P["ln_w"], P["ln_b"], eps=1e-5))
    elementwise("layer_norm_3d", ["t", "ln_w", "ln_b"],
                lambda P: F.layer_norm(P["t"], (6,), P["ln_w"], P["ln_b"], eps=1e-5),
                shape=(2, 4, 6))
    elementwise("l2_normalize", "a", lambda P: F.normalize(P["a"], p=2.0, dim=-1, eps=1e-12))
    elementwise("l2_normalize_axis", "t",
                lambda P: F.normalize(P["t"], p=2.0, dim=1, eps=1e-12), shape=(2, 4, 6))

    # contractions
    elementwise("matmul", "am", lambda P: P["a"] @ P["m"], shape=(4, 5))
    elementwise("matmul_nt", "ab", lambda P: P["a"] @ P["b"].t(), shape=(4, 4))
    elementwise("matmul_bcast", "mt", lambda P: P["t"] @ P["m"], shape=(2, 4, 5))
    elementwise("bmm", "tu", lambda P: P["t"] @ P["u"], shape=(2, 4, 3))

    # layout
    elementwise("transpose", "a", lambda P: P["a"].t(), shape=(6, 4))
    elementwise("transpose_3d", "t", lambda P: P["t"].transpose(0, 2), shape=(6, 4, 2))
    elementwise("permute", "t", lambda P: P["t"].permute(2, 0, 1), shape=(6, 2, 4))
    elementwise("reshape", "t", lambda P: P["t"].reshape(4, 12), shape=(4, 12))
    elementwise("reshape_split", "a", lambda P: P["a"].reshape(2, 3, 4), shape=(2, 3, 4))
    elementwise("slice", "a", lambda P: P["a"][:, 1:4], shape=(4, 3))
    elementwise("slice_sub", "t", lambda P: P["t"][:, 1:3], shape=(2, 2, 6))
    elementwise("select", "a", lambda P: P["a"][2], shape=(6,))
    elementwise("select_sub", "t", lambda P: P["t"][:, -1], shape=(2, 6))
    elementwise("select_last_axis", "t", lambda P: P["t"][:, :, 3], shape=(2, 4))
    elementwise("concat", "ab", lambda P: torch.cat([P["a"], P["b"]], 0), shape=(8, 6))
    elementwise("concat_repeat", "ab", lambda P: torch.cat([P["a"], P["b"], P["a"]], 1),
                shape=(4, 18))

    # reductions
    elementwise("sum_axis", "a", lambda P: P["a"].sum(1), shape=(4,))
    elementwise("sum_keepdim", "t", lambda P: P["t"].sum(0, keepdim=True), shape=(1, 4, 6))
    scalar_loss("sum_all", "a", lambda P, I: P["a"].sum())
    elementwise("mean_axis", "t", lambda P: P["t"].mean(1), shape=(2, 6))
    elementwise("mean_keepdim", "a", lambda P: P["a"].mean(0, keepdim=True), shape=(1, 6))
    scalar_loss("mean_all", "t", lambda P, I: P["t"].mean())
    elementwise("max_axis", "a", lambda P: P["a"].max(1).values, shape=(4,))
    elementwise("max_keepdim", "t", lambda P: P["t"].max(-1, keepdim=True).values,
                shape=(2, 4, 1))
    scalar_loss("max_all", "a", lambda P, I: P["a"].max())

    # indexing
    add("embedding", ["e"],
        [("ids", "i64", ints(12, 10, (3, 4)), [3, 4]), ("w", "f32", f32(3, 4, 6), [3, 4, 6])],
        lambda P, I: (F.embedding(I["ids"], P["e"]) * I["w"]).sum())
    add("index_select", ["a"],
        [("idx", "i64", ints(8, 6, (8,)), [8]), ("w", "f32", f32(4, 8), [4, 8])],
        lambda P, I: (torch.index_select(P["a"], 1, I["idx"]) * I["w"]).sum())
    add("index_select_rows", ["e"],
        [("idx", "i64", ints(7, 10, (7,)), [7]), ("w", "f32", f32(7, 6), [7, 6])],
        lambda P, I: (torch.index_select(P["e"], 0, I["idx"]) * I["w"]).sum())
    add("scatter_add", ["a", "e"],
        [("idx", "i64", ints(4, 10, (4,)), [4]), ("w", "f32", f32(10, 6), [10, 6])],
        lambda P, I: (P["e"].index_add(0, I["idx"], P["a"]) * I["w"]).sum())
    add("segment_sum", ["a"],
        [("idx", "i64", ints(4, 10, (4,)), [4]), ("w", "f32", f32(10, 6), [10, 6])],
        lambda P, I: (torch.zeros_like(P["e"]).index_add(0, I["idx"], P["a"]) * I["w"]).sum())

    # losses
    scalar_loss("cross_entropy", "a", lambda P, I: F.cross_entropy(P["a"], I["y"]),
                extra=[("y", "i64", rng.integers(0, 6, 4).astype(np.int64), [4])])
    scalar_loss("kl_div", "ab",
                lambda P, I: F.kl_div(torch.log_softmax(P["a"], -1), torch.softmax(P["b"], -1),
                                      reduction="batchmean"))
    target = np.exp(f32(4, 6))
    target[0, 2] = target[2, 5] = target[3, 0] = 0.0      # terms that are 0 by definition
    target = (target / target.sum(-1, keepdims=True)).astype(np.float32)
    add("kl_div_target", ["a"], [("target", "f32", target, [4, 6])],
        lambda P, I: F.kl_div(torch.log_softmax(P["a"], -1), I["target"], reduction="batchmean"))

    # the rest
    elementwise("fills", "ab",
                lambda P: torch.full_like(P["a"], -2.5) + torch.ones_like(P["b"]) * P["a"]
                + torch.zeros_like(P["b"]))
    add("sym_matmul", ["m"],
        [("x", "f32", f32(SYM_B, 6), ["B", 6]), ("w", "f32", f32(SYM_B, 5), ["B", 5])],
        lambda P, I: ((I["x"] @ P["m"]) * I["w"]).sum())
    add("sym_mean", ["m"],
        [("x", "f32", f32(SYM_B, 6), ["B", 6]), ("w", "f32", f32(5), [5])],
        lambda P, I: ((I["x"] @ P["m"]).mean(0) * I["w"]).sum())
    add("sym_softmax", ["m"],
        [("x", "f32", f32(SYM_B, 6), ["B", 6]), ("w", "f32", f32(SYM_B, 5), ["B", 5])],
        lambda P, I: (torch.softmax(I["x"] @ P["m"], 0) * I["w"]).sum())
    elementwise("rms_norm", "ac",
                lambda P: P["a"] * torch.rsqrt((P["a"] * P["a"]).mean(-1, keepdim=True) + 1e-6)
                * P["c"])
    scalar_loss("mlp_ce", "am",
                lambda P, I: F.cross_entropy(torch.tanh(P["a"] @ P["m"]) * 3.0, I["y"]),
                extra=[("y", "i64", rng.integers(0, 5, 4).astype(np.int64), [4])])
    add("nll_one_hot", ["a"], [("y", "i64", rng.integers(0, 6, 4).astype(np.int64), [4])],
        lambda P, I: -(torch.log_softmax(P["a"], -1)
                       * F.one_hot(I["y"], 6).to(P["a"].dtype)).sum() / 4.0)
    elementwise("attention_ops", ["q", "k", "v"],
                lambda P: torch.softmax((P["q"] @ P["k"].transpose(-1, -2)) * 0.5, -1) @ P["v"],
                shape=(2, 2, 3, 3))
    # The builtins themselves (the case above spells attention out).
    elementwise("attention", ["q", "k", "v"],
                lambda P: F.scaled_dot_product_attention(P["q"], P["k"], P["v"])
                if hasattr(F, "scaled_dot_product_attention") else
                torch.softmax((P["q"] @ P["k"].transpose(-1, -2)) * 0.5, -1) @ P["v"],
                shape=(2, 2, 3, 3))
    causal = torch.ones(3, 5).tril().bool()
    elementwise("attention_causal", ["q", "k", "v"],
                lambda P: torch.softmax(((P["q"] @ P["k"].transpose(-1, -2)) * 0.5)
                                        .masked_fill(~causal, float("-inf")), -1) @ P["v"],
                shape=(2, 2, 3, 3))
    mask = rng.random((2, 5)) < 0.6
    mask[:, 0] = True
    add("attention_mask_bias", ["q", "k", "v", "sb"],
        [("mask", "bool", mask, [2, 5]), ("w", "f32", f32(2, 2, 3, 3), [2, 2, 3, 3])],
        lambda P, I: (torch.softmax(((P["q"] @ P["k"].transpose(-1, -2)) * 0.25 + P["sb"])
                                    .masked_fill(~I["mask"][:, None, None, :], float("-inf")),
                                    -1) @ P["v"] * I["w"]).sum())
    # The backward kernel's variants: a key-padding mask, a (trained) bias.
    mask = rng.random((2, 5)) < 0.6
    mask[:, 0] = True
    add("attention_masked", ["q", "k", "v"],
        [("mask", "bool", mask, [2, 5]), ("w", "f32", f32(2, 2, 3, 3), [2, 2, 3, 3])],
        lambda P, I: (torch.softmax(((P["q"] @ P["k"].transpose(-1, -2)) * 0.5)
                                    .masked_fill(~I["mask"][:, None, None, :], float("-inf")),
                                    -1) @ P["v"] * I["w"]).sum())
    elementwise("attention_bias", ["q", "k", "v", "sb"],
                lambda P: torch.softmax((P["q"] @ P["k"].transpose(-1, -2)) * 0.5 + P["sb"], -1)
                @ P["v"], shape=(2, 2, 3, 3))
    # 70 queries against 80 keys: two blocks of each, the last ones partial;
    # causal (t > s hidden), and causal with a frozen [S, T] bias.
    causal2 = torch.ones(70, 80).tril().bool()
    scale2 = 8 ** -0.5
    elementwise("attention_blocks", ["q2", "k2", "v2"],
                lambda P: torch.softmax((P["q2"] @ P["k2"].transpose(-1, -2)) * scale2, -1)
                @ P["v2"], shape=(1, 2, 70, 5))
    elementwise("attention_blocks_causal", ["q2", "k2", "v2"],
                lambda P: torch.softmax(((P["q2"] @ P["k2"].transpose(-1, -2)) * scale2)
                                        .masked_fill(~causal2, float("-inf")), -1) @ P["v2"],
                shape=(1, 2, 70, 5))
    elementwise("attention_blocks_bias", ["q2", "k2", "v2"],
                lambda P: torch.softmax(((P["q2"] @ P["k2"].transpose(-1, -2)) * scale2
                                         + P["sb2"]).masked_fill(~causal2, float("-inf")), -1)
                @ P["v2"], shape=(1, 2, 70, 5))
    add("cosine_similarity", ["a", "b"], [("w", "f32", f32(4), [4])],
        lambda P, I: (F.cosine_similarity(P["a"], P["b"], dim=-1) * I["w"]).sum())
    add("cosine_similarity_axis0", ["a", "p"], [("w", "f32", f32(6), [6])],
        lambda P, I: (F.cosine_similarity(P["a"], P["p"], dim=0) * I["w"]).sum())
    # A patch embedding (stride = kernel) over a ragged 9x8 image: the last row
    # is in no patch.
    elementwise("conv2d_patches", ["img", "ck", "cb"],
                lambda P: F.conv2d(P["img"], P["ck"], P["cb"], stride=4), shape=(2, 4, 2, 2))
    # Cross-entropy with as many classes as rows, both symbolic (InfoNCE).
    add("sym_cross_entropy", ["m"], [("x", "f32", f32(SYM_B, 6), ["B", 6])],
        lambda P, I: F.cross_entropy((I["x"] @ P["m"]) @ (I["x"] @ P["m"]).T,
                                     torch.arange(SYM_B)))
    # A weight shared by all rows of a [B, S, K] input, both dims symbolic
    # (its gradient is one matmul over the B * S rows).
    add("sym_linear3", ["m"],
        [("x", "f32", f32(SYM_B, SYM_S, 6), ["B", "S", 6]),
         ("w", "f32", f32(SYM_B, SYM_S, 5), ["B", "S", 5])],
        lambda P, I: (torch.tanh(I["x"] @ P["m"]) * I["w"]).sum())
    # A language model's loss: [B, S, C] logits against [B, S] targets, the mean
    # over all B * S positions.
    add("sym_cross_entropy3", ["m"],
        [("x", "f32", f32(SYM_B, SYM_S, 6), ["B", "S", 6]),
         ("y", "i64", rng.integers(0, 5, (SYM_B, SYM_S)).astype(np.int64), ["B", "S"])],
        lambda P, I: F.cross_entropy((I["x"] @ P["m"]).flatten(0, 1), I["y"].flatten()))
    # Token ids [B, S], both symbolic, flattened into B * S rows of the gradient.
    add("sym_embedding", ["e"],
        [("ids", "i64", rng.integers(0, 10, (SYM_B, SYM_S)).astype(np.int64), ["B", "S"]),
         ("w", "f32", f32(SYM_B, SYM_S, 6), ["B", "S", 6])],
        lambda P, I: (F.embedding(I["ids"], P["e"]) * I["w"]).sum())
    # The rms_norm builtin (one op, its own gradient kernel) against LlamaRMSNorm
    # written out (Debian's torch has no F.rms_norm). Last, so that the random
    # draws of the cases above stay as they were.
    def rms_norm(x, w, eps=1e-6):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w
    elementwise("rms_norm_op", ["a", "ln_w"], lambda P: rms_norm(P["a"], P["ln_w"]))
    elementwise("rms_norm_op_3d", ["t", "ln_w"], lambda P: rms_norm(P["t"], P["ln_w"]),
                shape=(2, 4, 6))

    # Trained params as lists in declaration order ("ab" is shorthand for ["a", "b"]).
    fixed = []
    for c in out:
        trained = list(c.trained) if isinstance(c.trained, str) else c.trained
        assert set(trained) <= set(PARAMS), c.name
        fixed.append(c._replace(trained=[n for n in PARAMS if n in trained]))
    return fixed


# ----------------------------------------------------------------------------- grads.kiln

def check_kiln(all_cases):
    """grads.kiln must declare PARAMS and, for each case in order, `fn <case>_loss(args)`
    with the same arguments and `train d_<case> { loss: <case>_loss ... train: ... }`
    naming the same params."""
    with open(KILN_FILE) as f:
        text = re.sub(r"//[^\n]*", "", f.read())
    params = re.findall(r"\bparam\s+(\w+)\s*:\s*f32\[([^\]]*)\]", text)
    got = [(n, tuple(int(d) for d in dims.split(","))) for n, dims in params]
    assert got == list(PARAMS.items()), f"params of grads.kiln: {got}"

    fns = {}
    for name, args in re.findall(r"\bfn\s+(\w+)_loss\s*\(([^)]*)\)", text):
        fns[name] = [(n, ty, [d.strip() for d in dims.split(",")] if dims else [])
                     for n, ty, dims in re.findall(r"(\w+)\s*:\s*(\w+)(?:\[([^\]]*)\])?", args)]
    trains = re.findall(r"\btrain\s+d_(\w+)\s*\{\s*loss:\s*(\w+)\s+optimizer:\s*sgd\s+"
                        r"train:\s*([^}]*)\}", text)
    assert len(trains) == len(re.findall(r"\btrain\s+\w+\s*\{", text)), "unparsed train entry"
    names = [c.name for c in all_cases]
    assert [t[0] for t in trains] == names, (
        "cases of grads.kiln and grads.py differ: "
        f"{sorted(set(t[0] for t in trains) ^ set(names))} (or their order)")
    assert sorted(fns) == sorted(names), sorted(set(fns) ^ set(names))
    for c, (name, loss, patterns) in zip(all_cases, trains):
        assert loss == f"{name}_loss", name
        listed = re.findall(r'"([^"]*)"', patterns)
        matched = [n for n in PARAMS if any(fnmatch.fnmatchcase(n, pat) for pat in listed)]
        assert matched == c.trained, f"{name}: trains {matched}, not {c.trained}"
        want = [(n, d, [str(x) for x in dims]) for n, d, _, dims in c.args]
        assert fns[name] == want, f"{name}: arguments {fns[name]} in grads.kiln, {want} here"


# ----------------------------------------------------------------------------- reference

def run_case(case, params, dtype):
    """The loss and the flattened gradients of the trained params, in `dtype`."""
    P = {}
    for n, v in params.items():
        P[n] = torch.from_numpy(v).to(dtype).requires_grad_(n in case.trained)
    inputs = {}
    for n, d, v, _ in case.args:
        t = torch.from_numpy(np.asarray(v))
        inputs[n] = t.to(dtype) if d == "f32" else t
    loss = case.loss(P, inputs)
    assert loss.dim() == 0, case.name
    loss.backward()
    grads = [P[n].grad if P[n].grad is not None else torch.zeros_like(P[n]) for n in case.trained]
    return loss.detach(), torch.cat([g.reshape(-1) for g in grads]).detach()


def tolerance_ratio(got, ref):
    """The worst |got - ref| / (REL_TOL * max(1, |ref|)) (grads.c's test is ratio <= 1)."""
    got, ref = got.double(), ref.float().double()
    return float(((got - ref).abs() / (REL_TOL * ref.abs().clamp_min(1.0))).max())


def main(argv):
    out_dir = os.path.abspath(argv[1] if len(argv) > 1 else DEFAULT_OUT)
    data_dir = os.path.join(out_dir, "data")
    rng = common.setup(SEED)

    params = make_params(rng)
    all_cases = cases(rng)
    check_kiln(all_cases)

    os.makedirs(out_dir, exist_ok=True)
    weights = common.safetensors_bytes(
        collections.OrderedDict((n, torch.from_numpy(v)) for n, v in params.items()))
    back = common.read_safetensors(weights)
    assert list(back) == list(params) and all(np.array_equal(back[n], params[n]) for n in params)
    with open(os.path.join(out_dir, "grads.safetensors"), "wb") as f:
        f.write(weights)

    if os.path.isdir(data_dir):   # every file there is ours: drop those of removed cases
        for name in os.listdir(data_dir):
            if name == "README.md" or name.endswith((".f32", ".i64", ".bool")):
                os.remove(os.path.join(data_dir, name))
    fx = common.Fixtures("grads", data_dir)
    rows = []
    for case in all_cases:
        for n, d, v, dims in case.args:
            shape = [{"B": SYM_B, "S": SYM_S}.get(x, x) for x in dims]
            assert list(np.shape(v)) == shape, (case.name, n)
            fx.raw(f"{case.name}.{n}.{d}", v, d, f"input `{n}`", shape=shape)
        loss, grads = run_case(case, params, torch.float64)
        loss32, grads32 = run_case(case, params, torch.float32)
        fx.raw(f"{case.name}.loss.f32", loss.float(), "f32", "the loss", shape=[])
        fx.raw(f"{case.name}.grads.f32", grads.float(), "f32", "the gradients",
               shape=[grads.numel()])
        worst = max(tolerance_ratio(loss32, loss), tolerance_ratio(grads32, grads))
        print(f"  {case.name}: {grads.numel()} grads; float32 torch: worst err/tolerance "
              f"{worst:.3f}")
        assert worst < 0.1, f"{case.name}: float32 torch is not clearly within the tolerance"
        layout, offset = [], 0
        for n in case.trained:
            size = int(np.prod(PARAMS[n]))
            layout.append(f"`{n}` [{offset}, {offset + size})")
            offset += size
        args = ", ".join(f"{n}: {d}[{', '.join(str(x) for x in dims)}]" if dims else f"{n}: {d}"
                         for n, d, _, dims in case.args)
        rows.append(f"| `{case.name}` | `{args}` | {', '.join(layout)} |")

    lines = ["# grads fixtures", "",
             "Inputs, losses and gradients of the cases of `../grads.kiln` (grads.test).",
             "Regenerate (deterministic; the same bytes on every run) with", "",
             "    /usr/bin/python3 scripts/references/grads.py", "",
             "For each case: `<case>.<arg>.<dtype>` for each argument of `<case>_loss`,",
             "`<case>.loss.f32` (a scalar) and `<case>.grads.f32`: the gradient of each",
             "trained param, flattened and concatenated in the module's declaration order",
             "(the layout of `grads_d_<case>_grads`). References are float64 torch",
             f"autograd on the float32 values, rounded to f32. `B` = {SYM_B}, `S` = {SYM_S}. "
             "Raw files are",
             "little-endian and row-major; `bool` is one byte per element.", "",
             "| case | arguments | gradient layout |", "| --- | --- | --- |"] + rows
    lines += ["", "## Parameters of `../grads.safetensors` (declaration order)", "", "```"]
    lines += [f"{n} {list(s)}" for n, s in PARAMS.items()] + ["```", ""]
    with open(os.path.join(data_dir, "README.md"), "w") as f:
        f.write("\n".join(lines))
    total = sum(os.path.getsize(os.path.join(data_dir, n)) for n in os.listdir(data_dir))
    print(f"wrote {len(all_cases)} cases, {total} bytes, to {data_dir}")


if __name__ == "__main__":
    main(sys.argv)
