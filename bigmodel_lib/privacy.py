"""Privacy, measured: membership inference, DP-SGD from scratch, de-identification (chapter 11).

- ``per_sample_grads``: the gradient of *each* example's loss, for a whole batch at once
  (``torch.func``: ``grad`` of a one-example loss, vectorised over the batch by ``vmap``).
- ``dp_sgd_step``: one step of DP-SGD (Abadi et al. 2016): clip each example's gradient to
  norm ``C``, sum, add Gaussian noise of standard deviation ``sigma * C``, divide by the
  batch size, step. ``tests/test_privacy.py`` checks it against Opacus.
- ``dp_epsilon`` / ``dp_noise_multiplier``: the privacy accounting, done by Opacus's own
  accountant (a hand-written accountant is an easy place for a silent error).
- ``membership_auc`` / ``membership_advantage``: the loss-threshold membership-inference
  attack of Yeom et al. (2018), scored with ``bigmodel_lib.metrics``.
- De-identification: ``pseudonymize_text`` (emails, phone numbers, URLs, names from a
  list), and for tables ``drop_identifiers``, ``generalize``, ``k_anonymity``,
  ``suppress_small_groups``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from bigmodel_lib import metrics

__all__ = [
    "DPStep",
    "dp_epsilon",
    "dp_noise_multiplier",
    "dp_sgd_step",
    "drop_identifiers",
    "generalize",
    "k_anonymity",
    "membership_advantage",
    "membership_auc",
    "per_sample_grads",
    "pseudonymize_text",
    "suppress_small_groups",
]


# ---------------------------------------------------------------- input checks
def _check_no_batchnorm(model: nn.Module) -> None:
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            raise ValueError(
                f"the model has a batch-norm layer ({name or 'the model itself'}: "
                f"{type(module).__name__}); per-example DP cannot use batch norm, because it "
                "mixes the examples of a batch, so one example's gradient depends on the others "
                "and clipping it bounds nothing. Use nn.GroupNorm or nn.LayerNorm instead "
                "(Opacus's ModuleValidator.fix makes that swap)"
            )


def _positive_number(name: str, value: Any, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")
    return float(value)


def _batch(x: Any, y: Any) -> int:
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"x and y must be torch tensors, got {type(x).__name__} and {type(y).__name__}")
    if x.dim() == 0 or y.dim() == 0:
        raise ValueError("x and y need a batch dimension first (one row per example)")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}; they must pair up")
    return len(x)


def _trainable(model: nn.Module) -> dict[str, torch.Tensor]:
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("the model has no trainable parameters (requires_grad=True)")
    return params


# ---------------------------------------------------------------- per-example gradients
def per_sample_grads(model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                     x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The gradient of each example's loss with respect to each trainable parameter.

    ``loss_fn(outputs, targets)`` is called on a batch of one example (``outputs`` has a
    leading dimension of 1) and must return a scalar, e.g. ``nn.functional.cross_entropy``.
    Returns ``{name: tensor of shape (batch, *parameter.shape)}`` for every parameter with
    ``requires_grad``: row ``i`` is the gradient of example ``i``'s loss alone.

    How: ``torch.func.grad`` differentiates the loss of one example as a function of the
    parameters, and ``torch.func.vmap`` runs that for every example of the batch at once.
    A model with batch norm is refused (a ``ValueError`` that says why): its output for one
    example depends on the rest of the batch.
    """
    from torch.func import functional_call, grad, vmap

    _check_no_batchnorm(model)
    n = _batch(x, y)
    params = {name: p.detach() for name, p in _trainable(model).items()}
    if n == 0:
        return {name: p.new_zeros((0, *p.shape)) for name, p in params.items()}
    buffers = {name: b.detach() for name, b in model.named_buffers()}

    def loss_of_one(p: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, {**buffers, **p}, (xi.unsqueeze(0),))
        loss = loss_fn(out, yi.unsqueeze(0))
        if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
            raise ValueError("loss_fn must return one number (a 0-d tensor) for a batch of one "
                             "example; use reduction='mean' or 'sum', not 'none'")
        return loss

    return vmap(grad(loss_of_one), in_dims=(None, 0, 0), randomness="different")(params, x, y)


