"""Tabular data before training: split, clean, scale, augment (chapter 05).

The rule that runs through this module: every statistic (a mean, a median, a
quartile, a minimum) is computed on the **training split only** and then applied,
unchanged, to validation and test data. Computing it on all the data lets the
validation rows leak into training and makes validation scores too optimistic.

Every transformer has ``fit(X_train)``, ``transform(X)`` and ``fit_transform(X)``;
``transform`` before ``fit`` is an error. They take and return 2-D NumPy arrays or
torch tensors (what goes in comes out, same type and dtype); missing values are NaN.
A pandas DataFrame or a list of rows is read as a float64 NumPy array and comes back
as one (as in scikit-learn).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bigmodel_lib import _args

__all__ = [
    "AG_NEWS_CLASSES",
    "Imputer",
    "MinMaxScaler",
    "NewsSplit",
    "NotFittedError",
    "OutlierClipper",
    "Standardizer",
    "add_gaussian_noise",
    "clean_news_text",
    "drop_missing",
    "load_news",
    "make_tabular",
    "mixup",
    "read_news_csv",
    "train_val_split",
]

Array = Any  # a 2-D np.ndarray or torch.Tensor


class NotFittedError(RuntimeError):
    """``transform`` was called before ``fit``."""


def _as_tensor(X: Array, what: str = "X") -> tuple[torch.Tensor, bool]:
    """A float tensor view of X and whether X was a NumPy array (to convert back)."""
    if isinstance(X, (list, tuple)) or hasattr(X, "to_numpy"):  # rows, or a pandas table
        try:
            X = (X.to_numpy(dtype=np.float64, na_value=np.nan) if hasattr(X, "to_numpy")
                 else np.asarray(X, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise TypeError(f"{what} must hold numbers only ({err})") from err
    if isinstance(X, np.ndarray):
        if not np.issubdtype(X.dtype, np.number):
            raise TypeError(f"{what} must hold numbers, got dtype {X.dtype}")
        t, was_numpy = torch.from_numpy(np.ascontiguousarray(X)), True
    elif isinstance(X, torch.Tensor):
        t, was_numpy = X, False
    else:
        raise TypeError(f"{what} must be a NumPy array, a torch tensor or a pandas DataFrame, "
                        f"got {type(X).__name__}")
    if not t.is_floating_point():
        t = t.to(torch.float64 if was_numpy else torch.float32)
    return t, was_numpy


def _back(t: torch.Tensor, was_numpy: bool) -> Array:
    return t.numpy() if was_numpy else t


def _matrix(X: Array, what: str = "X") -> tuple[torch.Tensor, bool]:
    t, was_numpy = _as_tensor(X, what)
    if t.ndim != 2:
        hint = " (one feature? use X.reshape(-1, 1))" if t.ndim == 1 else ""
        raise ValueError(f"{what} must be 2-D (rows, features), got shape {tuple(t.shape)}{hint}")
    if t.shape[0] == 0:
        raise ValueError(f"{what} has no rows")
    return t, was_numpy


def _check_finite(X: torch.Tensor) -> None:
    """Scaling statistics need every value: NaN and infinity are errors here."""
    if torch.isnan(X).any():
        raise ValueError("X has missing values (NaN); impute or drop them before scaling")
    if torch.isinf(X).any():
        cols = torch.isinf(X).any(dim=0).nonzero().flatten().tolist()
        raise ValueError(f"X has infinite values in column(s) {cols}; replace or drop them "
                         "before scaling (they would make the statistics inf and the output NaN)")


def _take_rows(a: Any, rows: torch.Tensor) -> Any:
    """The rows of a (tensor, array, pandas object or list) at ``rows`` (a mask or indices)."""
    if isinstance(a, torch.Tensor):
        return a[rows.to(a.device)]
    if isinstance(a, np.ndarray):
        return a[rows.numpy()]
    if hasattr(a, "iloc"):
        return a.iloc[rows.numpy()]
    if rows.dtype == torch.bool:
        rows = rows.nonzero().flatten()
    return [a[i] for i in rows.tolist()]


class _Transformer:
    """fit on the training split, transform any split with the same statistics."""

    n_features: int | None = None

    def fit(self, X: Array) -> _Transformer:
        t, _ = _matrix(X)
        self._fit(t)
        self.n_features = t.shape[1]
        return self

    def transform(self, X: Array) -> Array:
        if self.n_features is None:
            raise NotFittedError(f"{type(self).__name__} must be fitted first: call "
                                 ".fit(X_train) (on the training split only), then .transform(X)")
        t, was_numpy = _matrix(X)
        if t.shape[1] != self.n_features:
            raise ValueError(f"{type(self).__name__} was fitted on {self.n_features} features, "
                             f"but X has {t.shape[1]}")
        return _back(self._transform(t), was_numpy)

    def fit_transform(self, X: Array) -> Array:
        return self.fit(X).transform(X)

    def _stat(self, name: str, like: torch.Tensor) -> torch.Tensor:
        return getattr(self, name).to(device=like.device, dtype=like.dtype)

    def _fit(self, X: torch.Tensor) -> None:
        raise NotImplementedError

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


# ---------------------------------------------------------------- missing values


def drop_missing(X: Array, *others: Array) -> tuple:
    """Drop the rows of X that have a missing value (NaN); drop the same rows of ``others``.

    ``X_clean, y_clean = drop_missing(X, y)``. Dropping is simple and unbiased when
    values are missing at random, but wastes data; ``Imputer`` keeps the rows.
    """
    t, was_numpy = _matrix(X)
    keep = ~torch.isnan(t).any(dim=1)
    out = [_back(t[keep], was_numpy)]
    for other in others:
        if len(other) != t.shape[0]:
            raise ValueError(f"X has {t.shape[0]} rows but another array has {len(other)}")
        out.append(_take_rows(other, keep))
    return tuple(out)


class Imputer(_Transformer):
    """Fill missing values (NaN) with a per-column statistic of the training split.

    Args:
        strategy: ``"mean"`` or ``"median"`` (robust to outliers).
    """

    def __init__(self, strategy: str = "mean") -> None:
        if strategy not in ("mean", "median"):
            raise ValueError(f"strategy must be 'mean' or 'median', got {strategy!r}")
        self.strategy = strategy

    def _fit(self, X: torch.Tensor) -> None:
        empty = torch.isnan(X).all(dim=0)
        if empty.any():
            cols = empty.nonzero().flatten().tolist()
            raise ValueError(f"column(s) {cols} have no observed value in the training data; "
                             "drop them before imputing")
        if self.strategy == "mean":
            self.statistics_ = torch.nanmean(X, dim=0)
        else:
            self.statistics_ = torch.nanquantile(X, 0.5, dim=0)  # averages the middle pair

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        return torch.where(torch.isnan(X), self._stat("statistics_", X), X)


# ---------------------------------------------------------------- outliers


class OutlierClipper(_Transformer):
    """Clip each column to bounds computed on the training split.

    Args:
        method: ``"iqr"``: bounds ``[Q1 - k*IQR, Q3 + k*IQR]`` with the quartiles Q1, Q3
            and IQR = Q3 - Q1 (Tukey's fences; robust). ``"zscore"``: bounds
            ``mean ± k*std`` (the outliers themselves inflate the std).
        k: the width of the fences: 1.5 is customary for IQR, 3 for z-scores.

    Missing values stay missing. ``outliers(X)`` marks rows with a value outside the
    bounds, to drop them instead of clipping.
    """

    def __init__(self, method: str = "iqr", k: float | None = None) -> None:
        if method not in ("iqr", "zscore"):
            raise ValueError(f"method must be 'iqr' or 'zscore', got {method!r}")
        k = (1.5 if method == "iqr" else 3.0) if k is None else k
        if not k > 0:
            raise ValueError(f"k must be positive, got {k}")
        self.method, self.k = method, float(k)

    def _fit(self, X: torch.Tensor) -> None:
        if self.method == "iqr":
            q1, q3 = torch.nanquantile(X, torch.tensor([0.25, 0.75], dtype=X.dtype), dim=0)
            self.lower_, self.upper_ = q1 - self.k * (q3 - q1), q3 + self.k * (q3 - q1)
        else:
            mean = torch.nanmean(X, dim=0)
            std = torch.nanmean((X - mean) ** 2, dim=0).sqrt()
            self.lower_, self.upper_ = mean - self.k * std, mean + self.k * std

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(X, self._stat("lower_", X)), self._stat("upper_", X))

    def outliers(self, X: Array) -> Array:
        """A boolean mask of the rows with at least one value outside the fitted bounds."""
        self.transform(X)  # validates
        t, was_numpy = _matrix(X)
        mask = ((t < self._stat("lower_", t)) | (t > self._stat("upper_", t))).any(dim=1)
        return _back(mask, was_numpy)


# ---------------------------------------------------------------- scaling


class Standardizer(_Transformer):
    """Standardize each column: ``z = (x - mean) / std`` with the training mean and std.

    The std is the population one (divide by n, as scikit-learn's ``StandardScaler``);
    a constant column has std 0 and is only centred (scale 1), never divided by zero.
    ``inverse_transform`` maps back.
    """

    def _fit(self, X: torch.Tensor) -> None:
        _check_finite(X)
        self.mean_ = X.mean(dim=0)
        std = X.std(dim=0, correction=0) if X.shape[0] > 1 else torch.zeros_like(self.mean_)
        # a (near-)constant column: keep it centred at zero instead of amplifying round-off
        constant = std <= 10 * torch.finfo(X.dtype).eps * self.mean_.abs().clamp(min=1.0)
        self.scale_ = torch.where(constant, torch.ones_like(std), std)

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        return (X - self._stat("mean_", X)) / self._stat("scale_", X)

    def inverse_transform(self, Z: Array) -> Array:
        t, was_numpy = _matrix(Z, "Z")
        self.transform(Z)  # validates fitted state and width
        return _back(t * self._stat("scale_", t) + self._stat("mean_", t), was_numpy)


class MinMaxScaler(_Transformer):
    """Rescale each column to ``feature_range`` (default [0, 1]) with the training min and max.

    ``x' = lo + (x - min) / (max - min) * (hi - lo)``. A constant column maps to ``lo``
    (as in scikit-learn). Validation values outside the training range land outside
    ``feature_range``: that is expected, not an error.
    """

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        lo, hi = feature_range
        if not lo < hi:
            raise ValueError(f"feature_range must be (low, high) with low < high, "
                             f"got {feature_range}")
        self.feature_range = (float(lo), float(hi))

    def _fit(self, X: torch.Tensor) -> None:
        _check_finite(X)
        self.min_, self.max_ = X.min(dim=0).values, X.max(dim=0).values
        span = self.max_ - self.min_
        self.span_ = torch.where(span == 0, torch.ones_like(span), span)

    def _transform(self, X: torch.Tensor) -> torch.Tensor:
        lo, hi = self.feature_range
        return lo + (X - self._stat("min_", X)) / self._stat("span_", X) * (hi - lo)

    def inverse_transform(self, Z: Array) -> Array:
        t, was_numpy = _matrix(Z, "Z")
        self.transform(Z)
        lo, hi = self.feature_range
        return _back((t - lo) / (hi - lo) * self._stat("span_", t) + self._stat("min_", t),
                     was_numpy)


# ---------------------------------------------------------------- splitting


def train_val_split(
    X: Array,
    y: Array | None = None,
    val_fraction: float = 0.2,
    *,
    seed: int = 0,
    stratify: bool = False,
) -> tuple:
    """Shuffle the rows with ``seed`` and split them: ``X_train, X_val, y_train, y_val``.

    The same seed always gives the same split. ``stratify=True`` keeps each class's share
    of ``y`` in both parts (each class contributes ``round(val_fraction * count)`` rows).
    Without ``y`` it returns ``X_train, X_val``. X may also be a dict of tensors.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    n = len(next(iter(X.values()))) if isinstance(X, dict) else len(X)
    if y is not None and len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}")
    g = torch.Generator().manual_seed(seed)
    if stratify:
        if y is None:
            raise ValueError("stratify=True needs the labels y")
        # class codes 0..K-1 of any labels (ints, strings, a tensor, a pandas Series)
        values = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        labels = torch.from_numpy(np.unique(values, return_inverse=True)[1].reshape(-1))
        val_idx, train_idx = [], []
        for c in torch.unique(labels):
            rows = (labels == c).nonzero().flatten()
            rows = rows[torch.randperm(len(rows), generator=g)]
            k = int(round(val_fraction * len(rows)))
            val_idx.append(rows[:k])
            train_idx.append(rows[k:])
        val = torch.cat(val_idx)[torch.randperm(sum(len(v) for v in val_idx), generator=g)]
        train = torch.cat(train_idx)[torch.randperm(sum(len(t) for t in train_idx), generator=g)]
    else:
        order = torch.randperm(n, generator=g)
        k = int(round(val_fraction * n))
        val, train = order[:k], order[k:]
    if len(val) == 0 or len(train) == 0:
        raise ValueError(f"val_fraction={val_fraction} of {n} rows leaves an empty split")

    def take(a: Array, idx: torch.Tensor) -> Array:
        if isinstance(a, dict):
            return {k: take(v, idx) for k, v in a.items()}
        return _take_rows(a, idx)  # tensors, arrays, pandas, lists of texts or labels

    out = [take(X, train), take(X, val)]
    if y is not None:
        out += [take(y, train), take(y, val)]
    return tuple(out)


# ---------------------------------------------------------------- augmentation


def add_gaussian_noise(X: torch.Tensor, std: float = 0.1, *,
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """``X + noise`` with independent N(0, std²) noise: new, nearby training examples.

    Use it on standardized features (so one ``std`` fits all columns), on the training
    split only, freshly each epoch.
    """
    if not isinstance(X, torch.Tensor) or not X.is_floating_point():
        raise TypeError("X must be a floating-point torch tensor")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    noise = torch.randn(X.shape, generator=generator, dtype=X.dtype).to(X.device)
    return X + std * noise


def mixup(X: torch.Tensor, y: torch.Tensor, alpha: float = 0.2, *,
          num_classes: int | None = None,
          generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al., 2018): blend random pairs of examples and their targets.

    ``x = λ x_i + (1-λ) x_j``, ``y = λ y_i + (1-λ) y_j`` with one λ ~ Beta(α, α) per
    example and j a random permutation. Integer class labels become soft label
    vectors (rows summing to 1, for ``cross_entropy`` with probability targets);
    float targets are mixed as they are.
    """
    if not isinstance(X, torch.Tensor) or not X.is_floating_point():
        raise TypeError("X must be a floating-point torch tensor")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    alpha = _args.real("alpha", alpha, above=0, expected="positive (a number > 0)")
    n = len(X)
    if not y.is_floating_point():
        k = int(y.max()) + 1 if num_classes is None else _args.integer("num_classes", num_classes, minimum=1)
        if y.min() < 0 or y.max() >= k:
            raise ValueError(f"labels must be in [0, {k - 1}], got {int(y.min())}..{int(y.max())}")
        y = torch.nn.functional.one_hot(y.long(), k).to(X.dtype)
    # λ ~ Beta(α, α), drawn by NumPy from a seed taken from the torch generator (reproducible)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    lam = torch.from_numpy(np.random.default_rng(seed).beta(alpha, alpha, n)).to(X.dtype)
    lam = lam.to(X.device)
    perm = torch.randperm(n, generator=generator).to(X.device)
    shape = (n,) + (1,) * (X.ndim - 1)
    X_mix = lam.view(shape) * X + (1 - lam.view(shape)) * X[perm]
    yshape = (n,) + (1,) * (y.ndim - 1)
    y_mix = lam.view(yshape).to(y.dtype) * y + (1 - lam.view(yshape).to(y.dtype)) * y[perm]
    return X_mix, y_mix


# ---------------------------------------------------------------- a toy data set


def make_tabular(
    n: int = 100,
    n_features: int = 5,
    *,
    seed: int = 0,
    missing_fraction: float = 0.0,
    outlier_fraction: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """A small binary classification table whose columns have very different scales.

    The label is an XOR of the first two standardized features (1 when they have the
    same sign), so no straight line separates the classes and a linear model stays
    near chance, while a two-layer perceptron learns it. Feature j has scale
    ``10 ** (j % 4 - 1)`` and an offset, so unscaled features train badly.
    ``missing_fraction`` of the entries become NaN and ``outlier_fraction`` of the rows
    get one value pushed more than 20 of its column's scales away, to practise cleaning.
    Returns ``X`` (float32, n × n_features) and ``y`` (int64, n).
    """
    if n < 2 or n_features < 2:
        raise ValueError(f"need n >= 2 rows and n_features >= 2, got {n} and {n_features}")
    if not 0 <= missing_fraction < 1 or not 0 <= outlier_fraction < 1:
        raise ValueError("missing_fraction and outlier_fraction must be in [0, 1)")
    g = torch.Generator().manual_seed(seed)
    Z = torch.randn(n, n_features, generator=g, dtype=torch.float64)
    y = (Z[:, 0] * Z[:, 1] > 0).long()  # XOR of two signs: about half the rows
    scales = 10.0 ** (torch.arange(n_features, dtype=torch.float64) % 4 - 1)
    offsets = torch.linspace(-3, 50, n_features, dtype=torch.float64)
    X = Z * scales + offsets
    if outlier_fraction:
        rows = torch.randperm(n, generator=g)[: max(1, int(round(outlier_fraction * n)))]
        cols = torch.randint(0, n_features, (len(rows),), generator=g)
        X[rows, cols] = offsets[cols] + scales[cols] * 20 * (Z[rows, cols].abs() + 1)
    if missing_fraction:
        missing = torch.rand(n, n_features, generator=g, dtype=torch.float64) < missing_fraction
        X[missing] = float("nan")
    return X.float(), y


# News data lives in its own module (chapter 07); the course's data API re-exports it.
from bigmodel_lib.news import (  # noqa: E402
    AG_NEWS_CLASSES,
    NewsSplit,
    clean_news_text,
    load_news,
    read_news_csv,
)
