#!/usr/bin/python3
"""The reference of examples/gcn/train.c: the GCN pre-trained contrastively, then trained
to classify nodes, by PyTorch.

From a fresh (seeded) initialization, exactly as the train entries of
examples/gcn/gcn.kiln declare them:

  pretrain:  AdamW (betas 0.9/0.999, eps 1e-8, weight decay 1e-5), lr 1e-2, conv1.* and
             projection.* trained; 50 steps of contrastive_loss (NT-Xent, temperature
             0.5) on two augmented views of the graph, drawn afresh at each step
  classify:  Adam (betas 0.9/0.999, eps 1e-8, L2 weight decay 5e-4), lr 1e-2, conv1.* and
             conv2.* trained; 100 steps of node_loss (the mean cross-entropy over the
             labelled nodes)

The graph is a fixed synthetic one, a stochastic block model: N = 70 nodes, 10 in each
of the 7 classes (in a random order); an undirected edge joins two nodes of one class
with probability 0.25, of two classes with probability 0.015, and appears in
edge_index as both directed edges, in a random order (no self loops). Node features are
0.6 * the class's centroid (N(0, 1), [7, 16]) + N(0, 1) noise, so that the features alone
classify poorly and the graph helps. Three nodes of each class (the first three in node
order) are labelled: train_mask.

Augmentation (GRACE's): view v of step s drops each directed edge with probability
P_EDGE[v] and zeroes each of the 16 feature columns with probability P_FEATURE[v], from
the integer generator `views` (splitmix64; train.c draws the same numbers), so the views
need no fixtures. Computed in float64 from the float32 initial weights. Writes into
examples/gcn/data:

  train.init.safetensors       the initial weights, f32 (GCN biases zero, as in PyG)
  train.x.f32                  [70, 16] node features
  train.edge_index.i64         [2, E] the graph (row 0 sources, row 1 targets)
  train.y.i64                  [70] node labels (0..6)
  train.mask.bool              [70] train_mask: the 21 labelled nodes
  train.pretrain_grads.f32     [4736] step 1's gradients of pretrain (gcn_pretrain_grads)
  train.pretrain_losses.f32    [50] the loss of each pretrain step
  train.classify_grads.f32     [775] step 1's gradients of classify (gcn_classify_grads),
                               at the pre-trained weights
  train.classify_losses.f32    [100] the loss of each classify step
  train.final_logits.f32       [70, 7] forward(x, edge_index) at the end
  train.final_heldout_loss.f32 [] node_loss over the 49 unlabelled nodes at the end
  train.trained.safetensors    the final weights, f32

Run with Debian's python:  /usr/bin/python3 scripts/references/gcn_train.py [OUT_DIR]
"""

import copy
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
import gcn  # noqa: E402

SEED = 23
CLASSES, PER_CLASS, FEATURES = 7, 10, 16
N = CLASSES * PER_CLASS
LABELLED_PER_CLASS = 3
P_SAME, P_OTHER = 0.25, 0.015
PRETRAIN_STEPS, PRETRAIN_LR = 50, 1e-2
CLASSIFY_STEPS, CLASSIFY_LR = 100, 1e-2
# GRACE's augmentation on Cora: view 1 drops 20% of the edges and 30% of the feature
# columns, view 2 40% and 40%. Probabilities in thousandths (integer draws: r % 1000).
P_EDGE = (200, 400)
P_FEATURE = (300, 400)

MASK64 = (1 << 64) - 1


def splitmix64(state):
    """(new state, output) of splitmix64; train.c has the same function."""
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def view(x, edge_index, step, v):
    """View v (0 or 1) of step `step` (0-based): the generator starts at
    1000003 * (2 step + v + 1), draws once per directed edge in edge_index order (kept
    when r % 1000 >= P_EDGE[v]; the kept edges keep their order), then once per feature
    column (zeroed when r % 1000 < P_FEATURE[v])."""
    state = 1000003 * (2 * step + v + 1)
    keep = []
    for _ in range(edge_index.shape[1]):
        state, r = splitmix64(state)
        keep.append(r % 1000 >= P_EDGE[v])
    columns = []
    for _ in range(x.shape[1]):
        state, r = splitmix64(state)
        columns.append(r % 1000 >= P_FEATURE[v])
    keep = torch.tensor(keep)
    assert keep.any()
    return x * torch.tensor(columns, dtype=x.dtype), edge_index[:, keep]


