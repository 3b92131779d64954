#!/usr/bin/python3
"""Generate the fixtures of examples/mlp: trained weights, test data, the reference.

Trains a small MLP classifier on scikit-learn's bundled 8x8 digits in plain numpy
(manual backprop, Adam, minibatches), and writes into the output directory
(default: examples/mlp/data under the repository root):

  mlp.safetensors        fc1.weight f32[128,64]  fc1.bias f32[128]
                         fc2.weight f32[64,128]  fc2.bias f32[64]
                         fc3.weight f32[10,64]   fc3.bias f32[10]
  test_x.f32             [300, 64] f32, digits.data / 16
  test_y.i64             [300] int64 labels
  expected_probs.f32     [300, 10] softmax(logits), computed in float64, cast to f32
  expected_loss.f32      [1] mean cross-entropy, computed in float64, cast to f32
  bad/truncated.safetensors    the weights file cut inside fc1.weight's data
  bad/wrong_shape.safetensors  fc2.weight saved as f32[64,127] (a valid file)
  bad/missing.safetensors      fc3.bias absent
  bad/garbage.safetensors      100 seeded random bytes

All raw files are little-endian and row-major. The model (PyTorch Linear layout,
y = x @ W.T + b):

  h1 = relu(x @ fc1.weight.T + fc1.bias)
  h2 = sigmoid(h1 @ fc2.weight.T + fc2.bias)
  logits = h2 @ fc3.weight.T + fc3.bias
  predict(x) = softmax(logits, axis=-1);  loss(x, y) = mean cross-entropy(logits, y)

Deterministic: fixed seeds, single-threaded BLAS, so it writes the same bytes on
every run (in a given environment). Run with Debian's python:

  /usr/bin/python3 scripts/gen_mlp_fixtures.py [OUT_DIR]
"""

import os

# Single-threaded BLAS: threaded reductions may differ in the last bits from run to run.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import json  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO_ROOT, "examples", "mlp", "data")

N_TEST = 300
SIZES = [64, 128, 64, 10]
EPOCHS = 60
BATCH = 32
LR = 2e-3
MIN_ACCURACY = 0.95

SPLIT_SEED = 0
INIT_SEED = 1
SHUFFLE_SEED = 2
GARBAGE_SEED = 3

PARAM_NAMES = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"]


# ----------------------------------------------------------------------------- data

def load_split():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    # Our own fixed permutation (numpy's PCG64 stream is stable across versions).
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    test, train = perm[:N_TEST], perm[N_TEST:]
    return x[train], y[train], x[test], y[test]


# ----------------------------------------------------------------------------- model

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def init_params():
    """PyTorch's default Linear init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias."""
    rng = np.random.default_rng(INIT_SEED)
    params = {}
    for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:]), start=1):
        bound = 1.0 / np.sqrt(n_in)
        params[f"fc{i}.weight"] = rng.uniform(-bound, bound, size=(n_out, n_in))
        params[f"fc{i}.bias"] = rng.uniform(-bound, bound, size=(n_out,))
    return params


def forward(p, x):
    z1 = x @ p["fc1.weight"].T + p["fc1.bias"]
    h1 = np.maximum(z1, 0.0)
    h2 = sigmoid(h1 @ p["fc2.weight"].T + p["fc2.bias"])
    logits = h2 @ p["fc3.weight"].T + p["fc3.bias"]
    return z1, h1, h2, logits


def log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def loss_and_grads(p, x, y):
    z1, h1, h2, logits = forward(p, x)
    logp = log_softmax(logits)
    n = len(y)
    loss = -logp[np.arange(n), y].mean()
    d_logits = np.exp(logp)
    d_logits[np.arange(n), y] -= 1.0
    d_logits /= n
    g = {"fc3.weight": d_logits.T @ h2, "fc3.bias": d_logits.sum(axis=0)}
    d_z2 = (d_logits @ p["fc3.weight"]) * h2 * (1.0 - h2)
    g["fc2.weight"] = d_z2.T @ h1
    g["fc2.bias"] = d_z2.sum(axis=0)
    d_z1 = (d_z2 @ p["fc2.weight"]) * (z1 > 0.0)
    g["fc1.weight"] = d_z1.T @ x
    g["fc1.bias"] = d_z1.sum(axis=0)
    return loss, g


