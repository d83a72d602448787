"""Choosing a model honestly: cross-validation, hyperparameter search, ensembles (chapter 06).

- ``kfold`` / ``stratified_kfold``: (train indices, validation indices) for each fold.
- ``cross_validate(train_fn, X, y, k)``: runs any fit-style function
  ``train_fn(X_train, y_train, X_val, y_val) -> score`` once per fold.
- ``grid_search``, ``random_search``, ``bayesian_optimization``: maximise (or minimise)
  ``objective(params) -> score`` over a search space such as
  ``{"lr": LogUniform(1e-4, 1e-1), "dropout": Uniform(0, 0.5), "width": [32, 64, 128]}``.
  Bayesian optimisation fits a Gaussian process (``GaussianProcess``, RBF kernel,
  Cholesky with jitter) to the scores so far and evaluates next the point with the
  largest ``expected_improvement``.
- ``average_probabilities`` / ``majority_vote``: simple ensembles.

Everything is written from scratch in NumPy; the tests compare splits with
scikit-learn's ``KFold`` / ``StratifiedKFold`` and the GP posterior with its
``GaussianProcessRegressor``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bigmodel_lib import _args
from bigmodel_lib.progress import progress

Split = tuple[np.ndarray, np.ndarray]

__all__ = [
    "CVResult",
    "GaussianProcess",
    "LogUniform",
    "SearchResult",
    "Uniform",
    "average_probabilities",
    "bayesian_optimization",
    "cross_validate",
    "expected_improvement",
    "fit_gp",
    "grid_search",
    "kfold",
    "majority_vote",
    "random_search",
    "rbf_kernel",
    "stratified_kfold",
]


def _check_k(k: int, n: int) -> None:
    k = _args.integer("k", k, minimum=2, expected="an integer >= 2 (number of folds)")
    if k > n:
        raise ValueError(f"cannot split {n} samples into k={k} folds; use k <= {n}")


def _folds_from_assignment(fold_of: np.ndarray, k: int) -> list[Split]:
    """Turn 'sample i belongs to fold f' into sorted (train, validation) index pairs."""
    every = np.arange(len(fold_of))
    return [(every[fold_of != f], every[fold_of == f]) for f in range(k)]


# ---------------------------------------------------------------- splits
def kfold(n: int, k: int = 5, *, shuffle: bool = True, seed: int = 0) -> list[Split]:
    """Split ``range(n)`` into ``k`` folds; each fold is the validation set once.

    Returns ``k`` pairs ``(train_idx, val_idx)`` of sorted index arrays. The first
    ``n % k`` folds hold one sample more than the others. With ``shuffle`` the samples
    are assigned to folds in a random order drawn from ``seed``; without it, fold 0 is
    the first block of samples, fold 1 the next, ... (the same as scikit-learn's
    ``KFold(k)``), which is wrong whenever the data are sorted (by class, by date).
    """
    n = _args.integer("n", n, minimum=1, expected="a positive number of samples")
    _check_k(k, n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    fold_of = np.empty(n, dtype=np.int64)
    fold_of[order] = np.repeat(np.arange(k), sizes)
    return _folds_from_assignment(fold_of, k)


def stratified_kfold(y: Any, k: int = 5, *, shuffle: bool = True, seed: int = 0) -> list[Split]:
    """k folds that keep each class's share: every fold gets about ``1/k`` of every class.

    How many samples of each class go to each fold: deal the samples, sorted by class,
    round-robin over the folds (so fold sizes also differ by at most one). Which
    samples: within a class, the first ones (in data order, or in a random order with
    ``shuffle``) fill fold 0, the next ones fold 1, ... Without shuffling this is
    exactly scikit-learn's ``StratifiedKFold(k)``.
    """
    labels = _class_labels(y)
    n = len(labels)
    _check_k(k, n)
    # number the classes in order of first appearance (as scikit-learn does); the order
    # decides which classes get the remainder samples in the first folds
    classes, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    y_index = np.argsort(np.argsort(first))[inverse]
    counts = np.bincount(y_index)
    if np.all(counts < k):
        raise ValueError(f"every class has fewer than k={k} samples (counts {counts.tolist()})")
    if counts.min() < k:
        warnings.warn(
            f"the smallest class has only {counts.min()} samples, fewer than k={k}: "
            "some folds will not contain it",
            stacklevel=2,
        )
    # allocation[f, c]: how many samples of class c go to fold f
    dealt = np.sort(y_index)
    allocation = np.stack([np.bincount(dealt[f::k], minlength=len(classes)) for f in range(k)])
    rng = np.random.default_rng(seed)
    fold_of = np.empty(n, dtype=np.int64)
    for c in range(len(classes)):
        members = np.flatnonzero(y_index == c)
        if shuffle:
            members = rng.permutation(members)
        fold_of[members] = np.repeat(np.arange(k), allocation[:, c])
    return _folds_from_assignment(fold_of, k)


def _class_labels(y: Any) -> np.ndarray:
    a = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"y must be a non-empty 1-D sequence of class labels, got shape {a.shape}")
    if a.dtype == bool or np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int64)
    if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
        return a.astype(np.int64)
    raise ValueError(f"stratified splits need integer class labels, got dtype {a.dtype}")


# ---------------------------------------------------------------- cross-validation
def _take(data: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a tensor, array, DataFrame or list."""
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(idx, device=data.device)]
    if isinstance(data, np.ndarray):
        return data[idx]
    if hasattr(data, "iloc"):
        return data.iloc[idx]
    if isinstance(data, Sequence) and not isinstance(data, str | bytes):
        return [data[i] for i in idx]
    raise TypeError(f"cannot index rows of {type(data).__name__}; pass a tensor, array or list")


