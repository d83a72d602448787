"""How good is a classifier? Accuracy, precision, recall, F1, confusion matrix, ROC, PR.

Chapter 06 explains them. Everything here is written from scratch in NumPy and agrees
with scikit-learn (``tests/test_metrics.py`` compares them on many random inputs to 1e-12).

Conventions
-----------
- Inputs may be Python lists, NumPy arrays or torch tensors (on any device).
- Labels are integers: integer or boolean arrays, or floats holding whole numbers.
  Anything else (strings, 0.5, NaN) is a ``ValueError``. Class *scores* (probabilities,
  logits) are not labels: a 2-D ``y_pred`` is refused with a hint to take ``argmax``.
- The classes of a per-class result are the sorted labels found in ``y_true`` or
  ``y_pred`` (as in scikit-learn), unless ``labels=`` (or ``num_classes=`` for the
  confusion matrix) names them. A class never predicted has precision 0, a class absent
  from ``y_true`` has recall 0: divisions by zero give 0, like scikit-learn's
  ``zero_division=0``.
- Binary curves: a higher score means "more positive"; ``y_true`` holds at most two
  classes and ``pos_label`` (default 1) is the positive one. A sample counts as
  predicted positive at threshold ``t`` when its score is ``>= t``.
- Undefined results raise ``ValueError`` rather than returning NaN with a warning:
  ``roc_curve`` / ``roc_auc`` when ``y_true`` holds only one class (older scikit-learn
  raised there too; 1.9 warns and returns NaN), and
  ``precision_recall_curve`` / ``average_precision`` when ``y_true`` has no positive
  sample (scikit-learn warns and sets recall to 1).
- Empty inputs, inputs of different lengths and scores with NaN or infinity raise
  ``ValueError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bigmodel_lib import _args

__all__ = [
    "accuracy",
    "average_precision",
    "classification_report",
    "confusion_matrix",
    "precision_recall_curve",
    "precision_recall_f1",
    "roc_auc",
    "roc_curve",
]

AVERAGES = (None, "micro", "macro", "weighted", "binary")


# ---------------------------------------------------------------- input checking
def _to_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.is_floating_point():
            x = x.double()  # bfloat16 has no NumPy twin
        return x.numpy()
    if isinstance(x, str | bytes):
        raise TypeError(f"{name} must be a sequence (list, NumPy array, tensor), got a string")
    try:
        return np.asarray(x)
    except ValueError as err:  # ragged nested lists
        raise ValueError(f"{name} could not be read as an array: {err}") from None


def _labels(y: Any, name: str) -> np.ndarray:
    """``y`` as a 1-D int64 array of class labels, or a ValueError saying what is wrong."""
    a = _to_numpy(y, name)
    if a.ndim != 1:
        hint = " (class scores? take .argmax(axis=1) to get labels)" if a.ndim == 2 else ""
        raise ValueError(
            f"{name} must be a 1-D sequence of class labels, got shape {a.shape}{hint}"
        )
    if a.size == 0:
        raise ValueError(f"{name} is empty; metrics need at least one sample")
    if a.dtype == bool or np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int64)
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            bad = a[~np.isfinite(a) | (a != np.round(a))][0]
            raise ValueError(
                f"{name} must hold integer class labels, found {bad!r} "
                "(scores or probabilities go to roc_auc / average_precision instead)"
            )
        return a.astype(np.int64)
    raise ValueError(f"{name} must hold integer class labels, got dtype {a.dtype}")


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} samples but y_pred has {len(p)}; they must match")
    return t, p


def _scores(s: Any, n: int, *, allow_2d: bool = False) -> np.ndarray:
    a = _to_numpy(s, "scores")
    numeric = (
        a.dtype == bool or np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)
    )
    if not numeric:
        raise ValueError(f"scores must be real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64)
    if a.ndim != 1 and not (allow_2d and a.ndim == 2):
        want = "1-D (one score per sample)" + (" or 2-D (one column per class)" if allow_2d else "")
        raise ValueError(f"scores must be {want}, got shape {a.shape}")
    if len(a) != n:
        raise ValueError(f"y_true has {n} samples but scores has {len(a)}; they must match")
    if np.isnan(a).any():
        raise ValueError(
            f"scores contain NaN at positions {np.flatnonzero(np.isnan(a).ravel())[:5]}"
        )
    if not np.isfinite(a).all():
        raise ValueError("scores contain infinity; clip them or pass probabilities")
    return a


def _classes(
    t: np.ndarray, p: np.ndarray, labels: Any = None, num_classes: int | None = None
) -> np.ndarray:
    """The classes of a per-class result, in the order results are listed."""
    if labels is not None and num_classes is not None:
        raise ValueError("give labels or num_classes, not both")
    if num_classes is not None:
        num_classes = _args.integer("num_classes", num_classes, minimum=1, expected="a positive integer")
        for name, y in (("y_true", t), ("y_pred", p)):
            bad = y[(y < 0) | (y >= num_classes)]
            if bad.size:
                raise ValueError(
                    f"{name} holds label {bad[0]}, outside 0..{num_classes - 1} "
                    f"for num_classes={num_classes}"
                )
        return np.arange(num_classes)
    if labels is not None:
        classes = _labels(labels, "labels")
        if len(np.unique(classes)) != len(classes):
            raise ValueError(f"labels must not repeat, got {classes.tolist()}")
        return classes
    return np.union1d(t, p)


def _index(classes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Position of each label of ``y`` in ``classes``; -1 for labels not listed."""
    order = np.argsort(classes, kind="stable")
    pos = np.clip(np.searchsorted(classes[order], y), 0, len(classes) - 1)
    return np.where(classes[order][pos] == y, order[pos], -1)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, with 0 where den == 0 (scikit-learn's zero_division=0)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den != 0)
    return out


# ---------------------------------------------------------------- label metrics
def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of samples whose predicted label equals the true label."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    num_classes: int | None = None,
    *,
    labels: Any = None,
    normalize: str | None = None,
) -> np.ndarray:
    """Counts ``C[i, j]`` of samples whose true class is ``i`` and predicted class is ``j``.

    Rows are true classes, columns predicted ones (scikit-learn's layout). The classes
    are ``0 .. num_classes-1`` when ``num_classes`` is given (labels outside raise),
    ``labels`` in the given order when given (samples with other labels are left out),
    else the sorted labels found in either input.
    ``normalize``: None (counts), "true" (each row sums to 1: recall on the diagonal),
    "pred" (each column sums to 1: precision on the diagonal) or "all".
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all', got {normalize!r}")
    t, p = _pair(y_true, y_pred)
    classes = _classes(t, p, labels, num_classes)
    k = len(classes)
    i, j = _index(classes, t), _index(classes, p)
    keep = (i >= 0) & (j >= 0)
    counts = np.bincount(i[keep] * k + j[keep], minlength=k * k).reshape(k, k)
    if normalize is None:
        return counts
    total = {
        "true": counts.sum(axis=1, keepdims=True),
        "pred": counts.sum(axis=0, keepdims=True),
        "all": counts.sum(),
    }[normalize]
    return _divide(counts, np.broadcast_to(total, counts.shape))


def _per_class_counts(t: np.ndarray, p: np.ndarray, classes: np.ndarray):
    """True positives, predicted count and true count (support) of each class."""
    k = len(classes)
    i, j = _index(classes, t), _index(classes, p)
    tp = np.bincount(i[(t == p) & (i >= 0)], minlength=k)
    predicted = np.bincount(j[j >= 0], minlength=k)
    support = np.bincount(i[i >= 0], minlength=k)
    return tp, predicted, support


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    average: str | None = "macro",
    *,
    labels: Any = None,
    pos_label: int = 1,
) -> tuple[Any, Any, Any, np.ndarray | None]:
    """Precision, recall, F1 and support, like scikit-learn's
    ``precision_recall_fscore_support(y_true, y_pred, average=..., zero_division=0)``.

    Per class c: precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2TP/(2TP+FP+FN)
    (the harmonic mean of the two), support = number of true samples of c.

    ``average``:
      - None: one value per class (arrays), with the support array.
      - "macro": the plain mean of the per-class values (every class counts the same).
      - "weighted": their mean weighted by support.
      - "micro": pool TP, FP, FN over classes first; equals accuracy when every class is listed.
      - "binary": the values of ``pos_label`` only (at most two classes allowed).
    Averaged results are floats and the support is None.
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    t, p = _pair(y_true, y_pred)
    if average == "binary":
        present = np.union1d(t, p)
        if len(present) > 2:
            raise ValueError(
                f"average='binary' needs at most two classes, found {len(present)}: "
                f"{present[:10].tolist()}; use average='macro', 'micro', 'weighted' or None"
            )
        if len(present) == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label} is not one of the labels {present.tolist()}")
        classes = np.array([pos_label])
    else:
        classes = _classes(t, p, labels)
    tp, predicted, support = _per_class_counts(t, p, classes)
    if average == "micro":  # pool the counts of every class, then divide once
        tp, predicted, support = (n.sum(keepdims=True) for n in (tp, predicted, support))
    precision = _divide(tp, predicted)
    recall = _divide(tp, support)
    f1 = _divide(2 * tp, predicted + support)
    if average is None:
        return precision, recall, f1, support
    weights = support if average == "weighted" and support.sum() > 0 else None
    return (
        float(np.average(precision, weights=weights)),
        float(np.average(recall, weights=weights)),
        float(np.average(f1, weights=weights)),
        None,
    )


