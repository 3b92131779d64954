#!/usr/bin/python3
"""gcn: graph convolution and graph contrastive learning (docs/seed-models.md).

    conv1 = GCNConv(16, 32), conv2 = GCNConv(32, 7), projection = Mlp(32, 64), temperature 0.5
    forward(x: f32[N, 16], edge_index: i64[2, E]) -> f32[N, 7] = conv2(relu(conv1(x)))
    contrastive_loss(x1: f32[N, 16], edges1: i64[2, E1], x2: f32[N, 16], edges2: i64[2, E2]) -> f32
        z_v = normalize(projection(relu(conv1(x_v, edges_v)))) for v = 1, 2
        NT-Xent (SimCLR) over the 2N rows of z = concat(z_1, z_2):
          s = z @ z^T / temperature, the diagonal excluded (-inf), the positive of row i is
          row i + N (and of row N + i, row i);
          loss = mean over the 2N rows of -log_softmax(s)[row, positive]

Usage: /usr/bin/python3 scripts/references/gcn.py [OUT_DIR]
"""

import sys

import numpy as np
import torch
from torch import nn

import common

SEED = 5
N = 12
E = 30
TEMPERATURE = 0.5


class GCN(nn.Module):
    def __init__(self, temperature=TEMPERATURE):
        super().__init__()
        self.conv1 = common.GCNConv(16, 32)
        self.conv2 = common.GCNConv(32, 7)
        self.projection = common.Mlp(32, 64)
        self.temperature = temperature

    def forward(self, x, edge_index):
        return self.conv2(torch.relu(self.conv1(x, edge_index)), edge_index)

    def embed(self, x, edge_index):
        return common.l2_normalize(self.projection(torch.relu(self.conv1(x, edge_index))))

    def contrastive_loss(self, x1, edges1, x2, edges2):
        z = torch.cat([self.embed(x1, edges1), self.embed(x2, edges2)], dim=0)   # [2N, 32]
        n = x1.shape[0]
        s = z @ z.t() / self.temperature
        s = s.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        positive = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
        return -torch.log_softmax(s, dim=-1)[torch.arange(2 * n), positive].mean()


def random_edges(rng, n, e):
    """e distinct directed edges (j -> i), no self loops, in a random order."""
    pairs = [(j, i) for j in range(n) for i in range(n) if i != j]
    pick = rng.choice(len(pairs), size=e, replace=False)
    return np.array([pairs[k] for k in pick], dtype=np.int64).T      # [2, e]


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("gcn")
    rng = common.setup(SEED)
    model = GCN().eval()
    common.randomize_norms(model)   # GCN biases start at zero

    x1 = torch.from_numpy(rng.standard_normal((N, 16)).astype(np.float32))
    e1 = random_edges(rng, N, E)
    # Second view: drop 6 edges, add 2 new ones, mask 20% of the features, add noise.
    keep = np.sort(rng.choice(E, size=E - 6, replace=False))
    existing = set(map(tuple, e1.T.tolist()))
    extra = [p for p in map(tuple, random_edges(rng, N, 10).T.tolist()) if p not in existing][:2]
    e2 = np.concatenate([e1[:, keep], np.array(extra, dtype=np.int64).T], axis=1)
    feature_mask = rng.random((N, 16)) >= 0.2
    x2 = torch.from_numpy((x1.numpy() * feature_mask
                           + 0.1 * rng.standard_normal((N, 16))).astype(np.float32))
    e1, e2 = torch.from_numpy(e1), torch.from_numpy(e2)
    assert e2.shape == (2, E - 4)

    fx = common.Fixtures("gcn", out_dir)
    fx.weights(model, "PyTorch-default init (seed 5); GCN biases N(0, 0.1) instead of zero")
    xd = f"node features of view 1 (N = {N}), N(0, 1)"
    ed = (f"view 1: E = {E} distinct directed edges, no self loops; row 0 = source, "
          "row 1 = target")
    common.entry(fx, model, "forward", lambda m, a, b: m(a, b), (x1, e1), ("x", "edge_index"),
                 ("f32", "i64"), "f32", (xd, ed), "`conv2(relu(conv1(x)))`")
    common.entry(fx, model, "contrastive_loss",
                 lambda m, a, b, c, d: m.contrastive_loss(a, b, c, d),
                 (x1, e1, x2, e2), ("x1", "edges1", "x2", "edges2"), ("f32", "i64", "f32", "i64"),
                 "f32",
                 (xd + " (same as forward.x)", ed + " (same as forward.edge_index)",
                  "view 2: x1 with 20% of the entries zeroed, plus 0.1 N(0, 1)",
                  f"view 2: E2 = {E - 4}: view 1's edges less 6 (order kept), then 2 new edges"),
                 "the NT-Xent loss (a scalar)", out_shape=[])
    fx.readme("gcn fixtures", f"""
A two-layer GCN and a graph contrastive (GRACE/SimCLR-style) head. `GCNConv(in, out)`:
`h = lin(x)`, `deg[i] = 1 + #edges with target i`,
`out[i] = bias + h[i] / deg[i] + sum over edges j -> i of h[j] / sqrt(deg[i] deg[j])`.
Entries (N, E, E1, E2 symbolic; N = {N}, E = E1 = {E}, E2 = {E - 4} here):
`forward(x: f32[N, 16], edge_index: i64[2, E]) -> f32[N, 7]` = `conv2(relu(conv1(x)))`;
`contrastive_loss(x1: f32[N, 16], edges1: i64[2, E1], x2: f32[N, 16], edges2: i64[2, E2]) -> f32`:
`z_v = normalize(projection(relu(conv1(x_v, edges_v))))` (L2 over the last dim),
`z = concat(z_1, z_2)` (`[2N, 32]`), `s = z @ z^T / 0.5` with the diagonal set to -inf,
loss = mean over the 2N rows r of `-log_softmax(s[r])[p(r)]`, `p(r) = r + N` for `r < N`,
`r - N` otherwise (SimCLR's NT-Xent: the other view's same node is the positive, the
2N - 2 other rows of both views the negatives).
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
