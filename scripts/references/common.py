"""Shared code of the seed-model references (docs/seed-models.md).

- the standard-library modules of docs/seed-models.md as torch.nn.Modules whose
  state_dict names and layouts are exactly the Kiln parameter paths;
- deterministic seeding and single-threaded torch;
- a self-written .safetensors writer (and reader, for the self-check);
- raw fixture writers and the generator of each example's data/README.md;
- reference evaluation: float64 (model.double() on the float32 weights) and a
  float32 run of the same module, compared with the drivers' tolerance.

Run the model scripts with Debian's python (torch 1.13 from python3-torch):

    /usr/bin/python3 scripts/references/generate_all.py
"""

import copy
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# The drivers' tolerance (examples/common/fixture.h): |got - ref| <= REL * |ref| + ABS.
REL_TOL = 1e-4
ABS_TOL = 1e-6


# ----------------------------------------------------------------------------- setup

def setup(seed):
    """Single-threaded, deterministic torch; seeds torch and returns a numpy Generator."""
    torch.set_num_threads(1)
    if not _INTEROP_SET:   # allowed once per process (a second call aborts)
        torch.set_num_interop_threads(1)
        _INTEROP_SET.append(True)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


_INTEROP_SET = []


def default_out_dir(name):
    return os.path.join(REPO_ROOT, "examples", name, "data")


# ----------------------------------------------------------------------------- stdlib modules

class Linear(nn.Linear):
    """Linear(in, out): weight [out, in], bias [out]; x @ weight^T + bias."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features, bias=True)


class LinearNoBias(nn.Linear):
    """LinearNoBias(in, out): weight [out, in]; x @ weight^T."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features, bias=False)


class LayerNorm(nn.LayerNorm):
    """LayerNorm(d): weight [d], bias [d], over the last dim, eps 1e-5."""

    def __init__(self, d):
        super().__init__(d, eps=1e-5, elementwise_affine=True)


class Embedding(nn.Embedding):
    """Embedding(n, d): weight [n, d], row lookup of i64 ids."""

    def __init__(self, n, d):
        super().__init__(n, d)


def gelu(x):
    """Exact GELU: x * 0.5 * (1 + erf(x / sqrt(2)))."""
    return F.gelu(x, approximate="none")


class Mlp(nn.Module):
    """Mlp(d, hidden): fc2(gelu(fc1(x))), fc1 = Linear(d, hidden), fc2 = Linear(hidden, d)."""

    def __init__(self, d, hidden):
        super().__init__()
        self.fc1 = Linear(d, hidden)
        self.fc2 = Linear(hidden, d)

    def forward(self, x):
        return self.fc2(gelu(self.fc1(x)))