def classification_report(
    y_true: Any,
    y_pred: Any,
    target_names: list[str] | None = None,
    output_dict: bool = False,
    *,
    labels: Any = None,
    digits: int = 2,
) -> str | dict[str, Any]:
    """Per-class precision, recall, F1 and support, then accuracy, macro and weighted averages.

    Text (the same layout as scikit-learn's ``classification_report``) or, with
    ``output_dict=True``, a dict ``{class name: {"precision", "recall", "f1-score",
    "support"}, "accuracy": float, "macro avg": {...}, "weighted avg": {...}}``.
    When ``labels`` leaves out a class that occurs, micro average no longer equals
    accuracy and a "micro avg" row replaces the "accuracy" row (as in scikit-learn).
    """
    digits = _args.integer("digits", digits, minimum=0, expected="a non-negative integer")
    t, p = _pair(y_true, y_pred)
    classes = _classes(t, p, labels)
    if target_names is None:
        names = [str(c) for c in classes]
    else:
        names = [str(n) for n in target_names]
        if len(names) != len(classes):
            raise ValueError(
                f"{len(names)} target_names for {len(classes)} classes {classes[:10].tolist()}; "
                "give one name per class (or pass labels=...)"
            )
    micro_is_accuracy = labels is None or set(classes.tolist()) >= set(np.union1d(t, p).tolist())
    per_class = precision_recall_f1(t, p, None, labels=classes)
    total = int(per_class[3].sum())
    averages = {}
    for average in ("micro", "macro", "weighted"):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        averages[heading] = precision_recall_f1(t, p, average, labels=classes)[:3]

    headers = ("precision", "recall", "f1-score", "support")
    if output_dict:
        report: dict[str, Any] = {}
        for name, *values in zip(names, *per_class, strict=True):
            report[name] = dict(
                zip(headers, [float(v) for v in values[:3]] + [int(values[3])], strict=True)
            )
        for heading, values in averages.items():
            if heading == "accuracy":
                report[heading] = values[2]
            else:
                report[heading] = dict(zip(headers, [*values, total], strict=True))
        return report

    width = max(max(len(n) for n in names), len("weighted avg"), digits)
    lines = [f"{'':>{width}s} " + "".join(f" {h:>9}" for h in headers), ""]
    for name, *values in zip(names, *per_class, strict=True):
        lines.append(
            f"{name:>{width}s} "
            + "".join(f" {v:>9.{digits}f}" for v in values[:3])
            + f" {int(values[3]):>9}"
        )
    lines.append("")
    for heading, values in averages.items():
        if heading == "accuracy":
            lines.append(
                f"{heading:>{width}s} " + f" {'':>9}" * 2 + f" {values[2]:>9.{digits}f} {total:>9}"
            )
        else:
            lines.append(
                f"{heading:>{width}s} "
                + "".join(f" {v:>9.{digits}f}" for v in values)
                + f" {total:>9}"
            )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- score metrics