@dataclass
class CVResult:
    """The k validation scores of a cross-validation, with their mean and spread."""

    scores: np.ndarray
    folds: list[Split] = field(repr=False)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        """Sample standard deviation of the fold scores (ddof=1)."""
        return float(np.std(self.scores, ddof=1)) if len(self.scores) > 1 else 0.0

    @property
    def sem(self) -> float:
        """Standard error of the mean score, std / sqrt(k) (folds are not independent: a
        rough error bar, often too small)."""
        return self.std / math.sqrt(len(self.scores))

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.std:.4f} (std over {len(self.scores)} folds)"


def cross_validate(
    train_fn: Callable[[Any, Any, Any, Any], float],
    X: Any,
    y: Any,
    k: int = 5,
    *,
    stratified: bool | None = None,
    shuffle: bool = True,
    seed: int = 0,
    show_progress: bool = False,
) -> CVResult:
    """k-fold cross-validation of any training function.

    ``train_fn(X_train, y_train, X_val, y_val)`` trains a fresh model on the training
    part and returns its score on the validation part (a number). It is called once
    per fold; the rows are taken with the same type as ``X`` and ``y`` (tensor, array,
    DataFrame, list). ``stratified``: None chooses stratified folds when ``y`` holds
    integer class labels, plain k-fold otherwise.
    """
    if not callable(train_fn):
        raise TypeError(
            "train_fn must be a function train_fn(X_train, y_train, X_val, y_val) -> score"
        )
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X has {n} rows but y has {len(y)}; they must match")
    if stratified is None:  # class labels: keep each class's share in every fold
        values = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        stratified = values.dtype == bool or np.issubdtype(values.dtype, np.integer)
    folds = (
        stratified_kfold(y, k, shuffle=shuffle, seed=seed)
        if stratified
        else kfold(n, k, shuffle=shuffle, seed=seed)
    )
    scores = []
    for train_idx, val_idx in progress(folds, desc="folds", disable=not show_progress):
        score = train_fn(
            _take(X, train_idx), _take(y, train_idx), _take(X, val_idx), _take(y, val_idx)
        )
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise TypeError(
                f"train_fn must return a number (the validation score), got {score!r}"
            ) from None
        if not math.isfinite(score):
            raise ValueError(f"train_fn returned {score} on a fold; scores must be finite")
        scores.append(score)
    return CVResult(np.array(scores), folds)


