"""Fine-tuning and evaluation throughput of MiniLM on real AG News rows (chapter 08).

    python benchmarks/throughput.py [--rows 512] [--threads 2] [--repeats 2]

Runs ``finetune`` (the library's code path: dynamic padding, length buckets, ``fit``)
on ``--rows`` rows for each setting below, then ``predict_texts`` on the same rows, and
prints examples per second. Settings are interleaved and repeated so that a change in
the machine's load hits all of them alike; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from finetune_sweep import read_rows  # noqa: E402

from bigmodel_lib.finetune import CPU_DEFAULTS, finetune, predict_texts, tokenize  # noqa: E402
from bigmodel_lib.models import load_pretrained_classifier  # noqa: E402

SETTINGS = {  # name: changes to CPU_DEFAULTS
    "fp32": dict(amp=None),
    "bf16": dict(amp="bf16"),
    "bf16 train-emb": dict(amp="bf16", freeze_embeddings=False),
    "bf16 len48": dict(amp="bf16", max_length=48),
    "bf16 len40": dict(amp="bf16", max_length=40),
    "bf16 batch64": dict(amp="bf16", batch_size=64),
    "bf16 freeze2": dict(amp="bf16", freeze_layers=2),
    "bf16 freeze3": dict(amp="bf16", freeze_layers=3),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=512)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--only", nargs="*", default=None)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    texts, labels = read_rows(Path("/tmp/ch08/exp_train.csv"))
    texts, labels = texts[: a.rows], labels[: a.rows]
    names = a.only or list(SETTINGS)
    results: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    print(f"threads={a.threads} rows={a.rows} load={os.getloadavg()}", flush=True)
    for _, name in itertools.product(range(a.repeats), names):
        config = replace(CPU_DEFAULTS, max_train=None, **SETTINGS[name])
        model, tokenizer = load_pretrained_classifier("minilm", 4)
        start = time.perf_counter()
        history = finetune(model, tokenizer, texts, labels, config, live_plot=False,
                           progress=False)
        train = history.examples_seen / (time.perf_counter() - start)
        data = tokenize(tokenizer, texts, max_length=config.max_length)
        start = time.perf_counter()
        predict_texts(model, data, amp=config.amp)
        evaluation = len(texts) / (time.perf_counter() - start)
        results[name].append((train, evaluation))
        print(f"{name:16s} train {train:6.1f} ex/s   eval {evaluation:6.1f} ex/s   "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    print("best of each:")
    for name, runs in results.items():
        print(f"{name:16s} train {max(r[0] for r in runs):6.1f} ex/s   "
              f"eval {max(r[1] for r in runs):6.1f} ex/s")


if __name__ == "__main__":
    main()
