#!/usr/bin/python3
"""Regenerates the fixtures of the seven seed models (docs/seed-models.md).

    /usr/bin/python3 scripts/references/generate_all.py [--verify] [NAME ...]

Writes examples/<name>/data/ for each NAME (default: all of them; clip trains for about
three minutes on one thread, the others take a second or two), and for a model with
training references (<name>_train.py, <name>_*_train.py) their fixtures too. With --verify, writes
into a temporary directory instead and checks that every file is byte-identical to the
one in examples/<name>/data/ (and that no file is missing or extra); exits 1 otherwise.
"""

import filecmp
import glob
import importlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402

MODELS = ["contrastive", "distill", "flamingo", "qformer", "gcn", "llava", "llama", "clip"]
HERE = os.path.dirname(os.path.abspath(__file__))


def generate(name, out_dir=None):
    """Runs <name>.py, then its training references <name>_train.py and
    <name>_*_train.py where they exist (they add to the same folder)."""
    trainers = sorted(glob.glob(os.path.join(HERE, f"{name}_train.py"))
                      + glob.glob(os.path.join(HERE, f"{name}_*_train.py")))
    scripts = [name] + [os.path.basename(t)[:-3] for t in trainers]
    for script in scripts:
        importlib.import_module(script).main([f"{script}.py"] + ([out_dir] if out_dir else []))


def main(argv):
    args = argv[1:]
    verify = "--verify" in args
    names = [a for a in args if a != "--verify"] or MODELS
    for name in names:
        if name not in MODELS:
            sys.exit(f"error: unknown model {name!r} (known: {' '.join(MODELS)})")
    failed = []
    for name in names:
        print(f"{name}:", flush=True)
        if not verify:
            generate(name)
            continue
        committed = common.default_out_dir(name)
        with tempfile.TemporaryDirectory() as tmp:
            generate(name, tmp)
            cmp = filecmp.dircmp(tmp, committed)
            _, mismatch, errors = filecmp.cmpfiles(tmp, committed, cmp.common_files,
                                                   shallow=False)
            problems = ([f"differs: {f}" for f in mismatch + errors]
                        + [f"missing from {committed}: {f}" for f in cmp.left_only]
                        + [f"not generated: {f}" for f in cmp.right_only])
        for p in problems:
            print(f"  {p}")
        if problems:
            failed.append(name)
        else:
            print(f"  all {len(cmp.common_files)} files byte-identical")
    if failed:
        sys.exit(f"error: fixtures differ for {' '.join(failed)}")


if __name__ == "__main__":
    main(sys.argv)
