import matplotlib
import pytest

from bigmodel_lib import plots
from bigmodel_lib.plots import LivePlot, plot_curves


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
    from bigmodel_lib.progress import progress

    bar = progress(range(3), desc="x")
    assert list(bar) == [0, 1, 2]
