"""Loss functions written from their math: MSE, cross-entropy, binary CE, GAN losses (chapter 02).

Every loss here is a mean over the batch and an ordinary differentiable torch
function, so ``loss.backward()`` works. Each one is checked in the tests against
``torch.nn.functional`` (to 1e-9 in float64). Two tricks keep them finite for
any logits, even +-1000:

- log-softmax through the log-sum-exp trick:
  ``log softmax(z)_k = z_k - m - log sum_j exp(z_j - m)`` with ``m = max_j z_j``;
- binary cross-entropy with logits through a stable softplus:
  ``softplus(z) = log(1 + e^z) = max(z, 0) + log(1 + e^-|z|)``.

Bad input (a shape mismatch, a label out of range, a probability outside [0, 1],
an empty batch, a wrong dtype) raises ``ValueError`` or ``TypeError`` saying what was
expected, instead of a silent wrong number or an error from deep inside torch.
"""

from __future__ import annotations

import torch

from bigmodel_lib import _args

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gan_discriminator_loss",
    "gan_generator_loss",
    "log_softmax",
    "mse",
    "softplus",
]

_LOG_FLOOR = -100.0  # torch's binary_cross_entropy floors each log at -100; so do we


# --- input checks -------------------------------------------------------------------------


def _tensor(name: str, x: object) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; "
            f"convert it with torch.as_tensor({name}, dtype=torch.float32)"
        )
    return x


def _floating(name: str, x: object) -> torch.Tensor:
    x = _tensor(name, x)
    if not torch.is_floating_point(x):
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {x.dtype}; "
            f"convert it with {name}.float()"
        )
    return x


def _nonempty(name: str, x: torch.Tensor) -> None:
    if x.numel() == 0:
        raise ValueError(
            f"{name} is empty (shape {tuple(x.shape)}): the mean of a loss over an empty "
            "batch is undefined; pass at least one example"
        )


def _same_shape(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} has shape {tuple(a.shape)} but {name_b} has shape {tuple(b.shape)}; "
            "they must have the same shape (no silent broadcasting: a (N, 1) prediction "
            "against an (N,) target would compare every prediction with every target)"
        )


def _in_unit_interval(name: str, x: torch.Tensor) -> None:
    with torch.no_grad():
        inside = bool(((x >= 0) & (x <= 1)).all())
        if not inside:
            nan = " and NaN" if bool(torch.isnan(x).any()) else ""
            finite = x[~torch.isnan(x)]
            span = (
                f"values from {finite.min().item():.4g} to {finite.max().item():.4g}{nan}"
                if finite.numel()
                else "only NaN"
            )
            raise ValueError(
                f"{name} must be probabilities in [0, 1], got {span}; if these are logits "
                "(raw scores), use the *_with_logits loss instead"
            )


# --- building blocks ----------------------------------------------------------------------


