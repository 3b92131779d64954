#!/usr/bin/python3
"""distill: knowledge distillation of an MLP teacher into a smaller student (docs/seed-models.md).

    teacher = Mlp3(32, 64, 10), student = Mlp3(32, 16, 10); Mlp3(d, h, c) = fc2(relu(fc1(x)))
    student_logits(x: f32[B, 32]) -> f32[B, 10], teacher_logits(x: f32[B, 32]) -> f32[B, 10]
    loss(x: f32[B, 32], y: i64[B]) -> f32
        = alpha * T^2 * kl_div(log_softmax(s/T), softmax(t/T), batchmean) + (1 - alpha) * CE(s, y)
    with T = 4.0, alpha = 0.7.

Usage: /usr/bin/python3 scripts/references/distill.py [OUT_DIR]
"""

import sys

import torch
import torch.nn.functional as F
from torch import nn

import common

SEED = 6
B = 6
T = 4.0
ALPHA = 0.7


class Mlp3(nn.Module):
    def __init__(self, d, h, c):
        super().__init__()
        self.fc1 = common.Linear(d, h)
        self.fc2 = common.Linear(h, c)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


class Distill(nn.Module):
    def __init__(self, temperature=T, alpha=ALPHA):
        super().__init__()
        self.teacher = Mlp3(32, 64, 10)
        self.student = Mlp3(32, 16, 10)
        self.temperature, self.alpha = temperature, alpha

    def student_logits(self, x):
        return self.student(x)

    def teacher_logits(self, x):
        return self.teacher(x)

    def loss(self, x, y):
        t, s = self.teacher(x), self.student(x)
        temp = self.temperature
        kl = F.kl_div(F.log_softmax(s / temp, dim=-1), F.softmax(t / temp, dim=-1),
                      reduction="batchmean")
        ce = F.cross_entropy(s, y)
        return self.alpha * temp * temp * kl + (1 - self.alpha) * ce


def main(argv):
    out_dir = argv[1] if len(argv) > 1 else common.default_out_dir("distill")
    common.setup(SEED)
    model = Distill().eval()
    with torch.no_grad():   # a sharper teacher, so its soft targets are far from uniform
        model.teacher.fc2.weight.mul_(4.0)
    x = torch.randn(B, 32)
    y = torch.randint(0, 10, (B,))

    fx = common.Fixtures("distill", out_dir)
    fx.weights(model, "PyTorch-default init (seed 6), teacher.fc2.weight scaled by 4")
    xd = f"B = {B} rows, N(0, 1)"
    common.entry(fx, model, "student_logits", lambda m, a: m.student_logits(a), (x,), ("x",),
                 ("f32",), "f32", (xd,), "student logits")
    common.entry(fx, model, "teacher_logits", lambda m, a: m.teacher_logits(a), (x,), ("x",),
                 ("f32",), "f32", (xd,), "teacher logits")
    common.entry(fx, model, "loss", lambda m, a, b: m.loss(a, b), (x, y), ("x", "y"),
                 ("f32", "i64"), "f32", (xd, "labels, uniform in [0, 10)"),
                 "the distillation loss (a scalar)", out_shape=[])
    fx.readme("distill fixtures", f"""
Knowledge distillation. `teacher = Mlp3(32, 64, 10)`, `student = Mlp3(32, 16, 10)`,
`Mlp3(d, h, c) = fc2(relu(fc1(x)))`. Entries (B symbolic, B = {B} here):
`student_logits(x: f32[B, 32]) -> f32[B, 10]`, `teacher_logits(x) -> f32[B, 10]`,
`loss(x: f32[B, 32], y: i64[B]) -> f32` =
`alpha * T^2 * kl_div(log_softmax(s/T), softmax(t/T), reduction="batchmean") + (1 - alpha) * CE(s, y)`
with `T = 4.0`, `alpha = 0.7`, `s`/`t` the student/teacher logits; batchmean = the sum
over all elements of `p_t * (log p_t - log_softmax(s/T))` divided by B; CE the mean
cross-entropy of the (untempered) student logits.
""")
    print(f"wrote {fx.out_dir}")


if __name__ == "__main__":
    main(sys.argv)
