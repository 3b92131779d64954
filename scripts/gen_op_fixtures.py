#!/usr/bin/python3
"""Reference values for the end-to-end op tests (test/e2e/ops-*.test).

Computes, with numpy only, the inputs and expected outputs of every export of
test/e2e/Inputs/ops/*.kiln and writes them as raw little-endian files
`<family>/<entry>.<name>.<dtype>` under test/e2e/Inputs/ops/, plus an empty
safetensors file (the op models have no parameters). The files are committed,
so the tests need no Python:

    /usr/bin/python3 scripts/gen_op_fixtures.py

The formulas follow PyTorch's definitions (F.gelu, F.layer_norm, F.embedding,
torch.matmul broadcasting, F.scaled_dot_product_attention, F.conv2d, F.kl_div,
F.normalize, F.cosine_similarity as of 1.13, torch.argmax, F.one_hot,
index_select, index_add_) and are written independently of Kiln's lowering.
A `bool` tensor is one byte per element, 0 or 1, as the C API passes it.
"""
import math
import os

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "e2e", "Inputs", "ops")
B = 2
rng = np.random.default_rng(20240611)


def save(family, entry, name, array):
    suffix = {np.float32: "f32", np.int64: "i64", np.bool_: "bool"}[array.dtype.type]
    folder = os.path.join(OUT, family)
    os.makedirs(folder, exist_ok=True)
    array.astype(array.dtype.newbyteorder("<")).tofile(os.path.join(folder, f"{entry}.{name}.{suffix}"))


def f32(*shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def erf(x):
    return np.vectorize(math.erf)(x.astype(np.float64))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def elementwise():
    x = f32(B, 20, scale=2.0)
    x64 = x.astype(np.float64)
    gelu = 0.5 * x64 * (1 + erf(x64 / math.sqrt(2)))
    gelu_tanh = 0.5 * x64 * (1 + np.tanh(math.sqrt(2 / math.pi) * (x64 + 0.044715 * x64**3)))
    save("elementwise", "unary", "x", x)
    for i, out in enumerate([gelu, gelu_tanh, 1 / np.sqrt(np.abs(x64) + 0.5), np.abs(x64),
                             np.clip(x64, -1.0, 0.5)]):
        save("elementwise", "unary", f"out{i}", out.astype(np.float32))

    y = f32(20)
    save("elementwise", "power", "x", x)
    save("elementwise", "power", "y", y)
    save("elementwise", "power", "out", np.power(np.abs(x64) + 0.5, y.astype(np.float64)).astype(np.float32))

    # Casts truncate toward zero, as C and torch's .long() do.
    save("elementwise", "casts", "x", x)
    scaled = x * np.float32(4.0)
    save("elementwise", "casts", "out0", np.trunc(scaled).astype(np.int64))
    save("elementwise", "casts", "out1", np.trunc(scaled).astype(np.float32))

    ln_x, ln_w, ln_b = f32(B, 16, scale=3.0) + 1, f32(16), f32(16)
    v = ln_x.astype(np.float64)
    mean = v.mean(-1, keepdims=True)
    var = ((v - mean) ** 2).mean(-1, keepdims=True)
    save("elementwise", "norm", "x", ln_x)
    save("elementwise", "norm", "w", ln_w)
    save("elementwise", "norm", "b", ln_b)
    save("elementwise", "norm", "out", ((v - mean) / np.sqrt(var + 1e-5) * ln_w + ln_b).astype(np.float32))

    # Id 12 is out of range for 10 rows: its row is NaN.
    table = f32(10, 8)
    ids = np.array([[0, 3, 9], [12, 5, 5]], dtype=np.int64)
    rows = np.where((ids >= 0) & (ids < 10), ids, 0)
    out = table[rows]
    out[(ids < 0) | (ids >= 10)] = np.nan
    save("elementwise", "lookup", "table", table)
    save("elementwise", "lookup", "ids", ids)
    save("elementwise", "lookup", "out", out.astype(np.float32))


def layout():
    x, y = f32(B, 4, 8), f32(B, 2, 8)
    save("layout", "shapes", "x", x)
    save("layout", "shapes", "y", y)
    outs = [x.reshape(B, 4, 2, 4), x.transpose(0, 2, 1), np.concatenate([x, y], axis=1),
            x[:, 1:3], x[:, -1], x.reshape(B, 8, 4)]
    for i, out in enumerate(outs):
        save("layout", "shapes", f"out{i}", np.ascontiguousarray(out))


def contraction():
    x, w = f32(B, 3, 8), f32(8, 5)
    a, b = f32(B, 2, 3, 8), f32(B, 2, 8, 4)
    for name, value in [("x", x), ("w", w), ("a", a), ("b", b)]:
        save("contraction", "matmuls", name, value)
    save("contraction", "matmuls", "out0", (x.astype(np.float64) @ w).astype(np.float32))
    save("contraction", "matmuls", "out1", (a.astype(np.float64) @ b).astype(np.float32))

    q, k, v = f32(B, 2, 5, 8), f32(B, 2, 6, 8), f32(B, 2, 6, 8)
    for name, value in [("q", q), ("k", k), ("v", v)]:
        save("contraction", "attend", name, value)
    scores = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2)
    plain = softmax(scores / math.sqrt(8), -1) @ v
    causal_scores = scores * 0.5
    future = np.arange(6)[None, :] > np.arange(5)[:, None]
    causal_scores[..., future] = -np.inf
    causal = softmax(causal_scores, -1) @ v
    save("contraction", "attend", "out0", plain.astype(np.float32))
    save("contraction", "attend", "out1", causal.astype(np.float32))

    # Patch embedding: stride = kernel = 4 on 8x8 images.
    img, kernel, bias = f32(B, 3, 8, 8), f32(4, 3, 4, 4), f32(4)
    patches = img.astype(np.float64).reshape(B, 3, 2, 4, 2, 4)
    out = np.einsum("bchiwj,ocij->bohw", patches, kernel) + bias[None, :, None, None]
    save("contraction", "patches", "x", img)
    save("contraction", "patches", "w", kernel)
    save("contraction", "patches", "b", bias)
    save("contraction", "patches", "out", out.astype(np.float32))


