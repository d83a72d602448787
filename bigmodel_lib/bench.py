"""Benchmark news-topic classifiers on CSV files: accuracy, F1 and cost (chapter 08).

    python -m bigmodel_lib.bench news --train TRAIN.csv --test TEST.csv
        [--model minilm|tfidf|bilstm|<hub id>] [--max-train N] [--max-length L]
        [--epochs E] [--time-budget-s S] [--seed K] [--out results.json]

Both files are AG News CSVs (no header: label 1..K, title, description) or CSVs with a
``label,text`` header (string or integer labels), read by ``news.read_news_csv``. The
classes come from the training file; test rows are matched to them by label name, and
a test label the training file never had is an error (the model cannot predict it).

Models:

- ``minilm``: the packaged all-MiniLM-L6-v2, fine-tuned with the chapter's measured CPU
  recipe (``finetune.CPU_DEFAULTS``: the notebook's default settings);
- any other name: a Hugging Face hub id (e.g. ``bert-base-uncased``; the online ``gpu``
  profile only, ``models.resolve_model_name``) or a local model folder, loaded with
  ``from_pretrained`` and fine-tuned the same
  way (``GPU_DEFAULTS`` on a CUDA device);
- ``tfidf``: TF-IDF of words and word pairs + a linear SVM (scikit-learn);
- ``bilstm``: chapter 07's BiLSTM, trained from scratch;
- ``minilm+tfidf`` (or ``<hub id>+tfidf``): an ensemble (chapter 06) that averages the
  fine-tuned encoder's class probabilities with TF-IDF's (softmax of 3x the SVM scores).
  It is *not* the encoder alone: the two make different mistakes.

It prints and writes (``--out``, JSON) accuracy, macro-F1 (the mean F1 over the classes
that occur in the test labels or the predictions), per-class precision, recall and F1
(every training class), training and evaluation seconds and examples per second.

``--time-budget-s`` bounds the *training* time (default for the encoders on a CPU:
``CPU_DEFAULTS.time_budget_s``, 290 s): training stops after the batch that passes it,
and the learning rate is annealed to reach zero by then. Loading and evaluation come on
top; the whole test file is always scored. TF-IDF trains in one piece and ignores it.

Every numeric option is checked (``check_options``, then the model's config) before a
file is read or anything trains; ``--out`` is checked before training (it may not be one
of the input files, and must be a writable file path) and written atomically. Every
expected failure is one ``bench: error: ...`` line and exit code 2.

On a machine shared with other work, torch's two-thread kernels can slow down many
times over (each waits for the other at every step); ``--threads 1``, or
``OMP_WAIT_POLICY=PASSIVE`` set before Python starts, avoids that
(``benchmarks/NOTES.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bigmodel_lib import _args
from bigmodel_lib.baselines import make_config, run_model

MODELS = ("minilm", "tfidf", "bilstm", "minilm+tfidf")  # besides any hub id


# --------------------------------------------------------------------------- data


def read_train_test(train_path: str | Path, test_path: str | Path):
    """The training split and the test texts with labels in the *training* numbering.

    Returns ``(train, test_texts, test_labels)``; ``train`` is a ``NewsSplit`` whose
    ``label_names`` are the classes.
    """
    from bigmodel_lib.news import read_news_csv

    train = read_news_csv(train_path)
    present = sorted(set(train.labels))
    if len(present) < 2:  # before the test file is read, so that the error names this file
        names = [train.label_names[i] for i in present]
        raise ValueError(f"{train_path}: the training file has {len(present)} class {names}; "
                         "a classifier needs at least 2 classes")
    # Class numbers in the test file mean what they mean in the training file, even when
    # a small test file lacks the first class.
    test = read_news_csv(test_path, first_label=train.first_label,
                         num_classes=len(train.label_names) if train.first_label is not None else None)
    index = {name: i for i, name in enumerate(train.label_names)}
    unseen = sorted({test.label_names[y] for y in test.labels} - set(index))
    if unseen:
        raise ValueError(f"{test_path}: test labels {unseen} do not occur in the training file "
                         f"{train_path} (its classes: {train.label_names}); a model trained on "
                         "it cannot predict them")
    test_labels = [index[test.label_names[y]] for y in test.labels]
    return train, list(test.texts), test_labels


# --------------------------------------------------------------------------- report


def scores(y_true, y_pred, label_names: list[str]) -> dict[str, Any]:
    """Accuracy, macro-F1 and per-class precision / recall / F1 / support.

    The per-class rows cover every training class (a class absent from the test file has
    support 0); macro-F1 averages the classes present in the labels or the predictions,
    as scikit-learn does.
    """
    from bigmodel_lib.metrics import accuracy, precision_recall_f1

    classes = list(range(len(label_names)))
    precision, recall, f1, support = precision_recall_f1(y_true, y_pred, None, labels=classes)
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(label_names, precision, recall, f1, support, strict=True)
    }
    present = sorted(set(np.asarray(y_true).tolist()) | set(np.asarray(y_pred).tolist()))
    return {"accuracy": accuracy(y_true, y_pred),
            "macro_f1": precision_recall_f1(y_true, y_pred, "macro", labels=present)[2],
            "per_class": per_class}


def check_options(*, max_train: Any = None, max_length: Any = None, epochs: Any = None,
                  time_budget_s: Any = None, seed: Any = 0, threads: Any = None) -> dict[str, Any]:
    """Every numeric option of the command, checked in one place (named as on the command line)."""
    def count(name: str, value: Any, minimum: int = 1) -> int | None:
        return None if value is None else _args.integer(name, value, minimum=minimum)

    return {"max_train": count("--max-train", max_train), "max_length": count("--max-length", max_length),
            "epochs": count("--epochs", epochs), "seed": count("--seed", seed, 0),
            "threads": count("--threads", threads),
            "time_budget_s": None if time_budget_s is None else _args.real(
                "--time-budget-s", time_budget_s, above=0, expected="a positive number of seconds")}


def benchmark_news(train: str | Path, test: str | Path, model: str = "minilm", *,
                   max_train: int | None = None, max_length: int | None = None,
                   epochs: int | None = None, time_budget_s: float | None = None,
                   seed: int = 0, threads: int | None = None) -> dict[str, Any]:
    """Train ``model`` on the ``train`` CSV, score it on the ``test`` CSV; return the results.

    Every option is checked, and the model's settings made, before a file is read.
    """
    options = check_options(max_train=max_train, max_length=max_length, epochs=epochs,
                            time_budget_s=time_budget_s, seed=seed, threads=threads)
    seed, threads = options.pop("seed"), options.pop("threads")
    config = make_config(model.removesuffix("+tfidf"), **options)
    if threads is not None:
        torch.set_num_threads(threads)
    from bigmodel_lib.env import seed_everything
    from bigmodel_lib.models import resolve_model_name

    resolve_model_name(model.removesuffix("+tfidf"), local_names=MODELS)  # offline: at once
    seed_everything(seed)
    load_before = _load_average()
    wall = time.perf_counter()
    train_split, test_texts, test_labels = read_train_test(train, test)
    names = list(train_split.label_names)
    run = run_model(model, list(train_split.texts), list(train_split.labels), test_texts, len(names),
                    config=config, seed=seed, threads=threads)
    seen, train_s, eval_s = run.examples_seen, run.train_s, run.eval_s
    result = {
        "model": model, "train_file": str(train), "test_file": str(test),
        "train_rows_in_file": len(train_split), "test_rows": len(test_texts),
        "classes": names, "seed": seed, "time_budget_s": options["time_budget_s"],
        **scores(test_labels, run.predictions, names),
        "train_seconds": train_s, "train_examples": seen,
        "train_examples_per_s": seen / train_s if train_s > 0 else float("inf"),
        "eval_seconds": eval_s,
        "eval_examples_per_s": len(test_texts) / eval_s if eval_s > 0 else float("inf"),
        "total_seconds": time.perf_counter() - wall,
        "threads": torch.get_num_threads(),
        "load_average_1min": [load_before, _load_average()],
        "details": run.details,
    }
    return result


def check_out(out: Path, inputs: list[Path]) -> Path:
    """Check before any work that ``out`` can take the results without destroying anything."""
    target = Path(out).expanduser().resolve()
    for path in inputs:
        if Path(path).expanduser().resolve() == target:
            raise ValueError(f"--out {out} is the input file {path}: it would be overwritten; "
                             "choose another file for the results")
    if target.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name, e.g. {Path(out) / 'results.json'}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise ValueError(f"--out {out} cannot be written ({err.strerror or err}); choose a file in a "
                         "folder you can write to") from err
    return target


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _load_average() -> float | None:
    """The 1-minute load average (how busy the machine was), where the OS reports one."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def format_report(result: dict[str, Any]) -> str:
    """The human-readable summary that the command prints."""
    lines = [
        f"model {result['model']}: trained on {result['train_file']} "
        f"({result['train_rows_in_file']:,} rows, {len(result['classes'])} classes), "
        f"tested on {result['test_file']} ({result['test_rows']:,} rows)",
        f"accuracy  {result['accuracy']:.4f}",
        f"macro-F1  {result['macro_f1']:.4f}",
        "",
        f"{'class':<16} {'precision':>9} {'recall':>9} {'F1':>9} {'support':>9}",
    ]
    for name, row in result["per_class"].items():
        lines.append(f"{name[:16]:<16} {row['precision']:>9.4f} {row['recall']:>9.4f} "
                     f"{row['f1']:>9.4f} {row['support']:>9,}")
    lines += [
        "",
        f"training    {result['train_seconds']:8.1f} s  {result['train_examples']:>8,} examples  "
        f"{result['train_examples_per_s']:8.1f} examples/s",
        f"evaluation  {result['eval_seconds']:8.1f} s  {result['test_rows']:>8,} examples  "
        f"{result['eval_examples_per_s']:8.1f} examples/s",
        f"total       {result['total_seconds']:8.1f} s  (reading files and loading included; "
        f"{result['threads']} threads; 1-min load average {result['load_average_1min'][0]} "
        f"-> {result['load_average_1min'][1]})",
    ]
    details = result.get("details", {})
    settings = details.get("config")
    if settings:
        shown = ", ".join(f"{k}={v}" for k, v in settings.items())
        lines.append(f"settings: {shown}" + (f"; amp={details['amp']}" if "amp" in details else ""))
    if details.get("stop_reason"):
        lines.append(f"stopped: {details['stop_reason']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["speed"]:  # chapter 10: python -m bigmodel_lib.bench speed [--out FILE]
        from bigmodel_lib.speed import main as speed_main
        return speed_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bigmodel_lib.bench",
                                     description="Benchmarks of the course's models.")
    commands = parser.add_subparsers(dest="command", required=True)
    news = commands.add_parser("news", help="news-topic classification on CSV files",
                               description=__doc__.split("\n\n")[2])
    news.add_argument("--train", required=True, type=Path, help="training CSV")
    news.add_argument("--test", required=True, type=Path, help="test CSV (held out)")
    news.add_argument("--model", default="minilm",
                      help=f"{', '.join(MODELS)} or a Hugging Face hub id (default: minilm)")
    news.add_argument("--max-train", type=int, default=None,
                      help="use at most N training rows (default: the model's own setting)")
    news.add_argument("--max-length", type=int, default=None, help="tokens per text")
    news.add_argument("--epochs", type=int, default=None, help="passes over the training rows")
    news.add_argument("--time-budget-s", type=float, default=None,
                      help="stop training after this many seconds")
    news.add_argument("--seed", type=int, default=0)
    news.add_argument("--threads", type=int, default=None,
                      help="torch CPU threads (default: torch's, one per core)")
    news.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    commands.add_parser("speed", help="chapter 10's speed ratios (bigmodel_lib.speed)")
    args = parser.parse_args(argv)
    return COMMANDS[args.command](args)


def _news(args: argparse.Namespace) -> int:
    """The ``news`` subcommand."""
    from bigmodel_lib.distributed import init_from_env  # chapter 10: torchrun -m bigmodel_lib.bench
    here = init_from_env()
    try:
        out = None if args.out is None else check_out(args.out, [args.train, args.test])
        result = benchmark_news(args.train, args.test, args.model, max_train=args.max_train,
                                max_length=args.max_length, epochs=args.epochs,
                                time_budget_s=args.time_budget_s, seed=args.seed,
                                threads=args.threads)
    except (ValueError, TypeError, OSError) as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 2
    if not here.is_main:  # rank 0 alone prints and writes the results
        return 0
    result["processes"] = here.world_size
    print(format_report(result))
    if out is not None:
        write_atomically(out, json.dumps(result, indent=2, default=str) + "\n")
        print(f"results written to {args.out}")
    return 0


COMMANDS = {"news": _news}  # subcommand name -> function(args) -> exit code


if __name__ == "__main__":
    sys.exit(main())