def _per_sample_norms(grads: dict[str, torch.Tensor]) -> torch.Tensor:
    """||g_i||: the norm of example i's gradient over all parameters together."""
    return torch.sqrt(sum(g.flatten(1).pow(2).sum(dim=1) for g in grads.values()))


class DPStep(NamedTuple):
    """What ``dp_sgd_step`` returns: the noisy mean gradient and how the clipping went."""

    grads: dict[str, torch.Tensor]  # the private gradient, one tensor per trainable parameter
    per_sample_norms: torch.Tensor  # ||g_i|| before clipping, one per example
    clipped_fraction: float  # share of the examples whose gradient was scaled down


def dp_sgd_step(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    max_grad_norm: float,
    noise_multiplier: float,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> DPStep:
    """One DP-SGD step (Abadi et al. 2016), from scratch.

    For the examples ``i`` of the batch, with ``C = max_grad_norm`` and
    ``sigma = noise_multiplier``:

        g_i  = gradient of example i's loss                       (per_sample_grads)
        g~_i = g_i * min(1, C / ||g_i||)                          clip: ||g~_i|| <= C
        g^   = (sum_i g~_i + N(0, sigma^2 C^2 I)) / B              sum, add noise, average

    ``B`` is ``batch_size`` when given (the *expected* batch size under Poisson sampling,
    as Opacus uses) and otherwise the number of rows of ``x``. The private gradient is
    written to each trainable parameter's ``.grad``; then ``optimizer.step()`` runs if an
    optimizer is given, or plain SGD ``p -= lr * g^`` if ``lr`` is given (not both; with
    neither, only ``.grad`` is set). ``generator`` seeds the noise.

    Bad input is a ``ValueError``: ``noise_multiplier < 0``, ``max_grad_norm <= 0``, a model
    with batch norm, x and y of different lengths.
    """
    max_grad_norm = _positive_number("max_grad_norm (the clipping norm C)", max_grad_norm)
    noise_multiplier = _positive_number("noise_multiplier (sigma)", noise_multiplier, allow_zero=True)
    if lr is not None and optimizer is not None:
        raise ValueError("give either lr (plain SGD) or an optimizer, not both")
    if lr is not None:
        lr = _positive_number("lr", lr)
    n = _batch(x, y)
    if batch_size is None:
        if n == 0:
            raise ValueError("the batch is empty; pass batch_size (the expected batch size) to "
                             "take a noise-only step, as Poisson sampling sometimes requires")
        batch_size = n
    elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")

    grads = per_sample_grads(model, loss_fn, x, y)
    norms = _per_sample_norms(grads) if n else torch.zeros(0)
    scale = torch.clamp(max_grad_norm / norms.clamp(min=1e-12), max=1.0)  # min(1, C/||g_i||)
    params = _trainable(model)
    private = {}
    for name, g in grads.items():
        summed = torch.einsum("i,i...->...", scale, g) if n else torch.zeros_like(params[name])
        noise = torch.randn(summed.shape, generator=generator, device=summed.device, dtype=summed.dtype)
        private[name] = (summed + noise_multiplier * max_grad_norm * noise) / batch_size

    with torch.no_grad():
        for name, p in params.items():
            p.grad = private[name].clone()
            if lr is not None:
                p.sub_(lr * private[name])
    if optimizer is not None:
        optimizer.step()
    clipped = float((norms > max_grad_norm).float().mean()) if n else 0.0
    return DPStep(private, norms.detach(), clipped)


# ---------------------------------------------------------------- accounting (Opacus)
def _accounting_args(sample_rate: Any, steps: Any, delta: Any) -> tuple[float, int, float]:
    q = _positive_number("sample_rate", sample_rate)
    if q > 1:
        raise ValueError(f"sample_rate is a probability in (0, 1], got {sample_rate!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    d = _positive_number("delta", delta)
    if d >= 1:
        raise ValueError(f"delta must be in (0, 1), well below 1/n for n training rows; got {delta!r}")
    return q, int(steps), d


def dp_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
               accountant: str = "rdp") -> float:
    """The epsilon of ``steps`` DP-SGD steps at (sigma, q), for the given delta: Opacus's accountant.

    ``accountant``: ``"rdp"`` (Rényi DP, Mironov 2017; the moments accountant of Abadi et
    al.) or ``"prv"`` (privacy random variables, Gopi et al. 2021; tighter). Sampling is
    assumed to be Poisson with rate ``sample_rate`` (each row joins each batch with that
    probability). ``noise_multiplier = 0`` means no privacy: ``math.inf``.
    """
    sigma = _positive_number("noise_multiplier", noise_multiplier, allow_zero=True)
    q, steps, delta = _accounting_args(sample_rate, steps, delta)
    if sigma == 0:
        return math.inf
    from opacus.accountants import create_accountant

    acc = create_accountant(accountant)
    acc.history = [(sigma, q, steps)]
    return float(acc.get_epsilon(delta=delta))


def dp_noise_multiplier(target_epsilon: float, sample_rate: float, steps: int, delta: float,
                        accountant: str = "rdp") -> float:
    """The smallest sigma whose ``steps`` steps at rate ``sample_rate`` stay within
    (``target_epsilon``, ``delta``): Opacus's ``get_noise_multiplier``."""
    eps = _positive_number("target_epsilon", target_epsilon)
    q, steps, delta = _accounting_args(sample_rate, steps, delta)
    from opacus.accountants.utils import get_noise_multiplier

    return float(get_noise_multiplier(target_epsilon=eps, target_delta=delta, sample_rate=q,
                                      steps=steps, accountant=accountant))


# ---------------------------------------------------------------- membership inference
def _losses(values: Any, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    a = np.asarray(values, dtype=np.float64).ravel()
    if a.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} holds NaN or infinite losses")
    return a


def _membership(member_losses: Any, nonmember_losses: Any) -> tuple[np.ndarray, np.ndarray]:
    members = _losses(member_losses, "member_losses")
    others = _losses(nonmember_losses, "nonmember_losses")
    truth = np.r_[np.ones(members.size, dtype=int), np.zeros(others.size, dtype=int)]
    return truth, -np.r_[members, others]  # a lower loss means "more likely a member"


def membership_auc(member_losses: Any, nonmember_losses: Any) -> float:
    """ROC AUC of the loss-threshold attack (Yeom et al. 2018): "a low loss means it was trained on".

    The chance that a random training row (member) has a lower loss than a random row the
    model never saw. 0.5: the losses reveal nothing; 1.0: every member is given away.
    """
    truth, scores = _membership(member_losses, nonmember_losses)
    return metrics.roc_auc(truth, scores)


def membership_advantage(member_losses: Any, nonmember_losses: Any) -> float:
    """Yeom et al.'s membership advantage: the best ``TPR - FPR`` over all loss thresholds."""
    truth, scores = _membership(member_losses, nonmember_losses)
    fpr, tpr, _ = metrics.roc_curve(truth, scores)
    return float(np.max(tpr - fpr))


# ---------------------------------------------------------------- de-identification: text
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_PHONE = re.compile(r"(?<![\w.+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]\d{2,5}){1,4}(?![\w-])"
                    r"|(?<![\w.+-])\+?\d{7,15}(?![\w-])")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _is_phone(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    return 7 <= digits <= 15 and not _ISO_DATE.fullmatch(candidate)


def pseudonymize_text(text: str, names: Iterable[str] = (), *,
                      mapping: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """Replace personal data in ``text`` with placeholders: ``[URL_1]``, ``[EMAIL_1]``,
    ``[PHONE_1]``, ``[NAME_1]``.

    Found by pattern: URLs (``http(s)://`` or ``www.``), email addresses, phone numbers
    (7 to 15 digits, with optional ``+country``, brackets, spaces, dots or dashes; ISO
    dates are left alone); and the people's ``names`` given (whole words, longest first,
    so "Ada Lovelace" wins over "Ada"). The same value always gets the same placeholder;
    pass the returned ``mapping`` (value -> placeholder) back in to keep placeholders
    consistent across texts. This is *pseudonymisation*: whoever holds the mapping can
    undo it, so under GDPR the result is still personal data. Names not on the list, and
    facts that point to a person (a job title, a street), are not found.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    if isinstance(names, str):
        raise TypeError("names must be a list of names, not one string")
    mapping = {} if mapping is None else mapping
    names = sorted({n.strip() for n in names if isinstance(n, str) and n.strip()}, key=len, reverse=True)

    def placeholder(kind: str, value: str) -> str:
        if value not in mapping:
            count = sum(1 for p in mapping.values() if p.startswith(f"[{kind}_"))
            mapping[value] = f"[{kind}_{count + 1}]"
        return mapping[value]

    text = _URL.sub(lambda m: placeholder("URL", m.group(0)), text)
    text = _EMAIL.sub(lambda m: placeholder("EMAIL", m.group(0)), text)
    text = _PHONE.sub(lambda m: placeholder("PHONE", m.group(0)) if _is_phone(m.group(0)) else m.group(0), text)
    if names:
        pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)")
        text = pattern.sub(lambda m: placeholder("NAME", m.group(0)), text)
    return text, mapping


# ---------------------------------------------------------------- de-identification: tables
def _frame(df: Any) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    return df


def _columns(df: pd.DataFrame, columns: Any, what: str) -> list[str]:
    if isinstance(columns, str):
        columns = [columns]
    columns = list(columns)
    if not columns:
        raise ValueError(f"name at least one {what} column")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise KeyError(f"{what} columns {missing} are not in the table; its columns are {list(df.columns)}")
    return columns


def drop_identifiers(df: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """The table without its *direct identifiers* (name, email, ID number ...): a copy."""
    df = _frame(df)
    return df.drop(columns=_columns(df, columns, "identifier"))


def _bin_labels(values: pd.Series, width: int | float) -> pd.Series:
    low = np.floor(values.astype(float) / width) * width
    if float(width).is_integer():
        labels = [f"{int(a)}-{int(a + width - 1)}" if np.isfinite(a) else np.nan for a in low]
    else:
        labels = [f"[{a:g}, {a + width:g})" if np.isfinite(a) else np.nan for a in low]
    return pd.Series(labels, index=values.index, dtype=object)


def generalize(df: pd.DataFrame, rules: Mapping[str, int | float | Mapping | Callable]) -> pd.DataFrame:
    """Coarsen *quasi-identifiers*, one rule per column (a copy of the table is returned).

    A rule is a number ``w`` (numbers binned into intervals of width ``w``: ages 37 and 31
    both become ``"30-39"`` with ``w = 10``), a mapping (value -> group; values not in it
    become ``"other"``), or a function applied to each value.
    """
    df = _frame(df)
    if not isinstance(rules, Mapping) or not rules:
        raise ValueError("rules must be a non-empty dict {column: width, mapping or function}")
    _columns(df, rules.keys(), "quasi-identifier")
    out = df.copy()
    for column, rule in rules.items():
        if isinstance(rule, numbers.Real) and not isinstance(rule, bool):
            if not rule > 0:
                raise ValueError(f"the bin width for {column!r} must be > 0, got {rule!r}")
            if not pd.api.types.is_numeric_dtype(df[column]):
                raise ValueError(f"{column!r} is not numeric, so it cannot be binned; give a "
                                 "mapping or a function instead")
            out[column] = _bin_labels(df[column], rule)
        elif isinstance(rule, Mapping):
            out[column] = df[column].map(lambda v, r=rule: r.get(v, "other"))
        elif callable(rule):
            out[column] = df[column].map(rule)
        else:
            raise TypeError(f"the rule for {column!r} must be a bin width, a mapping or a function, "
                            f"got {type(rule).__name__}")
    return out


def k_anonymity(df: pd.DataFrame, quasi_identifiers: Iterable[str]) -> int:
    """The table's k: the size of the smallest group of rows sharing all quasi-identifiers.

    A table is k-anonymous (Sweeney 2002) when every row looks like at least k - 1 others
    on the quasi-identifiers; k = 1 means some row is unique, so anyone who knows those
    attributes of a person (from a voter roll, a social profile) can single the row out.
    """
    df = _frame(df)
    qi = _columns(df, quasi_identifiers, "quasi-identifier")
    if len(df) == 0:
        raise ValueError("the table is empty; k-anonymity is not defined")
    return int(df.groupby(qi, dropna=False, observed=True).size().min())


def suppress_small_groups(df: pd.DataFrame, quasi_identifiers: Iterable[str], k: int) -> pd.DataFrame:
    """Drop the rows whose quasi-identifier group has fewer than ``k`` rows (suppression)."""
    df = _frame(df)
    qi = _columns(df, quasi_identifiers, "quasi-identifier")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    sizes = df.groupby(qi, dropna=False, observed=True)[qi[0]].transform("size")
    return df[sizes >= k]