def log_softmax(logits: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """``log softmax(z)_k = z_k - logsumexp(z)``, computed with the log-sum-exp trick.

    ``logsumexp(z) = m + log sum_j exp(z_j - m)`` with ``m = max_j z_j``: every
    exponent is <= 0, so nothing overflows, and the largest term is exp(0) = 1, so
    the log never sees 0. Chapter 02 shows the naive formula overflowing.
    """
    logits = _floating("logits", logits)
    m = logits.amax(dim=dim, keepdim=True)
    # Shifting by a constant changes nothing mathematically, so no gradient flows
    # through m; rows that are all -inf (fully masked) are shifted by 0 instead.
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m)).detach()
    shifted = logits - m
    return shifted - torch.log(torch.exp(shifted).sum(dim=dim, keepdim=True))


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``softplus(x) = log(1 + e^x)``, computed as ``max(x, 0) + log(1 + e^-|x|)``.

    The exponent is never positive, so e^1000 never appears. Both pieces switch at
    the same point (x > 0), which keeps the gradient exactly sigmoid(x), also at 0.
    """
    x = _floating("x", x)
    positive = x > 0
    return torch.where(positive, x, 0.0) + torch.log1p(torch.exp(torch.where(positive, -x, x)))


def _floored_log(x: torch.Tensor) -> torch.Tensor:
    """log(x) floored at -100 (as torch's BCE does), with a finite gradient at x = 0."""
    positive = x > 0
    # log is only ever taken of positive numbers, so no -inf (and no NaN gradient) appears
    safe = torch.where(positive, x, 1.0)
    return torch.where(positive, torch.log(safe).clamp_min(_LOG_FLOOR), _LOG_FLOOR)


# --- the losses ---------------------------------------------------------------------------


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error ``mean_i (pred_i - target_i)^2`` over every element.

    ``pred`` and ``target`` must be floating tensors of the same shape (no
    broadcasting). Minimising it is maximum likelihood under Gaussian noise.
    """
    pred, target = _floating("pred", pred), _floating("target", target)
    _same_shape("pred", pred, "target", target)
    _nonempty("pred", pred)
    return ((pred - target) ** 2).mean()


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy between softmax(logits) over dim 1 and the targets, averaged.

    Args:
        logits: raw scores, floating, shape (N, C) or (N, C, d1, ..., dk) (e.g. one
            prediction per token); the class dimension is dim 1, as in torch.
        target: either class indices, an integer tensor of shape (N,) (or
            (N, d1, ..., dk)) with values in [0, C - 1]: the loss is
            ``-mean_i log softmax(z_i)[y_i]``; or class probabilities, a floating
            tensor of the logits' shape whose rows (along dim 1) lie in [0, 1] and
            sum to 1: the loss is ``-mean_i sum_k q_ik log softmax(z_i)_k``.

    The mean runs over N (and d1, ..., dk), like ``F.cross_entropy``. There is no
    ``ignore_index``: drop padded positions before calling it.
    """
    logits, target = _floating("logits", logits), _tensor("target", target)
    if logits.dim() < 2:
        raise ValueError(
            f"logits must have shape (N, C) or (N, C, d1, ...), got {tuple(logits.shape)}; "
            "for a single example add a batch dimension: logits[None]"
        )
    n_classes = logits.shape[1]
    _nonempty("logits", logits)
    index_shape = logits.shape[:1] + logits.shape[2:]
    logp = log_softmax(logits, dim=1)

    if torch.is_floating_point(target):
        if target.shape == index_shape:
            raise TypeError(
                f"target of shape {tuple(target.shape)} looks like class indices but has dtype "
                f"{target.dtype}; class indices must be an integer tensor (use target.long()), "
                f"class probabilities a float tensor of the logits' shape {tuple(logits.shape)}"
            )
        if target.shape != logits.shape:
            raise ValueError(
                f"probability target has shape {tuple(target.shape)} but logits have shape "
                f"{tuple(logits.shape)}; they must match (or pass class indices of shape "
                f"{tuple(index_shape)})"
            )
        _in_unit_interval("target", target)
        with torch.no_grad():
            sums = target.sum(dim=1).flatten()
            worst = int((sums - 1).abs().argmax())
        tol = max(1e-3, 10 * n_classes * torch.finfo(target.dtype).eps)
        if abs(float(sums[worst]) - 1) > tol:
            raise ValueError(
                "probability targets must sum to 1 over the classes (dim 1); "
                f"one sums to {float(sums[worst]):.4g}"
            )
        return -(target * logp).sum(dim=1).mean()

    if target.dtype == torch.bool or target.is_complex():
        raise TypeError(
            "target must be integer class indices (torch.long) or float probabilities, "
            f"got {target.dtype}"
        )
    if target.shape != index_shape:
        extra_dim = target.dim() == len(index_shape) + 1 and target.shape[1] == 1
        hint = " (drop the extra dimension: target.squeeze(1))" if extra_dim else ""
        raise ValueError(
            f"class-index target must have shape {tuple(index_shape)} for logits of shape "
            f"{tuple(logits.shape)}, got {tuple(target.shape)}{hint}"
        )
    low, high = int(target.min()), int(target.max())
    if low < 0 or high >= n_classes:
        bad = low if low < 0 else high
        raise ValueError(
            f"class indices must lie in [0, {n_classes - 1}] for {n_classes} classes, found {bad}"
            + (" (labels numbered 1..C? subtract 1)" if bad == n_classes else "")
            + (" (no ignore_index here: drop those positions first)" if bad < 0 else "")
        )
    picked = logp.gather(1, target.long().unsqueeze(1)).squeeze(1)
    return -picked.mean()


def binary_cross_entropy(probs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy ``-mean[y log p + (1 - y) log(1 - p)]`` on probabilities.

    ``probs`` and ``target`` are floating tensors of the same shape with values in
    [0, 1]. Like ``F.binary_cross_entropy``, each log is floored at -100, so p = 0
    or 1 on the wrong side costs 100 rather than infinity (and the gradient there is
    0). Prefer ``binary_cross_entropy_with_logits``: a sigmoid rounded to exactly 1
    has already lost the information the loss needs (chapter 02, pitfalls).
    """
    probs, target = _floating("probs", probs), _floating("target", target)
    _same_shape("probs", probs, "target", target)
    _nonempty("probs", probs)
    _in_unit_interval("probs", probs)
    _in_unit_interval("target", target)
    p, y = probs, target
    return -(y * _floored_log(p) + (1 - y) * _floored_log(1 - p)).mean()


def binary_cross_entropy_with_logits(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of ``p = sigmoid(z)``, computed from the logits ``z``.

    ``-[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = softplus(z) - y z``, and the
    stable softplus keeps it finite for any z. The gradient is ``sigmoid(z) - y``.
    ``target`` is a floating tensor of the logits' shape with values in [0, 1].
    """
    logits, target = _floating("logits", logits), _floating("target", target)
    _same_shape("logits", logits, "target", target)
    _nonempty("logits", logits)
    _in_unit_interval("target", target)
    return (softplus(logits) - target * logits).mean()


def gan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's loss: the SUM of two means, ``-E_x[log D(x)] - E_z[log(1 - D(G(z)))]``.

    ``D = sigmoid(logit)`` is the probability that a sample is real. ``real_logits``
    are D's logits on data x, ``fake_logits`` on generated samples G(z); each term is
    averaged over its own batch (the two batches may differ in size). Convention:
    the two terms are added, not averaged, so this equals

        ``BCE_with_logits(real_logits, 1) + BCE_with_logits(fake_logits, 0)``

    which is ``-V(D, G)`` of Goodfellow et al. (2014). At the game's end, when D
    cannot tell real from fake (D = 1/2 everywhere), it equals 2 log 2 ~ 1.386.
    Some code bases halve it; that only rescales D's learning rate.
    """
    real_logits = _floating("real_logits", real_logits)
    fake_logits = _floating("fake_logits", fake_logits)
    _nonempty("real_logits", real_logits)
    _nonempty("fake_logits", fake_logits)
    # -log sigmoid(z) = softplus(-z)  and  -log(1 - sigmoid(z)) = softplus(z)
    return softplus(-real_logits).mean() + softplus(fake_logits).mean()


def gan_generator_loss(fake_logits: torch.Tensor, non_saturating: bool = True) -> torch.Tensor:
    """The generator's loss, on D's logits for GENERATED samples G(z) (never on real data).

    - ``non_saturating=True`` (default, what everyone trains with):
      ``-E_z[log D(G(z))] = BCE_with_logits(fake_logits, 1)``; its gradient is
      strongest when D confidently rejects the fakes, i.e. early in training.
    - ``non_saturating=False``, the minimax loss of the original game:
      ``E_z[log(1 - D(G(z)))]``; the generator minimises it, but its gradient
      vanishes as D(G(z)) -> 0, exactly when the generator is worst.
    """
    fake_logits = _floating("fake_logits", fake_logits)
    non_saturating = _args.flag("non_saturating", non_saturating)
    _nonempty("fake_logits", fake_logits)
    if non_saturating:
        return softplus(-fake_logits).mean()  # -log sigmoid(z)
    return -softplus(fake_logits).mean()  # log(1 - sigmoid(z))
