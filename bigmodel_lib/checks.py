"""Self-checks for notebooks and exercises (chapter 00).

``check(got, expected)`` compares a result with the value it should have and prints a
verdict showing both (it returns nothing, so a notebook shows only the verdict). When the notebook runs as a test
(``BIGMODEL_TESTING=1``, set by the test command, or ``CI`` set), a failed check
raises ``CheckFailed`` so that a wrong formula fails CI instead of printing quietly.
"""

from __future__ import annotations

import math
import numbers
import os
from typing import Any

import numpy as np
import torch


class CheckFailed(AssertionError):
    """A self-check found a result that differs from the expected value."""


def _strict() -> bool:
    flags = (os.environ.get("BIGMODEL_TESTING", ""), os.environ.get("CI", ""))
    return any(flag.strip().lower() not in ("", "0", "false", "no") for flag in flags)


def _as_array(value: Any) -> np.ndarray | None:
    """A float64 array for numbers, arrays, tensors and (nested) lists of numbers."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().to(torch.float64).numpy()
    if isinstance(value, bool | np.bool_):
        return None  # booleans compare exactly, not with a tolerance
    if isinstance(value, numbers.Number | np.ndarray | list | tuple):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            return None
        return array
    return None


def _show(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.numel() > 8:
            return f"tensor of shape {tuple(value.shape)}, first values {value.flatten()[:4].tolist()}"
        return repr(value.tolist())
    if isinstance(value, np.ndarray) and value.size > 8:
        return f"array of shape {value.shape}, first values {value.ravel()[:4].tolist()}"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def _compare(got: Any, expected: Any, rtol: float, atol: float) -> tuple[bool, str]:
    if isinstance(got, bool | np.bool_) or isinstance(expected, bool | np.bool_):
        same_kind = isinstance(got, bool | np.bool_) and isinstance(expected, bool | np.bool_)
        return same_kind and bool(got) == bool(expected), "" if same_kind else "a boolean and a number"
    a, b = _as_array(got), _as_array(expected)
    if a is not None and b is not None:
        if a.shape != b.shape:
            return False, f"shape {a.shape} where {b.shape} was expected"
        if not np.all(np.isfinite(a)) and not np.array_equal(a, b, equal_nan=True):
            return False, "the result contains NaN or infinity"
        if np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False) or np.array_equal(a, b):
            return True, ""
        worst = float(np.max(np.abs(a - b))) if a.size else 0.0
        return False, f"largest difference {worst:.3g} (rtol={rtol:g}, atol={atol:g})"
    if isinstance(got, dict) and isinstance(expected, dict):
        if got.keys() != expected.keys():
            return False, f"keys {sorted(map(str, got))} where {sorted(map(str, expected))} were expected"
        for key in expected:
            ok, why = _compare(got[key], expected[key], rtol, atol)
            if not ok:
                return False, f"at key {key!r}: {why}"
        return True, ""
    if isinstance(got, float) and math.isnan(got):
        return False, "the result is NaN"
    return (got == expected) is True, ""


def check(
    got: Any,
    expected: Any,
    name: str = "check",
    *,
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> None:
    """Compare ``got`` with ``expected`` and print a verdict with both values.

    Numbers, NumPy arrays, torch tensors and lists of numbers are compared with
    ``|got - expected| <= atol + rtol * |expected|`` elementwise after checking that
    the shapes agree; NaN never passes. Dicts are compared key by key; anything else
    (strings, booleans, tuples of labels) must be equal.

    When the notebook runs as a test (``BIGMODEL_TESTING`` or ``CI`` set) a failure
    raises ``CheckFailed``; for a learner it prints the verdict and carries on.
    """
    if rtol < 0 or atol < 0:
        raise ValueError(f"tolerances must be non-negative, got rtol={rtol}, atol={atol}")
    ok, why = _compare(got, expected, rtol, atol)
    if ok:
        print(f"PASS  {name}: {_show(got)}")
        return
    message = f"FAIL  {name}: got {_show(got)}, expected {_show(expected)}"
    if why:
        message += f"; {why}"
    print(message)
    if _strict():
        raise CheckFailed(message)
