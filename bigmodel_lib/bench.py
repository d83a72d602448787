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
- any other name: a Hugging Face hub id (e.g. ``bert-base-uncased``) or a local model
  folder, loaded with ``from_pretrained`` (online for a hub id) and fine-tuned the same
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

On a machine shared with other work, torch's two-thread kernels can slow down many
times over (each waits for the other at every step); ``--threads 1``, or
``OMP_WAIT_POLICY=PASSIVE`` set before Python starts, avoids that
(``benchmarks/NOTES.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

MODELS = ("minilm", "tfidf", "bilstm", "minilm+tfidf")  # besides any hub id


# --------------------------------------------------------------------------- data


def read_train_test(train_path: str | Path, test_path: str | Path):
    """The training split and the test texts with labels in the *training* numbering.

    Returns ``(train, test_texts, test_labels)``; ``train`` is a ``NewsSplit`` whose
    ``label_names`` are the classes.
    """
    from bigmodel_lib.news import read_news_csv

    train = read_news_csv(train_path)
    # Class numbers in the test file mean what they mean in the training file, even when
    # a small test file lacks the first class.
    test = read_news_csv(test_path, first_label=train.first_label,
                         num_classes=len(train.label_names) if train.first_label is not None else None)
    present = sorted(set(train.labels))
    if len(present) < 2:
        names = [train.label_names[i] for i in present]
        raise ValueError(f"{train_path}: the training file has {len(present)} class {names}; "
                         "a classifier needs at least 2 classes")
    index = {name: i for i, name in enumerate(train.label_names)}
    unseen = sorted({test.label_names[y] for y in test.labels} - set(index))
    if unseen:
        raise ValueError(f"{test_path}: test labels {unseen} do not occur in the training file "
                         f"{train_path} (its classes: {train.label_names}); a model trained on "
                         "it cannot predict them")
    test_labels = [index[test.label_names[y]] for y in test.labels]
    return train, list(test.texts), test_labels


def subsample(texts: list[str], labels: list[int], n: int | None, seed: int = 0):
    """At most ``n`` rows chosen at random with ``seed`` (kept in file order); None: all."""
    if n is None or n >= len(texts):
        return list(texts), list(labels)
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"max_train must be a positive integer, got {n!r}")
    keep = np.sort(np.random.default_rng(seed).permutation(len(texts))[:n])
    return [texts[i] for i in keep], [labels[i] for i in keep]


# --------------------------------------------------------------------------- models


def _run_tfidf(texts, labels, test_texts, num_labels, settings, seed, budget):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    texts, labels = subsample(texts, labels, settings.get("max_train"), seed)
    start = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2))
    features = vectorizer.fit_transform(texts)
    classifier = LinearSVC(random_state=seed).fit(features, labels)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    decision = classifier.decision_function(vectorizer.transform(test_texts))
    if decision.ndim == 1:  # two classes: one score, positive for classes_[1]
        decision = np.stack([-decision, decision], axis=1)
    scores = np.full((len(test_texts), num_labels), -np.inf)
    scores[:, classifier.classes_] = decision
    eval_s = time.perf_counter() - start
    info = {"config": {"features": "TF-IDF of words and word pairs", "classifier": "LinearSVC",
                       "max_train": settings.get("max_train"),
                       "vocabulary": len(vectorizer.vocabulary_)},
            "train_rows": len(texts),
            "note": "trains in one piece; --max-length, --epochs and --time-budget-s do not apply"}
    return scores, train_s, eval_s, len(texts), info


BILSTM_DEFAULTS = {"max_train": None, "max_length": 64, "epochs": 3, "batch_size": 64,
                   "lr": 3e-3, "min_freq": 2, "embed_dim": 64, "hidden_dim": 64}