def normalize(x, axis, eps):
    norm = np.sqrt((x.astype(np.float64) ** 2).sum(axis=axis, keepdims=True))
    return x / np.maximum(norm, eps)


def losses():
    # kl_div(batchmean): sum(t * (log t - l)) / B, 0 where t == 0.
    x, t = f32(B, 10), softmax(f32(B, 10).astype(np.float64), -1)
    t[0, 3] = t[1, 7] = t[1, 8] = 0.0
    t = t.astype(np.float32)
    log_p = x.astype(np.float64) - np.log(np.exp(x.astype(np.float64)).sum(-1, keepdims=True))

    def kl(target):
        target = target.astype(np.float64)
        safe = np.where(target > 0, target, 1.0)
        return np.where(target > 0, target * (np.log(safe) - log_p), 0.0).sum() / B

    save("losses", "divergence", "x", x)
    save("losses", "divergence", "t", t)
    save("losses", "divergence", "out0", np.array(kl(t), dtype=np.float32))
    save("losses", "divergence", "out1", np.array(kl(softmax(t.astype(np.float64), -1)), dtype=np.float32))

    # Row 1 of x is short (norm < 0.5) and y's row 1 is zero: the eps clamps.
    x, y, z, w = f32(B, 10), f32(B, 10), f32(B, 1, 6), f32(1, 4, 6)
    x[1] *= 0.03
    y[1] = 0.0
    z[0, 0, :] = 0.0
    for name, value in [("x", x), ("y", y), ("z", z), ("w", w)]:
        save("losses", "similarity", name, value)
    cosine = (normalize(x, -1, 1e-8) * normalize(y, -1, 1e-8)).sum(-1)
    zw = (normalize(z, -1, 1e-8) * normalize(w, -1, 1e-8)).sum(-1)
    outs = [normalize(x, -1, 1e-12), normalize(x, -1, 0.5), cosine, zw]
    for i, out in enumerate(outs):
        save("losses", "similarity", f"out{i}", out.astype(np.float32))


