"""Carve a held-out test file out of the shared AG News training rows (chapter 08 experiments).

    python benchmarks/make_split.py [--test-rows 7600] [--out /tmp/ch08]

Writes ``exp_train.csv`` and ``exp_test.csv`` (AG News format, rows copied byte for
byte) so that ``python -m bigmodel_lib.bench news --train ... --test ...`` can be judged on
rows it never trained on. The split is random (seed 0) and stratified by nothing: with
four balanced classes the class counts come out close to equal.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/work/shared/data/ag_news/train.csv"))
    parser.add_argument("--test-rows", type=int, default=7600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/ch08"))
    args = parser.parse_args()
    lines = args.source.read_text(encoding="utf-8").splitlines(keepends=True)
    order = np.random.default_rng(args.seed).permutation(len(lines))
    test = set(order[: args.test_rows].tolist())
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "exp_train.csv").open("w") as train_file, \
            (args.out / "exp_test.csv").open("w") as test_file:
        for index, line in enumerate(lines):
            (test_file if index in test else train_file).write(line)
    print(f"{len(lines) - len(test)} training rows -> {args.out / 'exp_train.csv'}")
    print(f"{len(test)} test rows -> {args.out / 'exp_test.csv'}")


if __name__ == "__main__":
    main()
