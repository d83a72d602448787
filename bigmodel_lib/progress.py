"""Progress bars for long loops (chapter 00).

``tqdm.auto`` draws a widget bar in JupyterLab and Colab and a text bar in a
terminal; every long loop in the course goes through ``progress`` so they all look
the same and redraw at most twice a second (cheap inside training loops).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def progress(
    iterable: Iterable | None = None,
    desc: str | None = None,
    total: int | None = None,
    leave: bool = True,
    **kwargs: Any,
) -> tqdm:
    """A ``tqdm.auto`` progress bar with the course's defaults."""
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(iterable, desc=desc, total=total, leave=leave, **kwargs)