def _run_bilstm(texts, labels, test_texts, num_labels, settings, seed, budget):
    """Chapter 07's recipe: word vocabulary (min_freq 2), BiLSTM 64+64, max pooling, Adam."""
    from torch.nn import functional as F

    from bigmodel_lib.bilstm import BiLSTMClassifier
    from bigmodel_lib.text import Vocabulary, make_loader
    from bigmodel_lib.text import tokenize as words
    from bigmodel_lib.train import fit, predict

    config = {**BILSTM_DEFAULTS,
              **{k: v for k, v in settings.items() if v is not None and k in BILSTM_DEFAULTS}}
    texts, labels = subsample(texts, labels, config["max_train"], seed)
    start = time.perf_counter()
    tokens = [words(text) for text in texts]
    vocab = Vocabulary.build(tokens, min_freq=config["min_freq"])
    ids = [vocab.encode(t)[: config["max_length"]] for t in tokens]
    loader = make_loader(ids, labels, config["batch_size"], seed=seed)
    torch.manual_seed(seed)
    model = BiLSTMClassifier(len(vocab), num_labels, config["embed_dim"], config["hidden_dim"],
                             pooling="max", dropout=0.2)
    threads = torch.get_num_threads()
    if not settings.get("threads"):
        # An LSTM multiplies small matrices step after step: one CPU thread is about as
        # fast as two on an idle machine and far faster on a busy one (chapter 07).
        torch.set_num_threads(1)
    try:
        history = fit(model, loader, F.cross_entropy, torch.optim.Adam(model.parameters(),
                      lr=config["lr"]), config["epochs"], grad_clip=1.0, seed=seed,
                      time_budget_s=budget, live_plot=False, progress=False)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        test_ids = [vocab.encode(words(text))[: config["max_length"]] for text in test_texts]
        test_loader = make_loader(test_ids, [0] * len(test_ids), 256, shuffle=False)
        scores = predict(model, test_loader).numpy()
        eval_s = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    epochs_done = history.epochs if history.stopped_early else config["epochs"]
    info = {"config": config, "vocabulary": len(vocab), "train_rows": len(texts),
            "stop_reason": history.stop_reason}
    return scores, train_s, eval_s, len(texts) * max(epochs_done, 1), info


def _run_transformer(name, texts, labels, test_texts, num_labels, settings, seed, budget):
    from bigmodel_lib.env import get_device
    from bigmodel_lib.finetune import CPU_DEFAULTS, GPU_DEFAULTS, finetune, predict_texts
    from bigmodel_lib.finetune import tokenize as tokenize_texts
    from bigmodel_lib.models import load_pretrained_classifier

    device = get_device()
    config = GPU_DEFAULTS if device.type == "cuda" else CPU_DEFAULTS
    config = replace(config, **{k: v for k, v in settings.items()
                                if v is not None and k in ("max_train", "max_length", "epochs")})
    if budget is not None:
        config = replace(config, time_budget_s=budget)
    start = time.perf_counter()
    model, tokenizer = load_pretrained_classifier(name, num_labels)
    load_s = time.perf_counter() - start
    texts, labels = subsample(texts, labels, config.max_train, seed)
    start = time.perf_counter()
    history = finetune(model.to(device), tokenizer, texts, labels, config, seed=seed,
                       device=device, live_plot=False, progress=False)
    train_s = time.perf_counter() - start
    amp = config.amp_on(device)
    start = time.perf_counter()
    test = tokenize_texts(tokenizer, test_texts, max_length=config.eval_length)
    logits = predict_texts(model, test, batch_size=config.eval_batch_size, amp=amp, device=device)
    eval_s = time.perf_counter() - start
    info = {"config": asdict(config), "amp": amp, "device": device.type, "load_s": load_s,
            "train_rows": len(texts), "stop_reason": history.stop_reason}
    return logits.numpy(), train_s, eval_s, history.examples_seen, info


RUNNERS = {"tfidf": _run_tfidf, "bilstm": _run_bilstm}
TFIDF_TEMPERATURE = 3.0  # softmax(3 x SVM scores): measured on held-out rows (NOTES.md)


def _softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _run_ensemble(encoder, texts, labels, test_texts, num_labels, settings, seed, budget):
    """An encoder and TF-IDF, their class probabilities averaged (an ensemble, chapter 06)."""
    logits, train_a, eval_a, seen, info = _run_transformer(
        encoder, texts, labels, test_texts, num_labels, settings, seed, budget)
    svm, train_b, eval_b, _, info_b = _run_tfidf(
        texts, labels, test_texts, num_labels, {}, seed, None)
    probs = 0.5 * _softmax(logits) + 0.5 * _softmax(TFIDF_TEMPERATURE * svm)
    info = {**info, "ensemble": f"mean of softmax({encoder} logits) and softmax("
                                f"{TFIDF_TEMPERATURE:g} x TF-IDF SVM scores)",
            "tfidf": info_b["config"], "encoder_train_s": train_a, "tfidf_train_s": train_b}
    return probs, train_a + train_b, eval_a + eval_b, seen, info