def indexing():
    # Halves make ties; the first maximum wins, and a NaN beats every number.
    x = (np.round(f32(B, 7) * 2) / 2).astype(np.float32)
    x[0, 2] = x[0, 5] = x[0].max() + 1
    x[1, 3] = np.nan
    ids = np.array([[0, 4, -1], [7, 2, 2]], dtype=np.int64)
    hot = np.zeros((B, 3, 5), dtype=np.float32)
    for index in np.ndindex(ids.shape):
        if 0 <= ids[index] < 5:
            hot[index + (ids[index],)] = 1.0
    save("indexing", "picks", "x", x)
    save("indexing", "picks", "ids", ids)
    outs = [np.argmax(x, -1), np.argmax(x, 0), np.arange(7), np.arange(B), hot]
    for i, out in enumerate(outs):
        save("indexing", "picks", f"out{i}", out.astype(hot.dtype if out is hot else np.int64))

    save("indexing", "fills", "x", x)
    save("indexing", "fills", "ids", ids)
    outs = [np.zeros_like(x), np.ones_like(x), np.full_like(ids, 4), x - np.float32(2.5)]
    for i, out in enumerate(outs):
        save("indexing", "fills", f"out{i}", out)


def graph():
    # N = 5 nodes, E = 8 edges with a repeated target; edge 6 points outside
    # the graph at both ends (its message is a NaN row, its target skipped).
    n = 5
    h = f32(n, 4)
    edges = np.array([[0, 1, 2, 3, 4, 1, 9, 2], [1, 2, 2, 0, 1, 1, -1, 4]], dtype=np.int64)
    cols = np.array([3, 0, 3], dtype=np.int64)
    src, dst = edges
    valid_src = (src >= 0) & (src < n)
    msg = h[np.where(valid_src, src, 0)].astype(np.float32)
    msg[~valid_src] = np.nan

    def scatter(init, rows):
        out = init.astype(np.float64)
        for e, target in enumerate(dst):
            if 0 <= target < n:
                out[target] += rows[e]
        return out.astype(np.float32)

    for name, value in [("h", h), ("edges", edges), ("cols", cols)]:
        save("graph", "messages", name, value)
    outs = [msg, scatter(h, msg), scatter(np.zeros_like(h), msg), h[:, cols]]
    for i, out in enumerate(outs):
        save("graph", "messages", f"out{i}", np.ascontiguousarray(out))

    save("graph", "degree", "h", h)
    save("graph", "degree", "edges", edges)
    deg = scatter(np.zeros_like(h), np.ones_like(msg)).astype(np.float64) + 1
    save("graph", "degree", "out", (scatter(np.zeros_like(h), msg) / np.sqrt(deg)).astype(np.float32))


def masks():
    c = rng.random((B, 37)) < 0.5
    a, b = f32(B, 37), f32(37)
    save("masks", "choose", "c", c)
    save("masks", "choose", "a", a)
    save("masks", "choose", "b", b)
    save("masks", "choose", "out", np.where(c, a, b).astype(np.float32))

    q, k, v = f32(B, 2, 5, 8), f32(B, 2, 20, 8), f32(B, 2, 20, 8)
    mask = rng.random((B, 20)) < 0.6
    mask[:, 0] = True
    for name, value in [("q", q), ("k", k), ("v", v), ("mask", mask)]:
        save("masks", "attend", name, value)
    scores = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2) / math.sqrt(8)
    scores = np.where(mask[:, None, None, :], scores, -np.inf)
    save("masks", "attend", "out", (softmax(scores, -1) @ v).astype(np.float32))


def fused_softmax_ce():
    # Fused vs unfused softmax cross-entropy (fused-softmax-cross-entropy.test):
    # [64, 1000] logits with a wide spread, so that the online max is rescaled
    # often; its own generator so that the other fixtures do not move.
    g = np.random.default_rng(20261129)
    n, c = 64, 1000
    x = (g.standard_normal((n, c)) * 4.0).astype(np.float32)
    y = g.integers(0, c, n).astype(np.int64)
    x64 = x.astype(np.float64)
    m = x64.max(-1, keepdims=True)
    log_p = x64 - (m + np.log(np.exp(x64 - m).sum(-1, keepdims=True)))
    loss = np.array(-log_p[np.arange(n), y].mean(), dtype=np.float32)
    save("fused_softmax_ce", "loss", "x", x)
    save("fused_softmax_ce", "loss", "y", y)
    save("fused_softmax_ce", "loss", "out0", loss)

def empty_safetensors():
    header = b"{}      "
    with open(os.path.join(OUT, "empty.safetensors"), "wb") as f:
        f.write(len(header).to_bytes(8, "little") + header)


if __name__ == "__main__":
    elementwise()
    layout()
    contraction()
    losses()
    indexing()
    graph()
    masks()
    fused_softmax_ce()
    empty_safetensors()
