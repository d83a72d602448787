"""Fairness, measured per group (chapter 11).

- ``load_adult`` / ``adult_features`` / ``adult_labels``: the course's subset of UCI Adult
  (``data/adult/``, CC BY 4.0), checked against its sha256, and model-ready features.
- ``selection_rate``, ``true_positive_rate``, ``false_positive_rate`` and
  ``group_metrics``: a classifier's numbers *per group*, computed with
  ``bigmodel_lib.metrics`` (``tests/test_fairness.py`` checks them against fairlearn's
  ``MetricFrame``).
- ``demographic_parity_difference`` and ``equalized_odds_difference``: the largest gap
  between groups, as fairlearn defines them.
- ``group_thresholds`` / ``apply_thresholds``: a post-processing mitigation, one decision
  threshold per group (Hardt et al. 2016 for equal true-positive rates).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from bigmodel_lib import metrics

__all__ = [
    "ADULT_ROWS",
    "ADULT_SHA256",
    "GROUP_METRICS",
    "adult_features",
    "adult_labels",
    "apply_thresholds",
    "demographic_parity_difference",
    "equalized_odds_difference",
    "false_positive_rate",
    "group_metrics",
    "group_thresholds",
    "load_adult",
    "selection_rate",
    "true_positive_rate",
]

ADULT_FILE = "adult/adult_subset.csv"  # relative to the course's data/ folder
ADULT_SHA256 = "c0266834667a5d81150be82c86dc73b367ffcd3c619d6172eb8c83abc746631c"
ADULT_ROWS = 12_211
ADULT_CATEGORICAL = ("workclass", "marital_status", "occupation", "relationship", "race", "sex",
                     "native_country")
# Fixed scales (no statistics of any split, so nothing leaks from test rows into features).
ADULT_NUMERIC = {
    "age": lambda v: (v - 40.0) / 15.0,
    "education_num": lambda v: (v - 10.0) / 3.0,
    "hours_per_week": lambda v: (v - 40.0) / 12.0,
    "capital_gain": lambda v: np.log1p(v) / 5.0,
    "capital_loss": lambda v: np.log1p(v) / 5.0,
}


# ---------------------------------------------------------------- the Adult table
def load_adult(path: str | Path | None = None) -> pd.DataFrame:
    """The course's UCI Adult subset (12,211 rows; ``data/adult/README.md``), as a DataFrame.

    The file's sha256 is checked first (a changed file is a ``ValueError``). Missing
    values (``?`` in the file) are read as NaN. Columns as in the card, including
    ``income`` (the label, ``>50K`` or ``<=50K``) and UCI's ``split`` (``train``/``test``).
    """
    from bigmodel_lib.env import data_dir
    from bigmodel_lib.models import sha256_file

    path = data_dir() / ADULT_FILE if path is None else Path(path)
    actual = sha256_file(path)
    if actual != ADULT_SHA256:
        raise ValueError(f"{path} has sha256 {actual}, but {ADULT_SHA256} was expected: the file "
                         "was changed or damaged; restore data/adult/adult_subset.csv from the repository")
    return pd.read_csv(path, na_values="?")


def adult_labels(df: pd.DataFrame) -> np.ndarray:
    """1 where the income is ``>50K``, else 0."""
    if "income" not in df.columns:
        raise KeyError("the table has no 'income' column (the label)")
    return (df["income"] == ">50K").to_numpy(dtype=np.int64)


def adult_features(df: pd.DataFrame, drop: Iterable[str] = ()) -> tuple[np.ndarray, list[str]]:
    """Model-ready features of the Adult table: ``(X float32 array, column names)``.

    Numbers on fixed scales (capital gains and losses through ``log1p``); each categorical
    column one-hot, with every category of the whole table (a missing value is its own
    category, ``nan``). Never used: ``fnlwgt`` (a survey weight), ``education`` (the same
    as ``education_num``), ``income`` (the label) and ``split``. ``drop`` leaves out more
    columns, e.g. ``("sex",)``.
    """
    drop = {drop} if isinstance(drop, str) else set(drop)
    unknown = drop - set(ADULT_NUMERIC) - set(ADULT_CATEGORICAL)
    if unknown:
        raise ValueError(f"cannot drop {sorted(unknown)}: the features come from "
                         f"{sorted(ADULT_NUMERIC) + sorted(ADULT_CATEGORICAL)}")
    parts, names = [], []
    for column, scale in ADULT_NUMERIC.items():
        if column not in drop:
            parts.append(scale(df[column].to_numpy(dtype=np.float64))[:, None])
            names.append(column)
    for column in ADULT_CATEGORICAL:
        if column not in drop:
            onehot = pd.get_dummies(df[column].astype(object).fillna("nan"), prefix=column, prefix_sep="=")
            parts.append(onehot.to_numpy(dtype=np.float64))
            names.extend(onehot.columns)
    return np.hstack(parts).astype(np.float32), list(names)


# ---------------------------------------------------------------- rates
def _binary(y: Any, name: str) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    a = np.asarray(y)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of 0/1 labels, got shape {a.shape}")
    if a.dtype == bool:
        return a.astype(np.int64)
    if not np.isin(a, (0, 1)).all():
        bad = a[~np.isin(a, (0, 1))][0]
        raise ValueError(f"{name} must hold 0/1 labels (1 = the favourable outcome), found {bad!r}")
    return a.astype(np.int64)


def _ratio(num: int, den: int) -> float:
    return float(num / den) if den else 0.0


def selection_rate(y_pred: Any) -> float:
    """Share of the rows predicted positive (1)."""
    return float(_binary(y_pred, "y_pred").mean())


def true_positive_rate(y_true: Any, y_pred: Any) -> float:
    """TP / (TP + FN): of the truly positive rows, the share predicted positive (0 if none)."""
    cm = metrics.confusion_matrix(_binary(y_true, "y_true"), _binary(y_pred, "y_pred"), labels=[0, 1])
    return _ratio(cm[1, 1], cm[1].sum())


def false_positive_rate(y_true: Any, y_pred: Any) -> float:
    """FP / (FP + TN): of the truly negative rows, the share predicted positive (0 if none)."""
    cm = metrics.confusion_matrix(_binary(y_true, "y_true"), _binary(y_pred, "y_pred"), labels=[0, 1])
    return _ratio(cm[0, 1], cm[0].sum())


GROUP_METRICS: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": metrics.accuracy,
    "selection_rate": lambda y_true, y_pred: selection_rate(y_pred),
    "tpr": true_positive_rate,
    "fpr": false_positive_rate,
}


def _groups(groups: Any, n: int) -> np.ndarray:
    if isinstance(groups, torch.Tensor):
        groups = groups.detach().cpu().numpy()
    g = np.asarray(groups, dtype=object)
    if g.ndim != 1 or len(g) != n:
        raise ValueError(f"groups must hold one group per row ({n} rows), got shape {g.shape}")
    if pd.isna(g).any():
        raise ValueError("groups holds missing values; give them a group of their own first")
    return g


def group_metrics(y_true: Any, y_pred: Any, groups: Any,
                  metric_fns: dict[str, Callable[[Any, Any], float]] | None = None) -> pd.DataFrame:
    """One row per group (sorted), one column per metric, plus ``count``; row ``"all"`` last.

    ``metric_fns`` maps a name to ``f(y_true, y_pred) -> float`` (default ``GROUP_METRICS``:
    accuracy, selection rate, true- and false-positive rate). Computed with
    ``bigmodel_lib.metrics`` on the rows of each group, as fairlearn's ``MetricFrame`` does.
    """
    t, p = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} rows but y_pred has {len(p)}")
    g = _groups(groups, len(t))
    chosen = GROUP_METRICS if metric_fns is None else metric_fns
    rows = {}
    for value in sorted(set(g.tolist()), key=str):
        mask = g == value
        rows[value] = {"count": int(mask.sum()), **{k: f(t[mask], p[mask]) for k, f in chosen.items()}}
    rows["all"] = {"count": len(t), **{k: f(t, p) for k, f in chosen.items()}}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "group"
    return table


def _gap(values: pd.Series) -> float:
    return float(values.max() - values.min())


def demographic_parity_difference(y_true: Any, y_pred: Any, groups: Any) -> float:
    """Largest minus smallest selection rate over the groups (0: every group selected alike)."""
    table = group_metrics(y_true, y_pred, groups, {"selection_rate": GROUP_METRICS["selection_rate"]})
    return _gap(table["selection_rate"].drop("all"))


def equalized_odds_difference(y_true: Any, y_pred: Any, groups: Any) -> float:
    """The larger of the between-group gaps in true-positive rate and in false-positive rate."""
    table = group_metrics(y_true, y_pred, groups, {"tpr": true_positive_rate, "fpr": false_positive_rate})
    per_group = table.drop("all")
    return max(_gap(per_group["tpr"]), _gap(per_group["fpr"]))


# ---------------------------------------------------------------- mitigation: thresholds per group
def _scores(scores: Any, n: int | None = None) -> np.ndarray:
    if isinstance(scores, torch.Tensor):
        scores = scores.detach().cpu().double().numpy()
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0 or (n is not None and len(s) != n):
        raise ValueError(f"scores must be a 1-D array with one score per row, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("scores hold NaN or infinity")
    return s


def group_thresholds(scores: Any, groups: Any, rate: float, *, y_true: Any = None) -> dict[Any, float]:
    """One threshold per group so that each group gets the same rate of positive decisions.

    Without ``y_true``: each group's *selection rate* becomes ``rate`` (demographic parity).
    With ``y_true``: each group's *true-positive rate* becomes ``rate`` (equal opportunity,
    Hardt et al. 2016). A row is predicted positive when its score is >= its group's
    threshold; each group selects ``ceil(rate * n)`` of its n rows (of its n positive
    rows with ``y_true``), fewer only where tied scores straddle the threshold.
    """
    s = _scores(scores)
    g = _groups(groups, len(s))
    if not 0 < rate <= 1:
        raise ValueError(f"rate must be in (0, 1], got {rate!r}")
    eligible = np.ones(len(s), dtype=bool) if y_true is None else _binary(y_true, "y_true") == 1
    if len(eligible) != len(s):
        raise ValueError(f"y_true has {len(eligible)} rows but scores has {len(s)}")
    thresholds = {}
    for value in sorted(set(g.tolist()), key=str):
        pool = np.sort(s[(g == value) & eligible])[::-1]
        if pool.size == 0:
            raise ValueError(f"group {value!r} has no {'positive ' if y_true is not None else ''}rows "
                             "to set a threshold on")
        thresholds[value] = float(pool[int(np.ceil(rate * pool.size)) - 1])
    return thresholds


def apply_thresholds(scores: Any, groups: Any, thresholds: dict[Any, float]) -> np.ndarray:
    """0/1 decisions: 1 where a row's score is >= its group's threshold."""
    s = _scores(scores)
    g = _groups(groups, len(s))
    missing = sorted(set(g.tolist()) - set(thresholds), key=str)
    if missing:
        raise ValueError(f"no threshold for groups {missing}")
    cut = np.array([thresholds[v] for v in g], dtype=np.float64)
    return (s >= cut).astype(np.int64)