def class_scores(model: str, texts, labels, test_texts, num_labels: int, *,
                 settings: dict[str, Any] | None = None, seed: int = 0,
                 time_budget_s: float | None = None):
    """Train ``model`` and score the test texts.

    Returns ``(scores, train_s, eval_s, examples_trained_on, details)``: ``scores`` is an
    array (test rows, classes) whose argmax is the prediction. ``settings`` may hold
    ``max_train``, ``max_length`` and ``epochs`` (None: the model's default). A name
    ``<encoder>+tfidf`` (e.g. ``minilm+tfidf``) averages the encoder's and TF-IDF's
    class probabilities.
    """
    settings = dict(settings or {})
    if model in RUNNERS:
        return RUNNERS[model](texts, labels, test_texts, num_labels, settings, seed,
                              time_budget_s)
    if model.endswith("+tfidf"):
        return _run_ensemble(model.removesuffix("+tfidf"), texts, labels, test_texts,
                             num_labels, settings, seed, time_budget_s)
    return _run_transformer(model, texts, labels, test_texts, num_labels, settings, seed,
                            time_budget_s)


def run_model(model: str, texts, labels, test_texts, num_labels: int, *,
              settings: dict[str, Any] | None = None, seed: int = 0,
              time_budget_s: float | None = None):
    """Like ``class_scores``, with the predicted class of each test text instead of scores:
    ``(predictions, train_s, eval_s, examples_trained_on, details)``."""
    scores, train_s, eval_s, seen, info = class_scores(
        model, texts, labels, test_texts, num_labels, settings=settings, seed=seed,
        time_budget_s=time_budget_s)
    return np.asarray(scores).argmax(axis=1), train_s, eval_s, seen, info


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


def benchmark_news(train: str | Path, test: str | Path, model: str = "minilm", *,
                   max_train: int | None = None, max_length: int | None = None,
                   epochs: int | None = None, time_budget_s: float | None = None,
                   seed: int = 0, threads: int | None = None) -> dict[str, Any]:
    """Train ``model`` on the ``train`` CSV, score it on the ``test`` CSV; return the results."""
    if time_budget_s is not None and not time_budget_s > 0:
        raise ValueError(f"--time-budget-s must be a positive number of seconds, got {time_budget_s}")
    if threads is not None:
        if threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    from bigmodel_lib.env import seed_everything

    seed_everything(seed)
    load_before = _load_average()
    wall = time.perf_counter()
    train_split, test_texts, test_labels = read_train_test(train, test)
    names = list(train_split.label_names)
    settings = {"max_train": max_train, "max_length": max_length, "epochs": epochs,
                "threads": threads}
    predictions, train_s, eval_s, seen, info = run_model(
        model, list(train_split.texts), list(train_split.labels), test_texts, len(names),
        settings=settings, seed=seed, time_budget_s=time_budget_s)
    result = {
        "model": model, "train_file": str(train), "test_file": str(test),
        "train_rows_in_file": len(train_split), "test_rows": len(test_texts),
        "classes": names, "seed": seed, "time_budget_s": time_budget_s,
        **scores(test_labels, predictions, names),
        "train_seconds": train_s, "train_examples": seen,
        "train_examples_per_s": seen / train_s if train_s > 0 else float("inf"),
        "eval_seconds": eval_s,
        "eval_examples_per_s": len(test_texts) / eval_s if eval_s > 0 else float("inf"),
        "total_seconds": time.perf_counter() - wall,
        "threads": torch.get_num_threads(),
        "load_average_1min": [load_before, _load_average()],
        "details": info,
    }
    return result


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
    from bigmodel_lib.distributed import init_from_env  # chapter 10: torchrun -m bigmodel_lib.bench
    here = init_from_env()
    try:
        result = benchmark_news(args.train, args.test, args.model, max_train=args.max_train,
                                max_length=args.max_length, epochs=args.epochs,
                                time_budget_s=args.time_budget_s, seed=args.seed,
                                threads=args.threads)
    except (ValueError, FileNotFoundError, TypeError) as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 2
    if not here.is_main:  # rank 0 alone prints and writes the results
        return 0
    result["processes"] = here.world_size
    print(format_report(result))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"results written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