# ---------------------------------------------------------------- search spaces
@dataclass(frozen=True)
class Uniform:
    """A real number drawn evenly from [low, high]."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"{type(self).__name__} needs finite low < high, got {self.low}, {self.high}"
            )

    def from_unit(self, u: float) -> float:
        return self.low + float(u) * (self.high - self.low)

    def to_unit(self, value: float) -> float:
        return (value - self.low) / (self.high - self.low)

    def grid(self, points: int) -> list[float]:
        return [self.from_unit(u) for u in np.linspace(0, 1, points)]


@dataclass(frozen=True)
class LogUniform(Uniform):
    """A positive number whose logarithm is uniform: each decade is as likely (learning rates)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.low <= 0:
            raise ValueError(f"LogUniform needs low > 0, got {self.low}")

    def from_unit(self, u: float) -> float:
        if u >= 1:
            return float(self.high)  # exactly, not exp(log(high)) with a rounding error
        return float(math.exp(math.log(self.low) + float(u) * math.log(self.high / self.low)))

    def to_unit(self, value: float) -> float:
        return math.log(value / self.low) / math.log(self.high / self.low)


def _dimensions(space: dict[str, Any]) -> dict[str, Uniform | list]:
    if not isinstance(space, dict) or not space:
        raise ValueError(
            "space must be a non-empty dict {name: Uniform(...) | LogUniform(...) | [choices]}"
        )
    dims = {}
    for name, dim in space.items():
        if isinstance(dim, Uniform):
            dims[name] = dim
        elif isinstance(dim, list | tuple) and len(dim) > 0:
            dims[name] = list(dim)
        else:
            raise ValueError(
                f"space[{name!r}] must be Uniform(low, high), LogUniform(low, high) or a non-empty "
                f"list of choices, got {dim!r}"
            )
    return dims


def _from_unit(dims: dict[str, Uniform | list], u: np.ndarray) -> dict[str, Any]:
    """A point of the unit cube as parameters (a choice among n takes 1/n of [0, 1])."""
    params = {}
    for (name, dim), ui in zip(dims.items(), u, strict=True):
        if isinstance(dim, Uniform):
            params[name] = dim.from_unit(ui)
        else:
            params[name] = dim[min(int(ui * len(dim)), len(dim) - 1)]
    return params


def _to_unit(dims: dict[str, Uniform | list], params: dict[str, Any]) -> np.ndarray:
    u = []
    for name, dim in dims.items():
        if isinstance(dim, Uniform):
            u.append(dim.to_unit(params[name]))
        else:
            u.append((dim.index(params[name]) + 0.5) / len(dim))
    return np.array(u)


@dataclass
class SearchResult:
    """Every trial of a search: its parameters and score, in the order they were run."""

    method: str
    params: list[dict[str, Any]]
    scores: np.ndarray
    maximize: bool = True

    @property
    def best_index(self) -> int:
        return int(np.argmax(self.scores) if self.maximize else np.argmin(self.scores))

    @property
    def best_params(self) -> dict[str, Any]:
        return self.params[self.best_index]

    @property
    def best_score(self) -> float:
        return float(self.scores[self.best_index])

    def best_so_far(self) -> np.ndarray:
        """The best score among the first t trials, for t = 1, 2, ..."""
        return (np.maximum if self.maximize else np.minimum).accumulate(self.scores)

    def __len__(self) -> int:
        return len(self.scores)


def _run(method, objective, trials, maximize, show_progress) -> SearchResult:
    if not callable(objective):
        raise TypeError("objective must be a function objective(params: dict) -> score")
    params, scores = [], []
    for p in progress(trials, desc=method, disable=not show_progress):
        params.append(p)
        scores.append(_score(objective, p))
    return SearchResult(method, params, np.array(scores), maximize)


def _score(objective, params) -> float:
    score = objective(dict(params))
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise TypeError(f"objective must return a number, got {score!r} for {params}") from None
    if not math.isfinite(score):
        raise ValueError(
            f"objective returned {score} for {params}; return a finite score for a failed run "
            "(e.g. the worst possible one, such as the loss of a uniform guess)"
        )
    return score


def _check_trials(n_trials: int) -> None:
    _args.integer("n_trials", n_trials, minimum=1, expected="a positive integer")


def grid_search(
    objective: Callable[[dict[str, Any]], float],
    space: dict[str, Any],
    *,
    points: int = 3,
    maximize: bool = True,
    show_progress: bool = False,
) -> SearchResult:
    """Try every combination: lists as given, ``Uniform`` / ``LogUniform`` at ``points``
    evenly (log-evenly) spaced values including both ends. The budget is the product
    of the sizes, and an unimportant dimension multiplies it without helping."""
    dims = _dimensions(space)
    points = _args.integer("points", points, minimum=1, expected="a positive integer")
    axes = [d.grid(points) if isinstance(d, Uniform) else d for d in dims.values()]
    trials = [dict(zip(dims, values, strict=True)) for values in itertools.product(*axes)]
    return _run("grid", objective, trials, maximize, show_progress)


