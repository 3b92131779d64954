#!/usr/bin/python3
"""Charts of bench/'s results, drawn with Debian's python3-matplotlib.

    plot.py speed   bench.csv        -o speed.png      kiln-bench's timings (bench/run.sh)
    plot.py compile compile.csv      -o compile.png    kilnc's compile time (bench/compile_time.sh)
    plot.py train   results.txt      -o train.png      train steps, Kiln vs PyTorch (bench/train.sh)
    plot.py losses  losses.csv       -o losses.png     a training example's loss curve beside
                                                      PyTorch's (examples/*/train.c OUT_DIR)
    plot.py train-report results.txt                  bench/train.sh's tables, as text

The scripts in bench/ call it after each run. Without matplotlib it says so and
exits 0: charts are a convenience, the tables stay the record.
"""
import argparse
import collections
import csv
import sys


def read_speed(path):
    """{threads: {case: {column: median_ms}}} from kiln-bench's CSV."""
    cells = collections.defaultdict(lambda: collections.defaultdict(dict))
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            case = f"{row['group']} {row['case']}"
            cells[int(row["threads"])][case][row["column"]] = float(row["median_ms"])
    return cells


def plot_speed(plt, path, out):
    """Per thread count, each Kiln column's speed against the oneDNN chain's
    (its time over theirs, inverted: > 1 means Kiln is faster), per case."""
    from matplotlib.ticker import FuncFormatter
    cells = read_speed(path)
    names = sorted({name for cases in cells.values() for name in cases})

    def ratio(cases, name, column):
        base, ms = cases.get(name, {}).get("onednn"), cases.get(name, {}).get(column)
        return base / ms if base and ms else None

    # Only the Kiln columns this run built and timed.
    columns = [c for c in ("kiln-unfused", "kiln-native", "kiln-onednn", "kiln-auto")
               if any(ratio(cases, n, c) for cases in cells.values() for n in names)]
    ratios = [r for cases in cells.values() for n in names for c in columns
              if (r := ratio(cases, n, c))]
    if not ratios:  # a filtered run that timed no case beside the oneDNN chain
        print(f"plot.py: {path} has no case timed against the oneDNN chain; no chart",
              file=sys.stderr)
        return
    logarithmic = max(ratios) / min(ratios) > 8  # the op-by-op column spans decades
    fig, axes = plt.subplots(1, len(cells), figsize=(7 * len(cells), 0.7 * len(names) + 1.5),
                             squeeze=False)
    height = 0.8 / len(columns)
    for ax, (threads, cases) in zip(axes[0], sorted(cells.items())):
        for i, column in enumerate(columns):
            ys, xs = [], []
            for k, name in enumerate(names):
                if (r := ratio(cases, name, column)):
                    ys.append(k + (i - len(columns) / 2 + 0.5) * height)
                    xs.append(r)
            ax.barh(ys, xs, height=height, label=column)
        ax.axvline(1.0, color="black", linewidth=0.8)
        if logarithmic:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: ""))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}x"))
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xlabel("speed vs the oneDNN primitive chain (> 1: Kiln faster)")
        ax.set_title(f"{threads} thread{'s' if threads > 1 else ''}")
    axes[0][0].legend(loc="best", fontsize="small")
    fig.suptitle("kiln-bench: Kiln's builds against hand-written oneDNN")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def plot_compile(plt, path, out):
    """Wall time and peak memory of kilnc: the transformer stacks by depth (the
    curve that must stay linear), the other models as bars."""
    stacks, others = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                entry = (row["model"], float(row["seconds"]), float(row["peak_mib"]))
            except ValueError:  # a model that failed to compile
                continue
            (stacks if row["model"].startswith("stack") else others).append(entry)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    depths = [int(m.rsplit("=", 1)[1]) for m, _, _ in stacks]
    (time_line,) = left.plot(depths, [s for _, s, _ in stacks], "o-", label="wall time (s)")
    left.set_xlabel("transformer blocks (d 768, 12 heads, MLP 3072, symbolic batch)")
    left.set_ylabel("kilnc wall time (s)")
    memory = left.twinx()
    (memory_line,) = memory.plot(depths, [m for _, _, m in stacks], "s--", color="tab:orange",
                                 label="peak memory (MiB)")
    memory.set_ylabel("peak resident memory (MiB)")
    left.set_ylim(bottom=0)
    memory.set_ylim(bottom=0)
    left.legend(handles=[time_line, memory_line], loc="upper left")
    left.set_title("compile time by depth")
    right.barh([m for m, _, _ in others], [s for _, s, _ in others])
    right.invert_yaxis()
    right.set_xlabel("kilnc wall time (s)")
    right.set_title("models")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def read_train(path):
    """bench/train.sh's results: times {(threads, case): {kiln|torch: ms}},
    memory {case: {kiln|torch: MB}}, pairs [(case, threads, fused ms, other ms,
    fused MB, other MB)]."""
    ms, mb, pairs = collections.defaultdict(dict), collections.defaultdict(dict), []
    for line in open(path):
        fields = line.split()
        if not fields:
            continue
        if fields[0] in ("kilnmem", "torchmem"):
            mb[fields[1]][fields[0][:-len("mem")]] = float(fields[3])
        elif fields[0] == "pair":
            case, threads, fast, slow, fast_mb, slow_mb = fields[1:7]
            pairs.append((case, threads, float(fast), float(slow), float(fast_mb), float(slow_mb)))
        elif len(fields) > 1 and fields[1] in ("kiln", "torch"):
            threads, column, case, _, value = fields
            ms[(threads[len("threads="):], case)][column] = float(value)
    return ms, mb, pairs


