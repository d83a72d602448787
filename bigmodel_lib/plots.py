"""Plots that teach: a live loss plot and the course's figure defaults (chapter 00).

``LivePlot`` shows training curves while training runs. In JupyterLab and Colab it
redraws one figure in place (a display handle, so the notebook does not fill with
copies). Where no live front end is watching (a script, or a notebook executed as a
test) it draws nothing until ``close()``, which shows one final static figure. Given
an ``ipywidgets.Output`` it draws into that widget, so a slider's callback can feed it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker

from bigmodel_lib import _args

_NUMBER = "a number or a one-element tensor"


def live_frontend() -> bool:
    """True inside a Jupyter kernel that a person is watching (not a test run or a script)."""
    if os.environ.get("BIGMODEL_TESTING", "").strip().lower() not in ("", "0", "false", "no"):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ in ("ZMQInteractiveShell", "Shell")


def _display(obj: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    return display(obj, **kwargs)


def _show_in_output_widget(out: Any, obj: Any) -> None:
    """Replace what an ``ipywidgets.Output`` shows by ``obj``, in one widget-state update.

    Setting ``out.outputs`` does not depend on routing display messages to the widget
    (``with out:``), which loses redraws when callbacks follow each other quickly.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:  # no kernel: nothing can render the widget anyway
        _display(obj)
        return
    data, metadata = shell.display_formatter.format(obj)
    out.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)


class LivePlot:
    """Curves that grow while a loop runs: ``plot.update(step, train_loss=..., val_loss=...)``.

    Args:
        title, xlabel, ylabel: labels of the figure.
        logy: draw the y axis on a log scale (useful for losses spanning decades).
        out: an ``ipywidgets.Output`` to draw into (for widget callbacks).
        live: force live redrawing on or off; by default, on exactly when a person is
            watching a notebook (see ``live_frontend``).
        min_interval: seconds between two redraws; updates in between are kept and
            drawn with the next redraw, so a fast loop is not slowed down by drawing.
    """

    def __init__(
        self,
        title: str = "Training curves",
        xlabel: str = "step",
        ylabel: str = "loss",
        *,
        logy: bool = False,
        out: Any = None,
        live: bool | None = None,
        min_interval: float = 0.3,
        figsize: tuple[float, float] = (6.4, 3.6),
    ) -> None:
        if min_interval < 0:
            raise ValueError(f"min_interval must be >= 0 seconds, got {min_interval}")
        self.title, self.xlabel, self.ylabel, self.logy = title, xlabel, ylabel, logy
        self.out = out
        self.live = live_frontend() if live is None else live
        self.min_interval = min_interval
        self.figsize = figsize
        self.history: dict[str, tuple[list[float], list[float]]] = {}
        self._handle: Any = None
        self._last_draw = 0.0
        self._closed = False

    def update(self, step: float | None = None, **values: float) -> None:
        """Add one point per named curve at ``step`` (default: that curve's next index)."""
        if self._closed:
            raise RuntimeError("this LivePlot was closed; create a new one for a new run")
        if not values:
            raise ValueError("update() needs at least one named value, e.g. update(step, loss=0.3)")
        x = None if step is None else _args.real("step", step, finite=False, expected=_NUMBER)
        ys_new = {name: _args.real(name, value, finite=False, expected=_NUMBER) for name, value in values.items()}
        for name, y in ys_new.items():
            xs, ys = self.history.setdefault(name, ([], []))
            xs.append(len(xs) if x is None else x)
            ys.append(y)
        if (self.live or self.out is not None) and time.monotonic() - self._last_draw >= self.min_interval:
            self._redraw()

    def figure(self) -> matplotlib.figure.Figure:
        """A new figure of the curves so far (not shown)."""
        fig, ax = plt.subplots(figsize=self.figsize)
        for name, (xs, ys) in self.history.items():
            ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, ms=3, label=name)
        if self.logy and any(y > 0 for _, ys in self.history.values() for y in ys):
            ax.set_yscale("log")
        ax.set(title=self.title, xlabel=self.xlabel, ylabel=self.ylabel)
        ax.grid(alpha=0.3)
        if self.history:
            ax.legend()
        fig.tight_layout()
        plt.close(fig)  # we display it ourselves; keep pyplot from showing it again
        return fig

    def _redraw(self) -> None:
        fig = self.figure()
        if self.out is not None:
            _show_in_output_widget(self.out, fig)
        elif self._handle is None:
            self._handle = _display(fig, display_id=True)
        else:
            self._handle.update(fig)
        self._last_draw = time.monotonic()

    def close(self) -> matplotlib.figure.Figure:
        """Draw the final figure (in place when live, once otherwise) and return it."""
        fig = self.figure()
        if not self._closed:
            if self.out is not None or self.live:
                self._redraw()
            elif self._has_ipython_display():
                _display(fig)
            self._closed = True
        return fig

    @staticmethod
    def _has_ipython_display() -> bool:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        return get_ipython() is not None

    def __enter__(self) -> LivePlot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def plot_curves(
    curves: dict[str, Sequence[float]],
    title: str,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    ax: plt.Axes | None = None,
    logy: bool = False,
) -> plt.Axes:
    """Draw named curves on one labelled axis (a static companion to ``LivePlot``)."""
    if not isinstance(curves, dict):
        raise TypeError(
            f"plot_curves needs a dict of named curves, e.g. {{'train': [...]}}, got "
            f"{type(curves).__name__}"
        )
    if not curves:
        raise ValueError("plot_curves needs at least one named curve")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 3.6))
    for name, ys in curves.items():
        ax.plot(range(1, len(ys) + 1), list(ys), marker="o" if len(ys) < 30 else None, ms=3, label=name)
    if logy:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))  # whole epochs
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