def _binary_truth(y_true: Any, pos_label: int, what: str) -> np.ndarray:
    """``y_true == pos_label`` after checking that y_true holds at most two classes."""
    t = _labels(y_true, "y_true")
    present = np.unique(t)
    if len(present) > 2:
        raise ValueError(
            f"{what} needs binary labels; y_true holds {len(present)} classes "
            f"{present[:10].tolist()}. "
            "Binarize it (y_true == k) with that class's scores, or pass 2-D scores "
            "(one column per class) to roc_auc / average_precision for one-vs-rest"
        )
    if len(present) == 2 and pos_label not in present:
        raise ValueError(f"pos_label={pos_label} is not one of the labels {present.tolist()}")
    return t == pos_label


def _counts_at_thresholds(positive: np.ndarray, scores: np.ndarray):
    """False and true positives when predicting positive for every score >= each distinct score.

    Sort by score, highest first; the running count of positives is the TP count.
    Tied scores share one threshold, so only the last index of each run of ties is kept
    (counting inside a run would depend on the arbitrary order of the tied samples).
    Returns (fps, tps, thresholds) with thresholds decreasing.
    """
    order = np.argsort(scores, kind="stable")[::-1]
    s, y = scores[order], positive[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(y)[last_of_run].astype(np.float64)
    fps = (last_of_run + 1) - tps
    return fps, tps, s[last_of_run]


def roc_curve(
    y_true: Any, scores: Any, *, pos_label: int = 1, drop_intermediate: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ROC curve: false positive rate and true positive rate at every threshold.

    Returns ``(fpr, tpr, thresholds)`` exactly like ``sklearn.metrics.roc_curve``:
    thresholds decrease and start at ``inf`` (nothing predicted positive, the point
    (0, 0)); ``fpr[i]``, ``tpr[i]`` are the rates when predicting positive for
    ``score >= thresholds[i]``. With ``drop_intermediate`` (the default, as in
    scikit-learn) points that lie on a straight segment between their neighbours are
    dropped: the curve and its area are unchanged, it only has fewer points.
    Raises ValueError when ``y_true`` holds only one class (a rate would be 0/0).
    """
    positive = _binary_truth(y_true, pos_label, "roc_curve")
    s = _scores(scores, len(positive))
    if positive.all() or not positive.any():
        raise ValueError(
            "only one class is present in y_true; the ROC curve (and its AUC) "
            "needs positives and negatives"
        )
    fps, tps, thresholds = _counts_at_thresholds(positive, s)
    if drop_intermediate and len(fps) > 2:
        # keep the ends and every corner: where the slope changes in fps or tps
        corner = (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0)
        keep = np.r_[True, corner, True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps, tps = np.r_[0.0, fps], np.r_[0.0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def _one_vs_rest(metric, y_true: Any, s: np.ndarray) -> float:
    """Macro average of a binary score metric over classes, class k against the rest."""
    t = _labels(y_true, "y_true")
    k = s.shape[1]
    if k < 2:
        raise ValueError(f"2-D scores need one column per class (at least 2), got shape {s.shape}")
    outside = t[(t < 0) | (t >= k)]
    if outside.size:
        raise ValueError(
            f"y_true holds label {outside[0]}, outside 0..{k - 1} for {k} score columns"
        )
    missing = sorted(set(range(k)) - set(np.unique(t).tolist()))
    if missing:
        raise ValueError(
            f"classes {missing} never occur in y_true; one-vs-rest needs every class present"
        )
    return float(np.mean([metric(t == c, s[:, c]) for c in range(k)]))


def roc_auc(y_true: Any, scores: Any, *, pos_label: int = 1) -> float:
    """Area under the ROC curve: the chance that a random positive outscores a random negative
    (ties count one half).

    1-D scores: binary AUC, as ``sklearn.metrics.roc_auc_score``. 2-D scores of shape
    (n, K): one-vs-rest macro average over the K classes (labels 0..K-1), as
    ``roc_auc_score(..., multi_class="ovr")`` (which also insists that rows sum to 1;
    we do not). Raises ValueError when a class is missing from ``y_true``.
    """
    s = _scores(scores, len(_labels(y_true, "y_true")), allow_2d=True)
    if s.ndim == 2:
        return _one_vs_rest(lambda y, c: roc_auc(y, c), y_true, s)
    fpr, tpr, _ = roc_curve(y_true, s, pos_label=pos_label)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))  # trapezoids


def precision_recall_curve(
    y_true: Any, scores: Any, *, pos_label: int = 1, drop_intermediate: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall at every threshold, like ``sklearn.metrics.precision_recall_curve``.

    Returns ``(precision, recall, thresholds)``: thresholds increase; ``precision[i]``
    and ``recall[i]`` belong to predicting positive for ``score >= thresholds[i]``; a
    last point (precision 1, recall 0) without a threshold closes the curve.
    ``drop_intermediate`` (off by default, as in scikit-learn) keeps only the first and
    last threshold of each run with the same recall.
    Raises ValueError when ``y_true`` has no positive sample (recall would be 0/0).
    """
    positive = _binary_truth(y_true, pos_label, "precision_recall_curve")
    s = _scores(scores, len(positive))
    if not positive.any():
        raise ValueError(
            f"y_true has no positive sample (pos_label={pos_label}); recall is undefined"
        )
    fps, tps, thresholds = _counts_at_thresholds(positive, s)
    if drop_intermediate and len(fps) > 2:
        keep = np.r_[True, (np.diff(tps[:-1]) != 0) | (np.diff(tps[1:]) != 0), True]
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    precision = _divide(tps, tps + fps)
    recall = tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thresholds[::-1]


def average_precision(y_true: Any, scores: Any, *, pos_label: int = 1) -> float:
    """Average precision: the precision at each threshold weighted by the recall it adds,
    ``AP = sum_n (R_n - R_{n-1}) P_n`` (a step-wise area under the PR curve, no interpolation).

    1-D scores: as ``sklearn.metrics.average_precision_score``. 2-D scores of shape
    (n, K): one-vs-rest macro average over the classes 0..K-1.
    """
    s = _scores(scores, len(_labels(y_true, "y_true")), allow_2d=True)
    if s.ndim == 2:
        return _one_vs_rest(lambda y, c: average_precision(y, c), y_true, s)
    precision, recall, _ = precision_recall_curve(y_true, s, pos_label=pos_label)
    return float(max(0.0, -np.sum(np.diff(recall) * precision[:-1])))
