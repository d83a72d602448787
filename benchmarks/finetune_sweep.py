"""One MiniLM fine-tuning experiment on the carved AG News split (chapter 08 experiments).

    python benchmarks/make_split.py               # once: /tmp/ch08/exp_{train,test}.csv
    python benchmarks/finetune_sweep.py --rows 6000 --lr 2e-4 --pooling mean --amp bf16

Trains on the first ``--rows`` rows of a shuffled exp_train.csv for ``--epochs`` epochs
and evaluates on ``--test-rows`` rows of exp_test.csv. Prints accuracy, seconds and
examples per second, and appends one JSON line to benchmarks/sweep_results.jsonl.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import torch

from bigmodel_lib.finetune import FinetuneConfig, finetune, predict_texts, tokenize
from bigmodel_lib.models import load_pretrained_classifier

HERE = Path(__file__).resolve().parent


def read_rows(path: Path) -> tuple[list[str], list[int]]:
    def clean(text: str) -> str:
        for old, new in (("#39;", "'"), (" quot;", ' "'), ("#36;", "$"), (" amp;", " &"),
                         ("\\$", "$")):
            text = text.replace(old, new)
        text = re.sub(r"&lt;.*?&gt;", " ", text)
        return re.sub(r"\s+", " ", re.sub(r"\\+", " ", text)).strip()

    texts, labels = [], []
    with path.open(newline="") as handle:
        for label, title, description in csv.reader(handle):
            texts.append(f"{clean(title)}. {clean(description)}")
            labels.append(int(label) - 1)
    return texts, labels


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=6000)
    p.add_argument("--test-rows", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--warmup", type=float, default=0.1)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--pooling", default="mean")
    p.add_argument("--amp", default="bf16")
    p.add_argument("--freeze-emb", type=int, default=1)
    p.add_argument("--freeze-layers", type=int, default=0)
    p.add_argument("--time-budget-s", type=float, default=None)
    p.add_argument("--dropout", type=float, default=None)
    p.add_argument("--save-logits", type=Path, default=None, help="save test logits (.npy)")
    p.add_argument("--eval-lengths", default="", help="extra max lengths to score, e.g. 64,128")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", type=Path, default=Path("/tmp/ch08"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--note", default="")
    a = p.parse_args()
    amp = None if a.amp in ("none", "fp32") else a.amp
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    load_start = os.getloadavg()[0]

    texts, labels = read_rows(a.data / "exp_train.csv")
    order = np.random.default_rng(a.seed).permutation(len(texts))[: a.rows]
    texts, labels = [texts[i] for i in order], [labels[i] for i in order]
    test_texts, test_labels = read_rows(a.data / "exp_test.csv")
    test_texts, test_labels = test_texts[: a.test_rows], test_labels[: a.test_rows]

    t0 = time.perf_counter()
    model, tokenizer = load_pretrained_classifier("minilm", 4, pooling=a.pooling)
    config = FinetuneConfig(max_train=a.rows, max_length=a.max_length, epochs=a.epochs,
                            batch_size=a.batch, lr=a.lr, warmup=a.warmup,
                            weight_decay=a.weight_decay, freeze_embeddings=bool(a.freeze_emb),
                            freeze_layers=a.freeze_layers, dropout=a.dropout, amp=amp,
                            time_budget_s=a.time_budget_s)
    t1 = time.perf_counter()
    history = finetune(model, tokenizer, texts, labels, config, seed=a.seed, live_plot=False,
                       progress=False)
    t2 = time.perf_counter()
    test = tokenize(tokenizer, test_texts, test_labels, max_length=a.max_length)
    logits = predict_texts(model, test, batch_size=256, amp=amp)
    t3 = time.perf_counter()
    if a.save_logits is not None:
        np.save(a.save_logits, logits.numpy())
    extra = {}
    for length in filter(None, a.eval_lengths.split(",")):
        data = tokenize(tokenizer, test_texts, test_labels, max_length=int(length))
        guess = predict_texts(model, data, batch_size=256, amp=amp).argmax(1)
        extra[length] = round(float((guess == torch.tensor(test_labels)).float().mean()), 4)
    train = tokenize(tokenizer, texts, labels, max_length=a.max_length)
    trainable = sum(q.numel() for q in model.parameters() if q.requires_grad)
    losses = history["train_loss"]
    acc = float((logits.argmax(1) == torch.tensor(test_labels)).float().mean())
    result = dict(vars(a), data=str(a.data), save_logits=str(a.save_logits),
                  accuracy=round(acc, 4), eval_at_length=extra,
                  setup_s=round(t1 - t0, 1), train_s=round(t2 - t1, 1),
                  train_ex_s=round(history.examples_seen / (t2 - t1), 1),
                  seen=history.examples_seen,
                  eval_s=round(t3 - t2, 1), eval_ex_s=round(len(test) / (t3 - t2), 1),
                  mean_tokens=round(float(np.minimum(train.lengths, a.max_length).mean()), 1),
                  trainable=trainable, train_loss=round(float(losses[-1]), 4) if losses else None,
                  load=[round(load_start, 1), round(os.getloadavg()[0], 1)])
    print(json.dumps(result))
    with (HERE / "sweep_results.jsonl").open("a") as handle:
        handle.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