def random_search(
    objective: Callable[[dict[str, Any]], float],
    space: dict[str, Any],
    n_trials: int,
    *,
    seed: int = 0,
    maximize: bool = True,
    show_progress: bool = False,
) -> SearchResult:
    """Draw ``n_trials`` independent points of the space (seeded). Every trial tries a
    new value of every dimension, so the important ones get ``n_trials`` values each."""
    dims = _dimensions(space)
    _check_trials(n_trials)
    rng = np.random.default_rng(seed)
    trials = [_from_unit(dims, rng.random(len(dims))) for _ in range(n_trials)]
    return _run("random", objective, trials, maximize, show_progress)


# ---------------------------------------------------------------- Gaussian process
def rbf_kernel(
    a: np.ndarray, b: np.ndarray, length_scale: float = 1.0, variance: float = 1.0
) -> np.ndarray:
    """``k(x, x') = variance * exp(-|x - x'|^2 / (2 length_scale^2))`` for all rows of a and b."""
    a, b = (
        np.atleast_2d(np.asarray(a, dtype=np.float64)),
        np.atleast_2d(np.asarray(b, dtype=np.float64)),
    )
    sq_dist = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return variance * np.exp(-0.5 * sq_dist / length_scale**2)


class GaussianProcess:
    """GP regression with an RBF kernel: a distribution over functions, conditioned on data.

    Given observations ``y = f(X) + noise`` and test points ``X*``, with
    ``K = k(X, X) + noise * I`` and ``k* = k(X, X*)``:

        mean(X*) = k*^T K^{-1} y
        var(X*)  = k(X*, X*) - k*^T K^{-1} k*

    ``K^{-1}`` is never formed: ``K = L L^T`` (Cholesky), then two triangular solves.
    When ``K`` is numerically singular (repeated points, tiny noise) a small jitter is
    added to its diagonal until the factorisation succeeds (``jitter_`` says how much).
    """

    def __init__(
        self, length_scale: float = 1.0, variance: float = 1.0, noise: float = 1e-6
    ) -> None:
        if not length_scale > 0 or not variance > 0 or not noise >= 0:
            raise ValueError(
                "need length_scale > 0, variance > 0, noise >= 0; "
                f"got {length_scale}, {variance}, {noise}"
            )
        self.length_scale, self.variance, self.noise = (
            float(length_scale),
            float(variance),
            float(noise),
        )
        self.jitter_ = 0.0

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return rbf_kernel(a, b, self.length_scale, self.variance)

    def fit(self, X: Any, y: Any) -> GaussianProcess:
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y) or len(y) == 0:
            raise ValueError(
                f"fit needs X of shape (n, d) and y of shape (n,), got {X.shape} and {y.shape}"
            )
        if not (np.isfinite(X).all() and np.isfinite(y).all()):
            raise ValueError("X and y must be finite")
        K = self.kernel(X, X) + self.noise * np.eye(len(X))
        self.L_, self.jitter_ = _cholesky(K)
        self.alpha_ = _solve_lower_t(self.L_, _solve_lower(self.L_, y))  # K^{-1} y
        self.X_, self.y_ = X, y
        return self

    def predict(
        self, X: Any, return_std: bool = True
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "alpha_"):
            raise RuntimeError("call fit(X, y) before predict")
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        k_star = self.kernel(self.X_, X)
        mean = k_star.T @ self.alpha_
        if not return_std:
            return mean
        v = _solve_lower(self.L_, k_star)  # L^{-1} k*
        var = self.variance - np.sum(v**2, axis=0)
        return mean, np.sqrt(np.clip(var, 0.0, None))

    def log_marginal_likelihood(self) -> float:
        """``log p(y | X) = -y^T K^{-1} y / 2 - sum(log diag L) - n log(2 pi) / 2``: how well
        the kernel's length scale and noise explain the data (higher is better)."""
        if not hasattr(self, "alpha_"):
            raise RuntimeError("call fit(X, y) first")
        n = len(self.y_)
        return float(
            -0.5 * self.y_ @ self.alpha_
            - np.log(np.diag(self.L_)).sum()
            - 0.5 * n * math.log(2 * math.pi)
        )