def train(x, y, x_test, y_test):
    p = init_params()
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(val) for k, val in p.items()}
    b1, b2, eps = 0.9, 0.999, 1e-8
    rng = np.random.default_rng(SHUFFLE_SEED)
    x = x.astype(np.float64)
    step = 0
    for epoch in range(EPOCHS):
        order = rng.permutation(len(y))
        for start in range(0, len(y), BATCH):
            idx = order[start:start + BATCH]
            _, g = loss_and_grads(p, x[idx], y[idx])
            step += 1
            for k in PARAM_NAMES:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k]
                m_hat = m[k] / (1 - b1 ** step)
                v_hat = v[k] / (1 - b2 ** step)
                p[k] = p[k] - LR * m_hat / (np.sqrt(v_hat) + eps)
        if (epoch + 1) % 20 == 0:
            acc = (forward(p, x_test.astype(np.float64))[3].argmax(-1) == y_test).mean()
            print(f"epoch {epoch + 1:4d}: held-out accuracy {acc:.4f}")
    return {k: p[k].astype(np.float32) for k in PARAM_NAMES}


# ----------------------------------------------------------------------------- safetensors

def safetensors_bytes(tensors):
    """tensors: list of (name, float32 array, shape written in the header).

    Header keys are written in the list's order; the header is padded with spaces
    to a multiple of 8 bytes, so every tensor's data (a multiple of 4 bytes) stays
    4-byte aligned in the file."""
    header = {}
    chunks = []
    offset = 0
    for name, arr, shape in tensors:
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        assert len(data) == 4 * int(np.prod(shape, dtype=np.int64)), name
        header[name] = {"dtype": "F32", "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    hjson = json.dumps(header, separators=(",", ":")).encode("ascii")
    hjson += b" " * (-len(hjson) % 8)
    return struct.pack("<Q", len(hjson)) + hjson + b"".join(chunks)


# ----------------------------------------------------------------------------- reference

def reference(params, x, y):
    """Independent float64 forward pass from the float32 weights and inputs."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    x = x.astype(np.float64)
    h1 = np.maximum(x @ p["fc1.weight"].T + p["fc1.bias"], 0.0)
    h2 = 1.0 / (1.0 + np.exp(-(h1 @ p["fc2.weight"].T + p["fc2.bias"])))
    logits = h2 @ p["fc3.weight"].T + p["fc3.bias"]
    logp = log_softmax(logits)
    probs = np.exp(logp)
    loss = -logp[np.arange(len(y)), y].mean()
    return probs.astype(np.float32), np.array([loss], dtype=np.float32)


# ----------------------------------------------------------------------------- main

def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def main(argv):
    if len(argv) > 2:
        sys.exit(f"usage: {argv[0]} [OUT_DIR]")
    out = os.path.abspath(argv[1]) if len(argv) == 2 else DEFAULT_OUT
    os.makedirs(os.path.join(out, "bad"), exist_ok=True)

    x_train, y_train, x_test, y_test = load_split()
    params = train(x_train, y_train, x_test, y_test)
    probs, loss = reference(params, x_test, y_test)
    accuracy = (probs.argmax(-1) == y_test).mean()
    if accuracy < MIN_ACCURACY:
        sys.exit(f"error: held-out accuracy {accuracy:.4f} < {MIN_ACCURACY}")

    named = [(k, params[k], params[k].shape) for k in PARAM_NAMES]
    weights = safetensors_bytes(named)
    write(os.path.join(out, "mlp.safetensors"), weights)
    write(os.path.join(out, "test_x.f32"), x_test.astype("<f4").tobytes())
    write(os.path.join(out, "test_y.i64"), y_test.astype("<i8").tobytes())
    write(os.path.join(out, "expected_probs.f32"), probs.astype("<f4").tobytes())
    write(os.path.join(out, "expected_loss.f32"), loss.astype("<f4").tobytes())

    # Truncated: the header promises all the data, the file stops inside fc1.weight's
    # data (mid-element). Cut early to keep the fixtures small.
    header_end = 8 + struct.unpack("<Q", weights[:8])[0]
    write(os.path.join(out, "bad", "truncated.safetensors"), weights[:header_end + 258])
    # Wrong shape: fc2.weight as [64, 127] (its first 127 columns), offsets consistent.
    wrong = [(k, a[:, :127], (64, 127)) if k == "fc2.weight" else (k, a, s) for k, a, s in named]
    write(os.path.join(out, "bad", "wrong_shape.safetensors"), safetensors_bytes(wrong))
    # Missing: fc3.bias absent.
    write(os.path.join(out, "bad", "missing.safetensors"),
          safetensors_bytes([t for t in named if t[0] != "fc3.bias"]))
    # Garbage: 100 seeded random bytes.
    garbage = np.random.default_rng(GARBAGE_SEED).integers(0, 256, size=100, dtype=np.uint8)
    write(os.path.join(out, "bad", "garbage.safetensors"), garbage.tobytes())

    print(f"test accuracy: {int((probs.argmax(-1) == y_test).sum())}/{len(y_test)}"
          f" = {100.0 * accuracy:.1f}%")
    print(f"test loss: {float(loss[0]):.6f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