class MultiHeadAttention(nn.Module):
    """MultiHeadAttention(d, heads, kv_dim = d).

    q = q_proj(x), k = k_proj(ctx), v = v_proj(ctx), split into `heads` heads of
    d / heads (head h takes features [h*dh, (h+1)*dh)); per head
    softmax(q k^T / sqrt(dh) + mask) v; heads concatenated back in the same
    order; out_proj. Masks: causal (key j > query i excluded) and key padding
    (mask: bool[B, S_k], true = attend, false keys excluded for every query).
    Excluded scores are -inf before the softmax (every query keeps at least one
    key in the fixtures).
    """

    def __init__(self, d, heads, kv_dim=None):
        super().__init__()
        assert d % heads == 0
        kv_dim = d if kv_dim is None else kv_dim
        self.d, self.heads, self.head_dim = d, heads, d // heads
        self.q_proj = Linear(d, d)
        self.k_proj = Linear(kv_dim, d)
        self.v_proj = Linear(kv_dim, d)
        self.out_proj = Linear(d, d)

    def attend(self, x, context, causal=False, mask=None):
        b, s_q, _ = x.shape
        s_k = context.shape[1]
        h, dh = self.heads, self.head_dim
        q = self.q_proj(x).reshape(b, s_q, h, dh).transpose(1, 2)        # [B, h, Sq, dh]
        k = self.k_proj(context).reshape(b, s_k, h, dh).transpose(1, 2)  # [B, h, Sk, dh]
        v = self.v_proj(context).reshape(b, s_k, h, dh).transpose(1, 2)
        scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(dh))       # [B, h, Sq, Sk]
        if causal:
            assert s_q == s_k
            future = torch.ones(s_q, s_k, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(future, float("-inf"))
        if mask is not None:
            assert mask.dtype == torch.bool and mask.shape == (b, s_k)
            scores = scores.masked_fill(~mask[:, None, None, :], float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        out = (weights @ v).transpose(1, 2).reshape(b, s_q, self.d)
        return self.out_proj(out)

    def forward(self, x, mask=None):          # attn(x)
        return self.attend(x, x, mask=mask)

    def causal(self, x):                      # attn.causal(x)
        return self.attend(x, x, causal=True)

    def cross(self, x, context, mask=None):   # attn.cross(x, context)
        return self.attend(x, context, mask=mask)


class TransformerBlock(nn.Module):
    """Pre-norm: x += attn(ln1(x)); x += mlp(ln2(x))."""

    def __init__(self, d, heads, hidden):
        super().__init__()
        self.ln1 = LayerNorm(d)
        self.attn = MultiHeadAttention(d, heads)
        self.ln2 = LayerNorm(d)
        self.mlp = Mlp(d, hidden)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))

    def causal(self, x):
        x = x + self.attn.causal(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class PostNormBlock(nn.Module):
    """Post-norm: x = ln1(x + attn(x)); x = ln2(x + mlp(x))."""

    def __init__(self, d, heads, hidden):
        super().__init__()
        self.ln1 = LayerNorm(d)
        self.attn = MultiHeadAttention(d, heads)
        self.ln2 = LayerNorm(d)
        self.mlp = Mlp(d, hidden)

    def forward(self, x):
        x = self.ln1(x + self.attn(x))
        return self.ln2(x + self.mlp(x))


class PatchEmbed(nn.Module):
    """conv2d(kernel = stride = patch, no padding), then [B, d, H/p, W/p] -> [B, (H/p)(W/p), d].

    proj.weight [d, channels, patch, patch], proj.bias [d]; patch index = row * (W/p) + col.
    """

    def __init__(self, channels, patch, d):
        super().__init__()
        self.proj = nn.Conv2d(channels, d, kernel_size=patch, stride=patch)

    def forward(self, images):
        y = self.proj(images)                  # [B, d, H/p, W/p]
        return y.flatten(2).transpose(1, 2)    # [B, N, d]


class GCNConv(nn.Module):
    """GCNConv(in, out): lin = LinearNoBias(in, out), bias [out] (PyTorch Geometric names).

    h = lin(x); deg[i] = 1 + #(edges with target i);
    out[i] = bias + h[i] / deg[i] + sum over edges (j -> i) of h[j] / sqrt(deg[i] deg[j]).
    edge_index[0] = source j, edge_index[1] = target i. Every edge counts (duplicates
    twice); the fixtures have no duplicate edges and no explicit self loops.
    state_dict order is [bias, lin.weight] (a module's own parameters come first).
    Initialized as PyTorch Geometric does: Glorot-uniform weight, zero bias.
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.lin = LinearNoBias(in_features, out_features)
        nn.init.xavier_uniform_(self.lin.weight)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x, edge_index):
        n = x.shape[0]
        src, dst = edge_index[0], edge_index[1]
        h = self.lin(x)
        ones = torch.ones(dst.shape[0], dtype=x.dtype)
        deg = torch.ones(n, dtype=x.dtype).index_add_(0, dst, ones)              # 1 + in-degree
        inv_sqrt = deg.rsqrt()
        norm = inv_sqrt.index_select(0, src) * inv_sqrt.index_select(0, dst)   # [E]
        messages = h.index_select(0, src) * norm[:, None]                      # [E, out]
        out = h / deg[:, None]                                                 # self loops
        out = out.index_add(0, dst, messages)
        return out + self.bias


def l2_normalize(x):
    """x / max(||x||_2, 1e-12) over the last dim (F.normalize)."""
    return F.normalize(x, p=2.0, dim=-1, eps=1e-12)


# ----------------------------------------------------------------------------- init helpers

@torch.no_grad()
def randomize_norms(model, rng_std=0.1):
    """LayerNorms start as weight 1, bias 0 and GCN biases as 0: make them non-trivial
    (weight 1 + N(0, 0.1), bias N(0, 0.1)) so a swapped or ignored parameter shows."""
    for m in model.modules():
        if isinstance(m, nn.LayerNorm):
            m.weight.add_(torch.randn_like(m.weight) * rng_std)
            m.bias.copy_(torch.randn_like(m.bias) * rng_std)
        if isinstance(m, GCNConv):
            m.bias.copy_(torch.randn_like(m.bias) * rng_std)


# ----------------------------------------------------------------------------- safetensors

_ST_DTYPES = {torch.float32: ("F32", "<f4"), torch.float64: ("F64", "<f8"),
              torch.int64: ("I64", "<i8"), torch.int32: ("I32", "<i4"),
              torch.bool: ("BOOL", "|u1")}


def safetensors_bytes(state_dict):
    """A .safetensors file of the tensors of `state_dict`, in its order.

    8-byte little-endian header length, a JSON header (keys in state_dict order,
    each {"dtype", "shape", "data_offsets"}) padded with spaces to a multiple of 8,
    then the tensors back to back (no holes): every f32 tensor is 4-byte aligned.
    """
    header, chunks, offset = {}, [], 0
    for name, t in state_dict.items():
        t = t.detach().cpu().contiguous()
        st_dtype, np_dtype = _ST_DTYPES[t.dtype]
        data = np.ascontiguousarray(t.numpy(), dtype=np_dtype).tobytes()
        header[name] = {"dtype": st_dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("ascii")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def read_safetensors(data):
    """Parses safetensors bytes back into {name: np.ndarray} (for the self-check)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("ascii"))
    base = 8 + n
    rev = {v[0]: v[1] for v in _ST_DTYPES.values()}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[base + a:base + b], dtype=rev[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out


# ----------------------------------------------------------------------------- fixtures

def replace_readme_section(out_dir, heading, body):
    """Makes `heading` + `body` the last section of out_dir/README.md, replacing an earlier
    copy: a model's own script rewrites that README without its training section."""
    path = os.path.join(out_dir, "README.md")
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if heading + "\n" in text:
        text = text[:text.index(heading + "\n")]
    text = text.rstrip("\n") + "\n\n" if text else ""
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"{heading}\n\n{body.strip()}\n" if not text else text + f"{heading}\n\n{body.strip()}\n")


