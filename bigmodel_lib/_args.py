"""Argument checks shared by every module (private; the public functions call these).

One policy for every public function of the library:

- a number is a Python ``int`` or ``float``, a NumPy scalar, or a one-element array or
  tensor;
- ``True``/``False`` are refused where a number is expected (``bool`` is an ``int`` in
  Python, so ``dropout=True`` would silently mean 1);
- strings are refused too, even ``"0.1"``: the message says what is expected;
- a value of the wrong type raises ``ArgumentTypeError``, which is both a ``TypeError``
  and a ``ValueError`` (code written for either catches it); a number outside its
  range raises ``ValueError``. Each message names the argument, what is allowed and
  what was given.

Each value is checked once, where it enters the library (the public function); private
helpers trust what they are given.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["ArgumentTypeError", "flag", "integer", "real"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a bool, a string, None where a number belongs)."""


def _unwrap(value: Any) -> Any:
    """A one-element NumPy array or torch tensor as a Python number (other values unchanged)."""
    if getattr(value, "ndim", None) is not None and hasattr(value, "item"):
        numel = getattr(value, "numel", None)
        if (numel() if callable(numel) else getattr(value, "size", None)) == 1:
            return value.item()
    return value


def _got(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, numbers.Number | np.generic):  # an array: its shape, not its values
        return f"a value of shape {tuple(shape)} (a {type(value).__name__})"
    return f"{value!r} (a {type(value).__name__})"


def real(name: str, value: Any, *, minimum: float | None = None, maximum: float | None = None,
         above: float | None = None, below: float | None = None, finite: bool = True,
         expected: str | None = None) -> float:
    """``value`` as a float, if it is a real number in range; else a clear error.

    ``minimum``/``maximum`` are inclusive bounds, ``above``/``below`` exclusive ones.
    ``expected`` replaces the generated description ("a number > 0") in messages.
    ``finite=False`` lets infinities (and NaN) through, for a caller that checks them itself.
    """
    if expected is None:
        parts = [f">= {minimum:g}" if minimum is not None else "",
                 f"> {above:g}" if above is not None else "",
                 f"<= {maximum:g}" if maximum is not None else "",
                 f"< {below:g}" if below is not None else ""]
        bounds = " and ".join(p for p in parts if p)
        expected = "a finite number" if not bounds and finite else "a number"
        if bounds:
            expected += f" {bounds}"
    value = _unwrap(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be {expected}, got {_got(value)}")
    value = float(value)
    if ((finite and not math.isfinite(value))
            or (minimum is not None and value < minimum) or (maximum is not None and value > maximum)
            or (above is not None and value <= above) or (below is not None and value >= below)):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None,
            whole_floats: bool = False, expected: str | None = None) -> int:
    """``value`` as an int, if it is an integer in range; else a clear error.

    ``whole_floats=True`` also accepts floats with no fractional part (``1e9``, ``12.0``):
    for counts that are naturally written in scientific notation (chapter 01).
    """
    if expected is None:
        expected = "an integer" + (f" >= {minimum}" if minimum is not None else "") \
            + (f" and <= {maximum}" if maximum is not None else "")
    value = _unwrap(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real) or (
            not isinstance(value, numbers.Integral) and not whole_floats):
        raise ArgumentTypeError(f"{name} must be {expected}, got {_got(value)}")
    if not isinstance(value, numbers.Integral) and not (math.isfinite(value) and float(value).is_integer()):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def flag(name: str, value: Any) -> bool:
    """``value`` if it is True or False (a NumPy bool too); else an ArgumentTypeError."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise ArgumentTypeError(f"{name} must be True or False, got {_got(value)}")
