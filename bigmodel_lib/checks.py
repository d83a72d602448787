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

from bigmodel_lib import _args


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


def _as_bool(value: Any) -> bool | None:
    """A Python bool for ``True``, ``np.True_`` and one-element boolean tensors or arrays."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, torch.Tensor):
        boolean = value.dtype == torch.bool
    else:
        boolean = isinstance(value, np.ndarray) and value.dtype == np.bool_
    return bool(value.item()) if boolean and value.ndim == 0 else None


def _integral(value: Any) -> bool:
    """Whether ``value`` holds only integers (ints, integer arrays and tensors, lists of ints)."""
    if isinstance(value, torch.Tensor):
        return not (value.dtype.is_floating_point or value.dtype.is_complex)
    if not isinstance(value, numbers.Number | np.ndarray | list | tuple):
        return False
    try:
        return np.asarray(value).dtype.kind in "iub"
    except (TypeError, ValueError):
        return False


def _exact(value: Any) -> np.ndarray:
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def _rounded(value: Any) -> Any:
    """Floats to 6 significant digits, so a verdict reads the same on every CPU."""
    if isinstance(value, float | np.floating):
        return float(f"{value:.6g}")
    if isinstance(value, list | tuple):
        return type(value)(_rounded(v) for v in value)
    return value


def _show(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.numel() > 8:
            first = _rounded(value.flatten()[:4].tolist())
            return f"tensor of shape {tuple(value.shape)}, first values {first}"
        return repr(_rounded(value.tolist()))
    if isinstance(value, np.ndarray):
        if value.size > 8:
            return f"array of shape {value.shape}, first values {_rounded(value.ravel()[:4].tolist())}"
        return repr(_rounded(value.tolist()))
    if isinstance(value, float | np.floating):
        return f"{value:.6g}"
    text = repr(_rounded(value))
    return text if len(text) <= 200 else text[:197] + "..."


def _compare(got: Any, expected: Any, rtol: float, atol: float, exact_ints: bool) -> tuple[bool, str]:
    got_bool, expected_bool = _as_bool(got), _as_bool(expected)
    if got_bool is not None or expected_bool is not None:
        same_kind = got_bool is not None and expected_bool is not None
        return same_kind and got_bool == expected_bool, "" if same_kind else "a boolean and a number"
    a, b = _as_array(got), _as_array(expected)
    if a is not None and b is not None:
        if a.shape != b.shape:
            return False, f"shape {a.shape} where {b.shape} was expected"
        if exact_ints and _integral(got) and _integral(expected):  # counts and labels: no tolerance
            a, b = _exact(got), _exact(expected)
            if np.array_equal(a, b):
                return True, ""
            worst = np.max(np.abs(a.astype(object) - b.astype(object))) if a.size else 0
            why = f"largest difference {worst:.3g} (rtol={rtol:g}, atol={atol:g})"
            if np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=rtol, atol=atol):
                why += "; integers are compared exactly"
            return False, why
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
            ok, why = _compare(got[key], expected[key], rtol, atol, exact_ints)
            if not ok:
                return False, f"at key {key!r}: {why}"
        return True, ""
    if isinstance(got, float) and math.isnan(got):
        return False, "the result is NaN"
    if isinstance(got, np.ndarray | torch.Tensor) or isinstance(expected, np.ndarray | torch.Tensor):
        try:  # arrays of strings or objects: equal element by element
            return bool(np.array_equal(_exact(got), _exact(expected))), ""
        except (TypeError, ValueError):
            return False, f"a {type(got).__name__} where a {type(expected).__name__} was expected"
    return (got == expected) is True, ""


def check(
    got: Any,
    expected: Any,
    name: str = "check",
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """Compare ``got`` with ``expected`` and print a verdict with both values.

    Numbers, NumPy arrays, torch tensors and lists of numbers are compared with
    ``|got - expected| <= atol + rtol * |expected|`` elementwise after checking that
    the shapes agree (defaults rtol=1e-5, atol=1e-8); NaN never passes. Integers on both
    sides (counts, labels, integer tensors) must be equal exactly, as in
    ``torch.testing.assert_close``, unless a tolerance is given explicitly. Dicts are
    compared key by key; anything else (strings, booleans, tuples of labels) must be equal.

    When the notebook runs as a test (``BIGMODEL_TESTING`` or ``CI`` set) a failure
    raises ``CheckFailed``; for a learner it prints the verdict and carries on.
    """
    exact_ints = rtol is None and atol is None
    rtol = 1e-5 if rtol is None else rtol
    atol = 1e-8 if atol is None else atol
    allowed = f"a number >= 0 (tolerances must be non-negative, finite numbers; rtol={rtol!r}, atol={atol!r})"
    rtol, atol = (_args.real(name, value, minimum=0, expected=allowed)
                  for name, value in (("rtol", rtol), ("atol", atol)))
    ok, why = _compare(got, expected, rtol, atol, exact_ints)
    if ok:
        print(f"PASS  {name}: got {_show(got)}, expected {_show(expected)}")
        return
    message = f"FAIL  {name}: got {_show(got)}, expected {_show(expected)}"
    if why:
        message += f"; {why}"
    print(message)
    if _strict():
        raise CheckFailed(message)