_RAW = {"f32": "<f4", "i64": "<i8", "bool": "|u1"}


class Fixtures:
    """Collects the files of one example's data/ and writes them with a README."""

    def __init__(self, name, out_dir):
        self.name = name
        self.out_dir = os.path.abspath(out_dir)
        self.records = []   # (file name, shape text, dtype text, description)
        os.makedirs(self.out_dir, exist_ok=True)

    def _write(self, fname, data):
        with open(os.path.join(self.out_dir, fname), "wb") as f:
            f.write(data)

    def weights(self, model, description):
        sd = model.state_dict()
        for k, v in sd.items():
            assert v.dtype == torch.float32, k
        data = safetensors_bytes(sd)
        fname = f"{self.name}.safetensors"
        self._write(fname, data)
        # Self-check: the file parses back to exactly the state_dict.
        back = read_safetensors(data)
        assert list(back) == list(sd)
        for k, v in sd.items():
            assert np.array_equal(back[k], v.numpy()), k
        n_values = sum(v.numel() for v in sd.values())
        self.records.append((fname, f"{len(sd)} tensors, {n_values} values", "F32", description))
        self.state_dict_listing = [(k, list(v.shape)) for k, v in sd.items()]

    def raw(self, fname, array, dtype, description, shape=None):
        """Writes a raw little-endian row-major file; dtype is f32, i64 or bool."""
        if isinstance(array, torch.Tensor):
            array = array.detach().cpu().numpy()
        array = np.asarray(array)
        if dtype == "f32":
            assert np.all(np.isfinite(array)), fname
        if dtype == "bool":
            array = array.astype(bool)
        out = np.ascontiguousarray(array, dtype=_RAW[dtype])
        assert fname.endswith("." + dtype), fname
        self._write(fname, out.tobytes())
        shape = list(array.shape) if shape is None else shape
        self.records.append((fname, "[" + ", ".join(str(s) for s in shape) + "]", dtype,
                             description))

    def text(self, fname, content, description):
        self._write(fname, content.encode("utf-8"))
        self.records.append((fname, "text", "-", description))

    def readme(self, title, intro, extra=""):
        lines = [f"# {title}", "", intro.strip(), "",
                 "Regenerate (deterministic; same bytes on every run) with",
                 "",
                 f"    /usr/bin/python3 scripts/references/{self.name}.py",
                 "",
                 "Raw files are little-endian and row-major: `f32` is IEEE float32, `i64`",
                 "int64, `bool` one byte per element (0 or 1; `uint8_t` in C). A shape `[]`",
                 "is a scalar (one element). Reference outputs are computed in float64",
                 "(`model.double()` on the float32 weights and inputs) and rounded to f32.",
                 "",
                 "| file | shape | dtype | contents |",
                 "| --- | --- | --- | --- |"]
        for fname, shape, dtype, desc in self.records:
            lines.append(f"| `{fname}` | {shape} | {dtype} | {desc} |")
        lines += ["", f"## Parameters of `{self.name}.safetensors` (state_dict order)", "",
                  "```"]
        for k, shape in self.state_dict_listing:
            lines.append(f"{k} {shape}")
        lines += ["```", ""]
        if extra:
            lines += [extra.strip(), ""]
        self._write("README.md", "\n".join(lines).encode("utf-8"))


