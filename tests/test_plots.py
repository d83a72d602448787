import warnings

import matplotlib
import numpy as np
import pytest
import torch

from bigmodel_lib import plots
from bigmodel_lib.plots import LivePlot, plot_curves
from bigmodel_lib.progress import progress


def test_no_frontend_draws_nothing_until_close(monkeypatch):
    shown = []
    monkeypatch.setattr(plots, "_display", lambda obj, **kw: shown.append(obj))
    plot = LivePlot(live=False)
    for step in range(5):
        plot.update(step, train=1 / (step + 1), val=2 / (step + 1))
    assert shown == []
    fig = plot.close()
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["train", "val"]
    assert list(ax.lines[0].get_xdata()) == [0, 1, 2, 3, 4]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"


class FakeHandle:
    def __init__(self):
        self.updates = 0

    def update(self, fig):
        self.updates += 1


def test_live_mode_updates_one_display_in_place(monkeypatch):
    handle = FakeHandle()
    calls = []

    def fake_display(obj, **kw):
        calls.append(kw)
        return handle

    monkeypatch.setattr(plots, "_display", fake_display)
    plot = LivePlot(live=True, min_interval=0)
    for step in range(4):
        plot.update(step, loss=1.0 / (step + 1))
    plot.close()
    assert calls == [{"display_id": True}]  # one output, created once
    assert handle.updates == 4  # 3 more updates + the final draw


def test_live_mode_throttles_redraws(monkeypatch):
    handle = FakeHandle()
    monkeypatch.setattr(plots, "_display", lambda obj, **kw: handle)
    plot = LivePlot(live=True, min_interval=3600)
    for step in range(50):
        plot.update(step, loss=1.0)
    assert handle.updates == 0  # only the first draw happened
    assert len(plot.history["loss"][1]) == 50  # nothing was lost


def test_feeds_an_output_widget(monkeypatch):
    import ipywidgets as widgets

    shown = []
    monkeypatch.setattr(plots, "_show_in_output_widget", lambda out, obj: shown.append((out, obj)))
    out = widgets.Output()
    plot = LivePlot(out=out, min_interval=0)
    plot.update(loss=1.0)
    plot.update(loss=0.5)
    plot.close()
    assert len(shown) == 3 and all(target is out for target, _ in shown)


def test_misuse_is_a_clear_error():
    plot = LivePlot(live=False)
    with pytest.raises(ValueError, match="named value"):
        plot.update(1)
    plot.update(0, loss=1.0)
    plot.close()
    with pytest.raises(RuntimeError, match="closed"):
        plot.update(1, loss=0.5)
    with pytest.raises(ValueError, match="min_interval"):
        LivePlot(min_interval=-1)


def test_logy_and_plot_curves():
    fig = LivePlot(live=False, logy=True)
    fig.update(0, loss=10.0)
    fig.update(1, loss=0.1)
    assert fig.figure().axes[0].get_yscale() == "log"
    ax = plot_curves({"train": [3, 2, 1]}, title="t")
    assert ax.get_title() == "t" and ax.get_legend() is not None
    with pytest.raises(ValueError):
        plot_curves({}, title="t")


def test_live_frontend_is_false_in_tests_and_scripts(monkeypatch):
    assert not plots.live_frontend()
    monkeypatch.delenv("BIGMODEL_TESTING")
    assert not plots.live_frontend()  # plain python, no kernel


def test_progress_is_a_tqdm_bar():

    bar = progress(range(3), desc="x")
    assert list(bar) == [0, 1, 2]


# ================================ independent review (was tests/test_review_foundation.py)
# Review of the foundation (issue 2): env, checks, plots, progress, called the ways a reader
# of their documentation would call them, bad inputs included.


# --------------------------------------------------------------------------- plots

def test_live_plot_takes_tensors_and_numpy_scalars_without_warnings():
    plot = LivePlot(live=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plot.update(torch.tensor(0), loss=torch.tensor(1.5, requires_grad=True) * 2)
        plot.update(np.int64(1), loss=np.float32(0.5))
    xs, ys = plot.history["loss"]
    assert xs == [0.0, 1.0] and ys == [3.0, 0.5]
    assert all(type(v) is float for v in xs + ys)
    plot.close()


def test_live_plot_rejects_non_numbers_and_keeps_its_history_whole():
    plot = LivePlot(live=False)
    plot.update(0, train=1.0, val=2.0)
    with pytest.raises(TypeError, match="val must be a number"):
        plot.update(1, train=0.5, val="0.7")
    with pytest.raises(ValueError, match="one-element tensor, got a value of shape"):
        plot.update(1, train=0.5, val=torch.ones(3))
    with pytest.raises(TypeError, match="step must be a number"):
        plot.update("1", train=0.5)
    assert plot.history == {"train": ([0.0], [1.0]), "val": ([0.0], [2.0])}
    fig = plot.close()
    ax = fig.axes[0]
    assert ax.get_title() == "Training curves" and ax.get_legend() is not None


def test_live_plot_without_steps_counts_each_curve_and_labels_the_figure():
    plot = LivePlot("Gradient descent", xlabel="iteration", ylabel="f(x)", live=False, logy=True)
    for value in (8.0, 4.0, 2.0):
        plot.update(loss=value)
    fig = plot.close()
    ax = fig.axes[0]
    assert list(ax.lines[0].get_xdata()) == [0, 1, 2]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Gradient descent", "iteration",
                                                                  "f(x)")
    assert ax.get_yscale() == "log"
    assert plot.close() is not fig  # closing twice is harmless and still returns a figure


def test_plot_curves_takes_lists_arrays_and_tensors_and_rejects_other_inputs():
    ax = plot_curves({"train": [3, 2, 1], "val": np.array([3.5, 2.5, 2.0]),
                      "test": torch.tensor([4.0, 3.0, 2.5])}, title="Loss", logy=True)
    assert [line.get_label() for line in ax.lines] == ["train", "val", "test"]
    assert ax.get_xlabel() == "epoch" and ax.get_yscale() == "log"
    with pytest.raises(TypeError, match="dict of named curves"):
        plot_curves([3, 2, 1], title="Loss")
    with pytest.raises(ValueError, match="at least one"):
        plot_curves({}, title="Loss")