def _cholesky(K: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.mean(np.diag(K)))
    for jitter in (0.0, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2):
        try:
            return np.linalg.cholesky(K + jitter * scale * np.eye(len(K))), jitter * scale
        except np.linalg.LinAlgError:
            continue
    raise ValueError(
        "the kernel matrix is not positive definite even with jitter; are X or y invalid?"
    )


def _solve_lower(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``L x = b`` for lower-triangular L by forward substitution (b: a vector or columns)."""
    x = np.zeros(b.shape)
    for i in range(len(L)):
        x[i] = (b[i] - L[i, :i] @ x[:i]) / L[i, i]
    return x


def _solve_lower_t(L: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve ``L^T x = b`` by back substitution."""
    x = np.zeros(b.shape)
    for i in reversed(range(len(L))):
        x[i] = (b[i] - L[i + 1 :, i] @ x[i + 1 :]) / L[i, i]
    return x


_erf = np.frompyfunc(math.erf, 1, 1)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """Phi(z) = (1 + erf(z / sqrt 2)) / 2."""
    return 0.5 * (1.0 + _erf(np.asarray(z, dtype=np.float64) / math.sqrt(2)).astype(np.float64))


def expected_improvement(mean: Any, std: Any, best: float, xi: float = 0.0) -> np.ndarray:
    """How much a point is expected to beat ``best`` (for maximisation), under the GP.

    With ``f ~ N(mean, std^2)`` and improvement ``I = max(f - best - xi, 0)``:

        EI = (mean - best - xi) * Phi(z) + std * phi(z),   z = (mean - best - xi) / std

    (Phi, phi: the standard normal cdf and density). Large where the mean is high
    (exploitation) or the uncertainty is large (exploration); ``xi >= 0`` tilts it
    towards exploration. Where ``std == 0``, EI is ``max(mean - best - xi, 0)``.
    """
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if np.any(std < 0):
        raise ValueError("std must be >= 0")
    gain = mean - best - xi
    safe_std = np.where(std > 0, std, 1.0)
    z = gain / safe_std
    pdf = np.exp(-0.5 * z**2) / math.sqrt(2 * math.pi)
    ei = gain * _normal_cdf(z) + std * pdf
    return np.where(std > 0, np.maximum(ei, 0.0), np.maximum(gain, 0.0))


def bayesian_optimization(
    objective: Callable[[dict[str, Any]], float],
    space: dict[str, Any],
    n_trials: int,
    *,
    n_initial: int | None = None,
    seed: int = 0,
    maximize: bool = True,
    xi: float = 0.01,
    n_candidates: int = 2000,
    show_progress: bool = False,
) -> SearchResult:
    """Search guided by a Gaussian process: fit it to the scores so far, evaluate the
    point with the largest expected improvement, repeat.

    The space is mapped to the unit cube (``LogUniform`` on a log scale, a choice among
    n to n equal intervals); scores are standardised. Each round the GP's length scale
    and noise are chosen by the log marginal likelihood over a small grid, and EI is
    maximised over ``n_candidates`` random points plus small moves around the best
    point. The first ``n_initial`` trials (default ``min(5, n_trials)``, at least 2
    needed for a GP to learn anything) are random, drawn like ``random_search``'s.
    """
    dims = _dimensions(space)
    _check_trials(n_trials)
    n_initial = min(5, n_trials) if n_initial is None else n_initial
    n_initial = _args.integer("n_initial", n_initial, minimum=1, maximum=n_trials,
                              expected=f"an integer in 1..n_trials={n_trials}")
    if not callable(objective):
        raise TypeError("objective must be a function objective(params: dict) -> score")
    rng = np.random.default_rng(seed)
    sign = 1.0 if maximize else -1.0
    params: list[dict[str, Any]] = []
    scores: list[float] = []
    units: list[np.ndarray] = []
    bar = progress(total=n_trials, desc="bayesian", disable=not show_progress)
    for trial in range(n_trials):
        if trial < n_initial:
            p = _from_unit(dims, rng.random(len(dims)))
        else:
            p = _next_point(
                dims, np.array(units), sign * np.array(scores), rng, xi, n_candidates, params
            )
        params.append(p)
        units.append(_to_unit(dims, p))
        scores.append(_score(objective, p))
        bar.update(1)
    bar.close()
    return SearchResult("bayesian", params, np.array(scores), maximize)


LENGTH_SCALES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
NOISES = (1e-6, 1e-3, 1e-2, 1e-1)


def fit_gp(X: np.ndarray, y: np.ndarray) -> GaussianProcess:
    """The GP (unit variance, on standardised y) whose length scale and noise, from a small
    grid, give the highest log marginal likelihood."""
    best = None
    for length_scale, noise in itertools.product(LENGTH_SCALES, NOISES):
        gp = GaussianProcess(length_scale=length_scale, noise=noise).fit(X, y)
        if best is None or gp.log_marginal_likelihood() > best.log_marginal_likelihood():
            best = gp
    return best


def _next_point(dims, X, y, rng, xi, n_candidates, seen) -> dict[str, Any]:
    y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
    gp = fit_gp(X, y)
    d = X.shape[1]
    around_best = np.clip(
        X[np.argmax(y)] + 0.05 * rng.standard_normal((n_candidates // 4, d)), 0, 1
    )
    candidates = np.vstack([rng.random((n_candidates, d)), around_best])
    mean, std = gp.predict(candidates)
    ei = expected_improvement(mean, std, best=float(y.max()), xi=xi)
    for i in np.argsort(-ei, kind="stable"):
        p = _from_unit(dims, candidates[i])
        if p not in seen:  # with choices, many candidates map to a point already tried
            return p
    return _from_unit(dims, candidates[int(np.argmax(ei))])


# ---------------------------------------------------------------- ensembles
def _as_float_stack(items: Sequence[Any], name: str) -> np.ndarray:
    arrays = list(items)
    if not arrays:
        raise ValueError(f"{name} needs at least one model's output")
    arrays = [
        a.detach().cpu().double().numpy()
        if isinstance(a, torch.Tensor)
        else np.asarray(a, dtype=np.float64)
        for a in arrays
    ]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"every model's output must have the same shape, got {sorted(shapes)}")
    stack = np.stack(arrays)
    if not np.isfinite(stack).all():
        raise ValueError(f"{name}: outputs contain NaN or infinity")
    return stack


def _weights(weights: Any, m: int) -> np.ndarray:
    if weights is None:
        return np.ones(m)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (m,) or np.any(w < 0) or w.sum() <= 0 or not np.isfinite(w).all():
        raise ValueError(f"weights must be {m} non-negative numbers, not all zero; got {weights!r}")
    return w


def average_probabilities(probs: Sequence[Any], weights: Any = None) -> np.ndarray:
    """Soft voting: the (weighted) mean of the models' class probabilities, shape (n, K).

    Averaging m models whose errors are partly independent shrinks the variance of the
    prediction: for equal variances s^2 and correlation rho,
    Var(mean) = rho s^2 + (1 - rho) s^2 / m.
    """
    stack = _as_float_stack(probs, "average_probabilities")
    if stack.ndim != 3:
        raise ValueError(
            f"each model's probabilities must have shape (n, K), got {stack.shape[1:]}"
        )
    w = _weights(weights, len(stack))
    return np.tensordot(w / w.sum(), stack, axes=1)


def majority_vote(
    predictions: Sequence[Any], weights: Any = None, num_classes: int | None = None
) -> np.ndarray:
    """Hard voting: for each sample the label most models predicted (ties: the smallest label)."""
    stack = _as_float_stack(predictions, "majority_vote")
    if stack.ndim != 2:
        raise ValueError(
            f"each model's predictions must be 1-D labels, got shape {stack.shape[1:]}"
        )
    if np.any(stack < 0) or np.any(stack != np.round(stack)):
        raise ValueError("predictions must be non-negative integer class labels")
    labels = stack.astype(np.int64)
    k = int(labels.max()) + 1 if num_classes is None else num_classes
    if labels.max() >= k:
        raise ValueError(f"a prediction {labels.max()} is outside 0..{k - 1} for num_classes={k}")
    w = _weights(weights, len(labels))
    votes = np.zeros((labels.shape[1], k))
    for model_labels, weight in zip(labels, w, strict=True):
        votes[np.arange(labels.shape[1]), model_labels] += weight
    return np.argmax(votes, axis=1)  # argmax returns the first maximum: the smallest label