# ----------------------------------------------------------------------------- reference runs

def to_double(obj):
    if isinstance(obj, torch.Tensor) and obj.is_floating_point():
        return obj.double()
    return obj


@torch.no_grad()
def run_reference(model, fn, *inputs):
    """fn(model, *inputs) in float64 on a float64 copy of the float32 model."""
    m64 = copy.deepcopy(model).double().eval()
    return fn(m64, *[to_double(x) for x in inputs])


@torch.no_grad()
def f32_agreement(model, fn, inputs, reference):
    """Runs fn in float32 and returns (worst relative error, worst ratio of error to the
    drivers' tolerance, #elements outside it) against the float64 reference: how a
    float32 implementation fares."""
    m32 = copy.deepcopy(model).float().eval()
    got = fn(m32, *[x.float() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                    for x in inputs])
    if not got.is_floating_point():
        return 0.0, 0.0, int((got != reference).sum())
    got = got.double()
    ref = reference.float().double()   # the fixture holds the f32-rounded reference
    diff = (got - ref).abs()
    worst = float((diff / ref.abs().clamp_min(1e-30)).max())
    tol = REL_TOL * ref.abs() + ABS_TOL
    return worst, float((diff / tol).max()), int((diff > tol).sum())


def entry(fx, model, entry_name, fn, inputs, arg_names, arg_dtypes, out_dtype, descriptions,
          out_description, out_shape=None):
    """Writes an entry's inputs, runs it in float64, writes `<entry>.out.<dtype>`,
    and reports how a float32 run agrees. Returns the float64 output."""
    for x, a, d, desc in zip(inputs, arg_names, arg_dtypes, descriptions):
        fx.raw(f"{entry_name}.{a}.{d}", x, d, desc)
    out = run_reference(model, fn, *inputs)
    if out_dtype == "f32":
        fx.raw(f"{entry_name}.out.f32", out.float(), "f32", out_description, shape=out_shape)
    else:
        fx.raw(f"{entry_name}.out.{out_dtype}", out, out_dtype, out_description, shape=out_shape)
    worst, ratio, bad = f32_agreement(model, fn, inputs, out)
    print(f"  {fx.name}.{entry_name}: out {list(out.shape)}; float32 torch vs reference: "
          f"worst rel err {worst:.2e}, worst err/tolerance {ratio:.3f}, {bad} outside")
    return out
