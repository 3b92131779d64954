#!/usr/bin/python3
"""The bench/train models in PyTorch: writes their seeded weights (for Kiln) and
times the same train steps.

    /usr/bin/python3 bench/train/torch_train.py weights OUT_DIR
    /usr/bin/python3 bench/train/torch_train.py time THREADS STEPS
    LD_PRELOAD=libheap_meter.so /usr/bin/python3 bench/train/torch_train.py memory

`memory` prints the heap peak of one warm step beyond the weights and optimizer state,
read from bench/train/heap_meter.c (preloaded); without it, the profiler's lower bound.

KILN_TRAIN_GPT=1 adds the 135 M-parameter decoder (1 warm-up and 3 timed steps).
"""
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "scripts", "references"))
import common  # noqa: E402


class Mlp784(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 256), nn.Linear(256, 10)

    def loss(self, x, y):
        return F.cross_entropy(self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x))))), y)


class InfoNce(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Parameter(torch.randn(256, 512))
        self.text = nn.Parameter(torch.randn(256, 512))
        self.logit_scale = nn.Parameter(torch.tensor(2.659))

    def loss(self):
        logits = self.logit_scale.exp() * F.normalize(self.image) @ F.normalize(self.text).T
        labels = torch.arange(256)
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2


class Block(nn.Module):
    """stdlib/nn.kiln's TransformerBlock(512, 8, 2048) under the same state_dict names."""
    def __init__(self):
        super().__init__()
        self.block = common.TransformerBlock(512, 8, 2048)

    def loss(self, x, target):
        d = self.block(x) - target
        return (d * d).mean()


class Gpt(nn.Module):
    """bench/train/gpt.kiln under the same state_dict names."""
    def __init__(self, vocab=32000, d=768, heads=12, depth=12, context=1024):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(vocab, d), nn.Embedding(context, d)
        self.layers = nn.ModuleList([common.TransformerBlock(d, heads, 4 * d)
                                     for _ in range(depth)])
        self.ln_final = common.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def loss(self, ids, targets):
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1]))
        for layer in self.layers:
            x = layer.causal(x)
        logits = self.head(self.ln_final(x))
        return F.cross_entropy(logits.flatten(0, 1), targets.flatten())


def models():
    torch.manual_seed(0)
    chosen = {"mlp784": Mlp784(), "infonce": InfoNce(), "block": Block()}
    if os.environ.get("KILN_TRAIN_GPT") == "1":
        chosen["gpt"] = Gpt()
    return chosen


def weights(out_dir):
    for name, model in models().items():
        with open(os.path.join(out_dir, f"{name}.safetensors"), "wb") as f:
            f.write(common.safetensors_bytes(model.state_dict()))
    # Kiln only (fused vs what it replaces): bench/train/rmsnorm_{op,composed}.kiln,
    # kd.kiln and clip4096.kiln.
    with open(os.path.join(out_dir, "rmsnorm.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes({"s": torch.linspace(0.8, 1.2, 1024),
                                          "w": torch.linspace(0.5, 1.5, 1024)}))
    with open(os.path.join(out_dir, "kd.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes({"s": torch.randn(512, 32000) * 3}))
    with open(os.path.join(out_dir, "clip4096.safetensors"), "wb") as f:
        f.write(common.safetensors_bytes({"image": torch.randn(4096, 512),
                                          "text": torch.randn(4096, 512),
                                          "logit_scale": torch.tensor(2.6592)}))


def inputs(name):
    if name == "mlp784":
        i = torch.arange(128 * 784, dtype=torch.int64)
        return ((i * 2654435761) % 1000).float().reshape(128, 784) / 1000, torch.arange(128) % 10
    if name == "block":
        i = torch.arange(8 * 128 * 512, dtype=torch.int64)
        x = ((i * 2654435761) % 1000).float() / 500 - 1
        t = ((i * 40503) % 1000).float() / 500 - 1
        return x.reshape(8, 128, 512), t.reshape(8, 128, 512)
    if name == "gpt":
        i = torch.arange(4 * 128, dtype=torch.int64)
        return (i * 2654435761 % 32000).reshape(4, 128), ((i * 40503 + 7) % 32000).reshape(4, 128)
    return ()


def train_steps():
    """Each model's name, bench case, optimizer and one train step on its inputs."""
    cases = {"mlp784": ("mlp784_sgd_b128", lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9)),
             "infonce": ("infonce_256x512", lambda p: torch.optim.SGD(p, lr=0.01)),
             "block": ("block_adamw_b8_s128",
                       lambda p: torch.optim.AdamW(p, lr=1e-4, weight_decay=0.01)),
             "gpt": ("gpt135m_adamw_b4_s128",
                     lambda p: torch.optim.AdamW(p, lr=3e-4, weight_decay=0.1))}
    for name, model in models().items():
        case, make = cases[name]
        optimizer = make(model.parameters())
        args = inputs(name)

        def step(model=model, optimizer=optimizer, args=args, clip=name == "gpt"):
            optimizer.zero_grad(set_to_none=True)
            model.loss(*args).backward()
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        yield name, case, optimizer, step


def time_steps(threads, steps):
    torch.set_num_threads(threads)
    for name, case, _, step in train_steps():
        warm, timed = (1, 3) if name == "gpt" else (3, steps)
        for _ in range(warm):
            step()
        times = []
        for _ in range(timed):
            start = time.perf_counter()
            step()
            times.append((time.perf_counter() - start) * 1e3)
        times.sort()
        print(f"torch {case} ms {times[len(times) // 2]:.3f}", flush=True)


def step_memory():
    torch.set_num_threads(1)
    meter = heap_meter()
    for name, case, optimizer, step in train_steps():
        for _ in range(1 if name == "gpt" else 3):
            step()
        if meter:
            optimizer.zero_grad(set_to_none=True)  # as the step itself would, first
            mb = metered_peak_bytes(meter, step) / 1e6
        else:
            mb = profiled_peak_bytes(step) / 1e6
        print(f"torchmem {case} MB {mb:.2f}", flush=True)


def heap_meter():
    """bench/train/heap_meter.c's counters when it is preloaded, else None."""
    import ctypes
    process = ctypes.CDLL(None)
    try:
        reset, peak = process.heap_meter_reset, process.heap_meter_peak
    except AttributeError:
        return None
    reset.restype = peak.restype = ctypes.c_longlong
    return reset, peak


def metered_peak_bytes(meter, step):
    """The most heap bytes a warm step holds beyond the weights and optimizer state
    (activations, gradients and every temporary, each op's transients included), the
    gradients of the step before being dropped already."""
    reset, peak = meter
    base = reset()
    step()
    return peak() - base


def profiled_peak_bytes(step):
    """A lower bound of metered_peak_bytes from the profiler: its per-op allocations net of
    frees, summed in the order the ops started, miss each op's own transient peak."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    live = peak = 0
    for event in sorted(prof.events(), key=lambda e: e.time_range.start):
        live += event.self_cpu_memory_usage
        peak = max(peak, live)
    return peak


if __name__ == "__main__":
    if sys.argv[1] == "weights":
        weights(sys.argv[2])
    elif sys.argv[1] == "memory":
        step_memory()
    else:
        time_steps(int(sys.argv[2]), int(sys.argv[3]))