def make_graph(rng):
    y = rng.permutation(np.repeat(np.arange(CLASSES), PER_CLASS))
    centroids = rng.standard_normal((CLASSES, FEATURES))
    x = (0.6 * centroids[y] + rng.standard_normal((N, FEATURES))).astype(np.float32)
    pairs = []
    for i in range(N):
        for j in range(i + 1, N):
            if rng.random() < (P_SAME if y[i] == y[j] else P_OTHER):
                pairs += [(i, j), (j, i)]
    order = rng.permutation(len(pairs))
    edge_index = np.array([pairs[k] for k in order], dtype=np.int64).T   # [2, E]
    mask = np.zeros(N, dtype=bool)
    for c in range(CLASSES):
        mask[np.flatnonzero(y == c)[:LABELLED_PER_CLASS]] = True
    return x, edge_index, y.astype(np.int64), mask


def node_loss(model, x, edge_index, y, mask):
    """The PyG tutorials' loss: cross-entropy over the labelled nodes."""
    out = model(x, edge_index)
    return F.cross_entropy(out[mask], y[mask])


def trained_params(model, prefixes):
    return [p for name, p in model.named_parameters() if name.startswith(prefixes)]


def run(model, x, edge_index, y, mask):
    """Both phases on `model` (float64 or float32): step 1's gradients and the losses."""
    dtype = next(model.parameters()).dtype
    x = x.to(dtype)

    # pretrain: conv1 + projection, AdamW; conv2 does not reach the loss.
    params = trained_params(model, ("conv1.", "projection."))
    x1, e1 = view(x, edge_index, 0, 0)
    x2, e2 = view(x, edge_index, 0, 1)
    pretrain_grads = torch.autograd.grad(model.contrastive_loss(x1, e1, x2, e2), params)
    opt = torch.optim.AdamW(params, lr=PRETRAIN_LR, weight_decay=1e-5)
    pretrain_losses = []
    for step in range(PRETRAIN_STEPS):
        x1, e1 = view(x, edge_index, step, 0)
        x2, e2 = view(x, edge_index, step, 1)
        opt.zero_grad()
        loss = model.contrastive_loss(x1, e1, x2, e2)
        loss.backward()
        opt.step()
        pretrain_losses.append(loss.item())
    pretrained = copy.deepcopy(model.state_dict())

    # classify: conv1 + conv2, Adam with L2 weight decay; projection unused.
    params = trained_params(model, ("conv1.", "conv2."))
    classify_grads = torch.autograd.grad(node_loss(model, x, edge_index, y, mask), params)
    opt = torch.optim.Adam(params, lr=CLASSIFY_LR, weight_decay=5e-4)
    classify_losses = []
    for step in range(CLASSIFY_STEPS):
        opt.zero_grad()
        loss = node_loss(model, x, edge_index, y, mask)
        loss.backward()
        opt.step()
        classify_losses.append(loss.item())

    with torch.no_grad():
        logits = model(x, edge_index)
        heldout = node_loss(model, x, edge_index, y, ~mask)
    flat = lambda gs: torch.cat([g.reshape(-1) for g in gs])  # noqa: E731
    return dict(pretrain_grads=flat(pretrain_grads), pretrain_losses=pretrain_losses,
                classify_grads=flat(classify_grads), classify_losses=classify_losses,
                logits=logits, heldout=heldout, pretrained=pretrained)