def train_report(path):
    ms, mb, pairs = read_train(path)
    print("== Kiln vs PyTorch (time ratio; < 1: Kiln faster)")
    print(f"{'threads':8} {'case':22} {'kiln ms':>9} {'torch ms':>9} {'kiln/torch':>11}")
    for (threads, case), v in sorted(ms.items()):
        print(f"{threads:8} {case:22} {v['kiln']:9.3f} {v['torch']:9.3f} "
              f"{v['kiln'] / v['torch']:11.2f}")
    print("== fused vs what it replaces (time and step memory; < 1: the fused build wins)")
    for case, threads, fast, slow, fast_mb, slow_mb in pairs:
        print(f"{case:22} {threads} thread(s): {fast:8.2f} vs {slow:8.2f} ms "
              f"({fast / slow:.2f}), {fast_mb:.1f} vs {slow_mb:.1f} MB")
    print("== memory of one train call (Kiln: the step's arena, gradients included; "
          "torch: profiled peak of the step)")
    print(f"{'case':22} {'kiln MB':>9} {'torch MB':>9} {'kiln/torch':>11}")
    for case, v in sorted(mb.items()):
        if "kiln" in v and "torch" in v:
            print(f"{case:22} {v['kiln']:9.1f} {v['torch']:9.1f} {v['kiln'] / v['torch']:11.2f}")


def plot_train(plt, path, out):
    """Step time and step memory, Kiln over PyTorch (< 1: Kiln better)."""
    ms, mb, _ = read_train(path)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4))
    labels = [f"{case} ({threads} thr)" for threads, case in sorted(ms)]
    left.barh(labels, [v["kiln"] / v["torch"] for _, v in sorted(ms.items())])
    left.axvline(1.0, color="black", linewidth=0.8)
    left.set_xscale("log")
    left.invert_yaxis()
    left.set_xlabel("train step time, Kiln / PyTorch (log; < 1: Kiln faster)")
    both = sorted(c for c, v in mb.items() if "kiln" in v and "torch" in v)
    right.barh(both, [mb[c]["kiln"] / mb[c]["torch"] for c in both])
    right.axvline(1.0, color="black", linewidth=0.8)
    right.invert_yaxis()
    right.set_xlabel("memory of one step, Kiln / PyTorch (< 1: Kiln smaller)")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def plot_losses(plt, path, out):
    """One panel per phase: Kiln's losses and PyTorch's, step by step."""
    phases = collections.defaultdict(lambda: ([], [], []))
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            steps, kiln, torch = phases[row["phase"]]
            steps.append(int(row["step"]))
            kiln.append(float(row["kiln"]))
            torch.append(float(row["pytorch"]) if row["pytorch"] else float("nan"))
    fig, axes = plt.subplots(1, len(phases), figsize=(6 * len(phases), 4), squeeze=False)
    for ax, (phase, (steps, kiln, torch)) in zip(axes[0], phases.items()):
        ax.plot(steps, torch, color="tab:orange", linewidth=3, alpha=0.5, label="PyTorch")
        ax.plot(steps, kiln, color="tab:blue", linewidth=1, label="Kiln")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(phase)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["speed", "compile", "train", "losses", "train-report"])
    parser.add_argument("input")
    parser.add_argument("-o", "--output", help="the PNG to write")
    args = parser.parse_args()
    if args.kind == "train-report":
        train_report(args.input)
        return 0
    if not args.output:
        parser.error("-o is required for a chart")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"(no chart {args.output}: install Debian's python3-matplotlib)")
        return 0
    draw = {"speed": plot_speed, "compile": plot_compile, "train": plot_train,
            "losses": plot_losses}[args.kind]
    draw(plt, args.input, args.output)
    print(f"chart: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
