#!/usr/bin/python3
"""Reference values for the end-to-end op tests (test/e2e/ops-*.test).

Computes, with numpy only, the inputs and expected outputs of every export of
test/e2e/Inputs/ops/*.kiln and writes them as raw little-endian files
`<family>/<entry>.<name>.<dtype>` under test/e2e/Inputs/ops/, plus an empty
safetensors file (the op models have no parameters). backends.test and
fused-kernels.test build their (larger) inputs in C from a hash (synth()
below, Inputs/ops/synth.h), so only their outputs, targets and masks are
written. The files are committed, so the tests need no Python:

    /usr/bin/python3 scripts/gen_op_fixtures.py

The formulas follow PyTorch's definitions (F.gelu, F.layer_norm, F.embedding,
torch.matmul broadcasting, F.scaled_dot_product_attention, F.conv2d, F.kl_div,
F.normalize, F.cosine_similarity as of 1.13, torch.argmax, F.one_hot,
index_select, index_add_) and are written independently of Kiln's lowering.
Where torch is installed, the softmax cross-entropy references are also
checked against F.cross_entropy and its autograd gradient.
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

    # sin and cos far from 0 (rotary angles reach thousands of radians); an
    # own generator, so the draws below stay as they were.
    g = np.random.default_rng(20261206)
    angles = (g.standard_normal((B, 20)) * 1000).astype(np.float32)
    save("elementwise", "trig", "x", angles)
    save("elementwise", "trig", "out0", np.sin(angles.astype(np.float64)).astype(np.float32))
    save("elementwise", "trig", "out1", np.cos(angles.astype(np.float64)).astype(np.float32))

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


# --- Synthetic inputs for backends.test and fused-kernels.test --------------
#
# Their inputs are too large to commit comfortably, so the C drivers make them
# with the hash below (Inputs/ops/synth.h has the same function) and only the
# expected outputs, targets and masks are fixtures. Element i of the tensor
# with seed s is (h >> 16) / 32768 - 1 for h the 32-bit mix of
# i * 0x9E3779B1 + s * 0x85EBCA77: a multiple of 2^-15 in [-1, 1), exact in
# f32, times a power of two, so C and numpy build the same bits.


def synth(seed, shape, scale=1.0):
    u32 = np.uint32
    h = np.arange(int(np.prod(shape)), dtype=np.uint32) * u32(0x9E3779B1) + u32((seed * 0x85EBCA77) & 0xFFFFFFFF)
    h ^= h >> u32(15)
    h *= u32(0x2C1B3C6D)
    h ^= h >> u32(12)
    h *= u32(0x297A2D39)
    h ^= h >> u32(15)
    value = ((h >> u32(16)).astype(np.int64) - 32768).astype(np.float32) / np.float32(32768)
    return (value * np.float32(scale)).reshape(shape)


def gelu64(x):
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def gelu_tanh64(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def backends():
    # backends.test: one model compiled per --backend. Seeds and shapes match
    # Inputs/ops/backends.c; B = 3 for the symbolic batch.
    nb = 3

    def out(entry, name, value):
        save("backends", entry, name, np.ascontiguousarray(value).astype(np.float32))

    x, w, b = synth(1, (64, 128), 0.5), synth(2, (64, 128), 0.5), synth(3, (64,), 0.5)
    out("linear_gelu", "out", gelu64(x.astype(np.float64) @ w.T.astype(np.float64) + b))

    x, w, b, r = synth(4, (64, 128), 0.5), synth(5, (128, 128), 0.5), synth(6, (128,), 0.5), synth(7, (64, 128))
    out("linear_relu_residual", "out", np.maximum(x.astype(np.float64) @ w.T + b, 0) + r)

    x, w, b = synth(8, (nb, 8, 16)), synth(9, (12, 16)), synth(10, (12,))
    out("linear_sigmoid", "out", 1 / (1 + np.exp(-(x.astype(np.float64) @ w.T + b))))

    x, w, r = synth(11, (nb, 8, 16)), synth(12, (16, 16), 0.5), synth(13, (nb, 8, 16))
    out("linear_gelu_tanh_residual", "out", r + gelu_tanh64(x.astype(np.float64) @ w.T))

    x, w, b = synth(14, (nb, 8, 16)), synth(15, (12, 16)), synth(16, (12,))
    h = x.astype(np.float64) @ w.T + b
    out("two_uses", "out0", np.maximum(h, 0))
    out("two_uses", "out1", h)

    a, bm = synth(17, (24, 40)), synth(18, (40, 16))
    out("plain", "out", a.astype(np.float64) @ bm)

    x, w = synth(19, (nb, 32, 64), 0.5), synth(20, (64, 48), 0.5)
    out("batched", "out", x.astype(np.float64) @ w)

    q, k = synth(21, (nb, 2, 16, 8)), synth(22, (nb, 2, 24, 8))
    out("scores", "out", q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2))

    a, bm = synth(23, (128, 64), 0.5), synth(24, (128, 96), 0.5)
    out("left_transposed", "out", a.astype(np.float64).T @ bm)

    a, bm = synth(25, (24, 40)), synth(26, (nb, 40, 16))
    out("broadcast_left", "out", a.astype(np.float64) @ bm)

    def swish64(h, scale):
        return h / (1 + np.exp(-scale * h))

    x, w = synth(27, (64, 128), 0.5), synth(28, (64, 128), 0.5)
    out("linear_silu", "out", swish64(x.astype(np.float64) @ w.T, 1.0))

    x, w, b, r = synth(29, (64, 128), 0.5), synth(30, (64, 128), 0.5), synth(31, (64,), 0.5), synth(32, (64, 64))
    h = x.astype(np.float64) @ w.T + b
    # 1.702 as the model's f32 constant.
    out("linear_quick_gelu_residual", "out", swish64(h, float(np.float32(1.702))) + r)


def attention64(q, k, v, scale, mask=None, causal=False):
    """F.scaled_dot_product_attention in float64; a row whose keys are all
    hidden is NaN (0/0), as PyTorch's math kernel gives."""
    scores = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 1, 3, 2) * scale
    s, t = scores.shape[-2:]
    hidden = np.zeros(scores.shape, dtype=bool)
    if mask is not None:
        hidden |= ~mask[:, None, None, :]
    if causal:
        hidden |= np.arange(t)[None, :] > np.arange(s)[:, None]
    scores = np.where(hidden, -np.inf, scores)
    with np.errstate(invalid="ignore"):
        e = np.exp(scores - scores.max(-1, keepdims=True))
        p = e / e.sum(-1, keepdims=True)
    return p @ v.astype(np.float64)