# The data/README.md section on these fixtures (gcn.py rewrites that README
# without it).
README_SECTION = """
The `train.*` files are the reference of `examples/gcn/train.c` (the train entries
`pretrain`, AdamW, lr 1e-2, conv1 and projection trained, 50 steps of
`contrastive_loss` on two augmented views drawn afresh at each step; then `classify`,
Adam with weight decay 5e-4, lr 1e-2, conv1 and conv2 trained, 100 steps of
`node_loss` on the labelled nodes). They are written, deterministically, by

    /usr/bin/python3 scripts/references/gcn_train.py

(run it after `gcn.py`, which rewrites this README without this section), in float64
from the float32 initial weights, rounded to f32. The graph is a stochastic block model:
7 classes of 10 nodes in a random order, an undirected edge within a class with
probability 0.25 and across classes 0.015, both directions in `edge_index`.

| file | shape | dtype | contents |
| --- | --- | --- | --- |
| `train.init.safetensors` | 8 tensors, 4967 values | F32 | the initial weights: PyG's init (seed 23), GCN biases zero |
| `train.x.f32` | [70, 16] | f32 | node features: 0.6 * the class's centroid (N(0, 1)) + N(0, 1) |
| `train.edge_index.i64` | [2, 218] | i64 | row 0 = source, row 1 = target; no self loops |
| `train.y.i64` | [70] | i64 | node labels, 0..6 |
| `train.mask.bool` | [70] | bool | `train_mask`: the first 3 nodes of each class (21) |
| `train.pretrain_grads.f32` | [4736] | f32 | step 1's gradients of `pretrain` (conv1.*, projection.*), in state_dict order, each row-major (`gcn_pretrain_grads`) |
| `train.pretrain_losses.f32` | [50] | f32 | the loss of each `pretrain` step |
| `train.classify_grads.f32` | [775] | f32 | step 1's gradients of `classify` (conv1.*, conv2.*) at the pre-trained weights (`gcn_classify_grads`) |
| `train.classify_losses.f32` | [100] | f32 | the loss of each `classify` step |
| `train.final_logits.f32` | [70, 7] | f32 | `forward(x, edge_index)` after training |
| `train.final_heldout_loss.f32` | [] | f32 | `node_loss` over the 49 unlabelled nodes after training |
| `train.trained.safetensors` | 8 tensors, 4967 values | F32 | the weights after training |
"""


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("gcn")
    os.makedirs(out_dir, exist_ok=True)
    rng = common.setup(SEED)
    model = gcn.GCN()   # PyG's init: Glorot weights, zero GCN biases; Mlp as nn.Linear
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x, edge_index, y, mask = make_graph(rng)
    xt, et = torch.from_numpy(x), torch.from_numpy(edge_index)
    yt, mt = torch.from_numpy(y), torch.from_numpy(mask)

    # The same training in float32, to show how far a float32 implementation drifts.
    f32 = run(copy.deepcopy(model).float(), xt, et, yt, mt)
    ref = run(model.double(), xt, et, yt, mt)

    for name, p in ref["pretrained"].items():   # what each phase leaves alone
        if name.startswith("conv2."):
            assert torch.equal(p.float(), init[name]), name
    for name, p in model.state_dict().items():
        if name.startswith("projection."):
            assert torch.equal(p, ref["pretrained"][name]), name

    def write(name, array):
        np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tofile(
            os.path.join(out_dir, name))

    as_f32 = lambda t: np.asarray(t.detach().numpy() if torch.is_tensor(t) else t,  # noqa: E731
                                  dtype=np.float32)
    with open(os.path.join(out_dir, "train.init.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes(init))
    with open(os.path.join(out_dir, "train.trained.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes({k: v.float() for k, v in model.state_dict().items()}))
    write("train.x.f32", x)
    write("train.edge_index.i64", edge_index)
    write("train.y.i64", y)
    write("train.mask.bool", mask.astype(np.uint8))
    write("train.pretrain_grads.f32", as_f32(ref["pretrain_grads"]))
    write("train.pretrain_losses.f32", as_f32(ref["pretrain_losses"]))
    write("train.classify_grads.f32", as_f32(ref["classify_grads"]))
    write("train.classify_losses.f32", as_f32(ref["classify_losses"]))
    write("train.final_logits.f32", as_f32(ref["logits"]))
    write("train.final_heldout_loss.f32", as_f32(ref["heldout"]).reshape(1))

    def worst_rel(a, b):
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        return float(np.max(np.abs(a - b) / np.abs(b)))

    accuracy = int((ref["logits"].argmax(-1) == yt)[~mt].sum())
    labelled = int(mask.sum())
    print(f"graph: {N} nodes, {edge_index.shape[1]} directed edges, {labelled} labelled")
    print(f"pretrain: loss {ref['pretrain_losses'][0]:.4f} -> {ref['pretrain_losses'][-1]:.4f}; "
          f"classify: {ref['classify_losses'][0]:.4f} -> {ref['classify_losses'][-1]:.4f}; "
          f"held-out loss {float(ref['heldout']):.4f}, accuracy {accuracy} of {N - labelled}")
    losses = lambda r: r["pretrain_losses"] + r["classify_losses"]  # noqa: E731
    print("float32 torch vs reference: worst loss rel err "
          f"{worst_rel(losses(f32), losses(ref)):.2e}, "
          f"final logits {worst_rel(f32['logits'], ref['logits']):.2e}")
    write_readme(out_dir)


def write_readme(out_dir):
    common.replace_readme_section(out_dir, "## Training", README_SECTION)


if __name__ == "__main__":
    main(sys.argv)
