"""The models the news benchmark compares, each trained and scored the same way (chapter 08).

``run_model(name, texts, labels, test_texts, num_labels, config=...)`` trains one of

- ``"tfidf"``: TF-IDF of words and word pairs + a linear SVM (scikit-learn);
- ``"bilstm"``: chapter 07's BiLSTM, trained from scratch (``bilstm.BiLSTMConfig``);
- any other name: a pretrained encoder (``"minilm"``, a hub id or a local folder),
  fine-tuned with ``finetune.FinetuneConfig``;
- ``"<encoder>+tfidf"``: an ensemble (chapter 06) averaging the encoder's class
  probabilities with TF-IDF's (softmax of 3x the SVM scores),

and returns a ``BaselineResult``: the class scores of the test texts, training and
evaluation seconds, the examples trained on and the details of the run. ``make_config``
builds (and so validates) the settings of a model before anything is read or trained.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from bigmodel_lib import _args
from bigmodel_lib.bilstm import BiLSTMConfig

__all__ = ["BaselineResult", "TfidfConfig", "make_config", "run_model", "subsample"]

TFIDF_TEMPERATURE = 3.0  # softmax(3 x SVM scores): measured on held-out rows (NOTES.md)


@dataclass(frozen=True)
class TfidfConfig:
    """TF-IDF + linear SVM: it trains in one piece, so only the number of rows applies."""

    max_train: int | None = None

    def __post_init__(self) -> None:
        if self.max_train is not None:
            _args.integer("max_train", self.max_train, minimum=1, expected="an integer >= 1 or None")


@dataclass
class BaselineResult:
    """What one model did: ``scores`` (test rows, classes) whose argmax is the prediction."""

    scores: np.ndarray
    train_s: float
    eval_s: float
    examples_seen: int
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def predictions(self) -> np.ndarray:
        """The predicted class of each test text."""
        return np.asarray(self.scores).argmax(axis=1)


def subsample(texts: list[str], labels: list[int], n: int | None, seed: int = 0):
    """At most ``n`` rows chosen at random with ``seed`` (kept in file order); None: all."""
    if n is not None:
        n = _args.integer("max_train", n, minimum=1, expected="a positive integer")
    if n is None or n >= len(texts):
        return list(texts), list(labels)
    keep = np.sort(np.random.default_rng(seed).permutation(len(texts))[:n])
    return [texts[i] for i in keep], [labels[i] for i in keep]


def make_config(model: str, *, device: torch.device | None = None, **options: Any):
    """The validated settings of ``model``: its defaults with ``options`` that are not None.

    ``options`` may hold ``max_train``, ``max_length``, ``epochs`` and ``time_budget_s``;
    an option a model does not use is ignored (TF-IDF trains in one piece). A bad value
    raises ValueError/TypeError here, before anything is read or trained.
    """
    given = {k: v for k, v in options.items() if v is not None}
    if model == "tfidf":
        return TfidfConfig(**{k: v for k, v in given.items() if k == "max_train"})
    if model == "bilstm":
        return replace(BiLSTMConfig(), **given)
    from bigmodel_lib.finetune import CPU_DEFAULTS, GPU_DEFAULTS

    if device is None:
        from bigmodel_lib.env import get_device

        device = get_device()
    return replace(GPU_DEFAULTS if device.type == "cuda" else CPU_DEFAULTS, **given)


def _run_tfidf(texts, labels, test_texts, num_labels, config: TfidfConfig, seed) -> BaselineResult:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    texts, labels = subsample(texts, labels, config.max_train, seed)
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
                       "max_train": config.max_train,
                       "vocabulary": len(vectorizer.vocabulary_)},
            "train_rows": len(texts),
            "note": "trains in one piece; --max-length, --epochs and --time-budget-s do not apply"}
    return BaselineResult(scores, train_s, eval_s, len(texts), info)


def _run_bilstm(texts, labels, test_texts, num_labels, config: BiLSTMConfig, seed,
                threads: int | None = None) -> BaselineResult:
    """Chapter 07's recipe: word vocabulary (min_freq 2), BiLSTM 64+64, max pooling, Adam."""
    from torch.nn import functional as F

    from bigmodel_lib.bilstm import BiLSTMClassifier
    from bigmodel_lib.text import Vocabulary, make_loader
    from bigmodel_lib.text import tokenize as words
    from bigmodel_lib.train import fit, predict

    texts, labels = subsample(texts, labels, config.max_train, seed)
    start = time.perf_counter()
    tokens = [words(text) for text in texts]
    vocab = Vocabulary.build(tokens, min_freq=config.min_freq)
    ids = [vocab.encode(t)[: config.max_length] for t in tokens]
    loader = make_loader(ids, labels, config.batch_size, seed=seed)
    torch.manual_seed(seed)
    model = BiLSTMClassifier(len(vocab), num_labels, config.embed_dim, config.hidden_dim,
                             pooling=config.pooling, dropout=config.dropout)
    old_threads = torch.get_num_threads()
    if not threads:
        # An LSTM multiplies small matrices step after step: one CPU thread is about as
        # fast as two on an idle machine and far faster on a busy one (chapter 07).
        torch.set_num_threads(1)
    try:
        history = fit(model, loader, F.cross_entropy, torch.optim.Adam(model.parameters(), lr=config.lr),
                      config.epochs, grad_clip=config.grad_clip, seed=seed,
                      time_budget_s=config.time_budget_s, live_plot=False, progress=False)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        test_ids = [vocab.encode(words(text))[: config.max_length] for text in test_texts]
        test_loader = make_loader(test_ids, [0] * len(test_ids), 256, shuffle=False)
        scores = predict(model, test_loader).numpy()
        eval_s = time.perf_counter() - start
    finally:
        torch.set_num_threads(old_threads)
    epochs_done = history.epochs if history.stopped_early else config.epochs
    info = {"config": asdict(config), "vocabulary": len(vocab), "train_rows": len(texts),
            "stop_reason": history.stop_reason}
    return BaselineResult(scores, train_s, eval_s, len(texts) * max(epochs_done, 1), info)