def softmax_ce_grad64(x, t):
    x64 = x.astype(np.float64)
    m = x64.max(-1, keepdims=True)
    lse = m + np.log(np.exp(x64 - m).sum(-1, keepdims=True))
    n, c = x.shape
    loss = -(x64 - lse)[np.arange(n), t].mean()
    grad = np.exp(x64 - lse)
    grad[np.arange(n), t] -= 1.0
    try:  # PyTorch's own loss and autograd gradient, when torch is there.
        import torch
        xt = torch.tensor(x64, requires_grad=True)
        ref = torch.nn.functional.cross_entropy(xt, torch.tensor(t))
        ref.backward()
        assert abs(ref.item() - loss) <= 1e-12 * abs(loss)
        assert np.allclose(xt.grad.numpy() * n, grad, rtol=1e-12, atol=1e-15)
    except ImportError:
        pass
    return loss, grad


def fused_kernels():
    # fused-kernels.test; seeds and shapes match Inputs/ops/fused_kernels.c.
    nb = 2

    def out(entry, name, value):
        save("fused_kernels", entry, name, np.ascontiguousarray(value).astype(np.float32))

    q, k, v = synth(31, (nb, 2, 80, 16)), synth(32, (nb, 2, 80, 16)), synth(33, (nb, 2, 80, 16))
    out("self_attend", "out0", attention64(q, k, v, 0.25))
    out("self_attend", "out1", attention64(q, k, v, 0.25, causal=True))

    g = np.random.default_rng(20261130)
    mask = g.random((nb, 80)) < 0.7
    mask[0, 0] = False
    mask[1, :] = False
    save("fused_kernels", "masked", "mask", mask)
    out("masked", "out0", attention64(q, k, v, 0.25, mask=mask))
    out("masked", "out1", attention64(q, k, v, 0.25, mask=mask, causal=True))

    q, k, v = synth(34, (nb, 2, 32, 16)), synth(35, (nb, 2, 257, 16)), synth(36, (nb, 2, 257, 24))
    out("cross", "out0", attention64(q, k, v, 0.25))
    out("cross", "out1", attention64(q, k, v, 0.3, causal=True))

    # Logits in [-4, 4); row 0 shifted by +100 and row 1 by -100 (exact in
    # f32), so that exp of an unshifted logit overflows or underflows.
    for entry, seed, (n, c) in [("loss_grad", 37, (20, 1000)), ("loss_grad_small", 38, (5, 10))]:
        x = synth(seed, (n, c), 4.0)
        x[0] += np.float32(100)
        x[1] -= np.float32(100)
        t = g.integers(0, c, n).astype(np.int64)
        loss, grad = softmax_ce_grad64(x, t)
        save("fused_kernels", entry, "t", t)
        out(entry, "out0", np.array(loss))
        out(entry, "out1", grad)


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
    backends()
    fused_kernels()
    empty_safetensors()