def _run_transformer(name, texts, labels, test_texts, num_labels, config, seed,
                     device: torch.device | None = None) -> BaselineResult:
    from bigmodel_lib.env import get_device
    from bigmodel_lib.finetune import finetune, predict_texts
    from bigmodel_lib.finetune import tokenize as tokenize_texts
    from bigmodel_lib.models import load_pretrained_classifier

    device = get_device() if device is None else device
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
    return BaselineResult(logits.numpy(), train_s, eval_s, history.examples_seen, info)


def _softmax(scores: np.ndarray) -> np.ndarray:
    z = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _run_ensemble(encoder, texts, labels, test_texts, num_labels, config, seed) -> BaselineResult:
    """An encoder and TF-IDF, their class probabilities averaged (an ensemble, chapter 06)."""
    a = _run_transformer(encoder, texts, labels, test_texts, num_labels, config, seed)
    b = _run_tfidf(texts, labels, test_texts, num_labels, TfidfConfig(), seed)
    probs = 0.5 * _softmax(a.scores) + 0.5 * _softmax(TFIDF_TEMPERATURE * b.scores)
    info = {**a.details, "ensemble": f"mean of softmax({encoder} logits) and softmax("
                                     f"{TFIDF_TEMPERATURE:g} x TF-IDF SVM scores)",
            "tfidf": b.details["config"], "encoder_train_s": a.train_s, "tfidf_train_s": b.train_s}
    return BaselineResult(probs, a.train_s + b.train_s, a.eval_s + b.eval_s, a.examples_seen, info)


def run_model(model: str, texts, labels, test_texts, num_labels: int, *, config: Any = None,
              seed: int = 0, threads: int | None = None) -> BaselineResult:
    """Train ``model`` on ``texts``/``labels`` and score ``test_texts``.

    ``config`` is the model's settings (``make_config(model, ...)``; None: its defaults).
    ``threads``: the torch CPU threads the caller chose (None: the BiLSTM uses one).
    """
    encoder = model.removesuffix("+tfidf")
    if config is None:
        config = make_config(encoder)
    if model == "tfidf":
        return _run_tfidf(texts, labels, test_texts, num_labels, config, seed)
    if model == "bilstm":
        return _run_bilstm(texts, labels, test_texts, num_labels, config, seed, threads)
    if model.endswith("+tfidf"):
        return _run_ensemble(encoder, texts, labels, test_texts, num_labels, config, seed)
    return _run_transformer(model, texts, labels, test_texts, num_labels, config, seed)
