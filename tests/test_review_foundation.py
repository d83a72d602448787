"""Review of the foundation (issue 2): env, checks, plots, progress, called the ways a reader
of their documentation would call them, bad inputs included."""

import random
import sys
import types
import warnings

import numpy as np
import pytest
import torch

import bigmodel_lib as bml
from bigmodel_lib import env
from bigmodel_lib.checks import CheckFailed, check
from bigmodel_lib.plots import LivePlot, plot_curves
from bigmodel_lib.progress import progress


@pytest.fixture
def learner(monkeypatch):
    """A learner's notebook: a failed check prints and carries on."""
    monkeypatch.delenv("BIGMODEL_TESTING", raising=False)
    monkeypatch.delenv("CI", raising=False)


def verdict(capsys, got, expected, **kwargs):
    assert check(got, expected, **kwargs) is None
    return capsys.readouterr().out


# --------------------------------------------------------------------------- env

@pytest.mark.parametrize("seed", [np.int64(7), np.uint32(7), 2**63, 2**64 - 1])
def test_seed_everything_accepts_any_integer_torch_accepts(seed):
    assert env.seed_everything(seed) == int(seed) and type(env.seed_everything(seed)) is int
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    env.seed_everything(seed)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("bad", [2**64, -1, 3.0, np.float64(3), "3", None, True])
def test_seed_everything_rejects_what_it_cannot_seed_with_a_clear_message(bad):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        env.seed_everything(bad)


@pytest.mark.parametrize("prefer", ["cpu", "CPU", " cpu ", torch.device("cpu")])
def test_get_device_accepts_the_usual_spellings(prefer):
    assert env.get_device(prefer) == torch.device("cpu")


def test_get_device_with_an_index_or_unavailable_hardware(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for prefer in ("cuda", "cuda:0", torch.device("cuda"), "mps"):
        with pytest.raises(ValueError, match="not available"):
            env.get_device(prefer)
    for prefer in ("tpu", "", "gpu", 3.5):
        with pytest.raises(ValueError, match="unknown device"):
            env.get_device(prefer)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert env.get_device("cuda") == torch.device("cuda")
    assert env.get_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(ValueError, match="not available"):
        env.get_device("cuda:2")
    assert env.get_device().type == "cuda"


@pytest.mark.parametrize("value, expected", [("GPU", "gpu"), (" default\n", "default")])
def test_profile_is_read_case_and_space_insensitively(monkeypatch, value, expected):
    monkeypatch.setenv("BIGMODEL_PROFILE", value)
    assert env.get_profile() == expected
    assert env.pick(default="small", gpu="big") == ("big" if expected == "gpu" else "small")


@pytest.mark.parametrize("value", ["cuda", "cpu", "default,gpu", "0"])
def test_unknown_profile_names_both_allowed_values(monkeypatch, value):
    monkeypatch.setenv("BIGMODEL_PROFILE", value)
    with pytest.raises(ValueError, match="allowed values are default, gpu"):
        env.get_profile()
    with pytest.raises(ValueError):
        env.pick(default=1, gpu=2)


def test_blank_profile_means_automatic(monkeypatch):
    monkeypatch.setenv("BIGMODEL_PROFILE", "  ")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert env.get_profile() == "default" and not env.network_allowed()


def test_pick_returns_the_very_object(monkeypatch):
    monkeypatch.setenv("BIGMODEL_PROFILE", "default")
    sizes = {"rows": 2000}
    assert env.pick(default=sizes, gpu=None) is sizes


def test_in_colab_from_the_imported_module(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert env.in_colab() is False
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert env.in_colab() is True


def test_the_foundation_is_one_import_away():
    for name in ("check", "setup", "seed_everything", "get_device", "get_profile", "in_colab",
                 "pick", "network_allowed", "PROFILES"):
        assert hasattr(bml, name), name
    assert bml.PROFILES == ("default", "gpu")
    device = bml.setup(seed=3, quiet=True)
    assert isinstance(device, torch.device)


# --------------------------------------------------------------------------- checks

def test_integers_are_compared_exactly(learner, capsys):
    out = verdict(capsys, 109_482_241, 109_482_240, name="BERT-base")
    assert out.startswith("FAIL  BERT-base: got 109482241, expected 109482240")
    assert "exactly" in out
    assert verdict(capsys, 109_482_240, 109_482_240).startswith("PASS")
    assert verdict(capsys, np.int64(5), 5).startswith("PASS")
    assert verdict(capsys, 2**53 + 1, 2**53).startswith("FAIL")  # beyond float64's integers
    assert verdict(capsys, torch.tensor([100_000, 2]), [100_001, 2]).startswith("FAIL")
    assert verdict(capsys, torch.tensor([3, 1]), np.array([3, 1])).startswith("PASS")
    # An integer against a float is a float comparison, with the tolerance.
    assert verdict(capsys, 100_000, 100_000.5).startswith("PASS")
    assert verdict(capsys, 100_000, 100_010.0).startswith("FAIL")


def test_floats_and_tensors_use_the_tolerances(learner, capsys):
    assert verdict(capsys, 0.1 + 0.2, 0.3).startswith("PASS")
    assert verdict(capsys, torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7]).startswith("PASS")
    assert verdict(capsys, np.float32(0.1), 0.1).startswith("PASS")
    assert verdict(capsys, 1.0, 1.001).startswith("FAIL")
    assert verdict(capsys, 1.0, 1.001, rtol=1e-2).startswith("PASS")
    assert verdict(capsys, 0.0, 1e-9).startswith("PASS")  # atol
    assert verdict(capsys, 0.0, 1e-6).startswith("FAIL")


def test_boolean_tensors_compare_with_booleans(learner, capsys):
    assert verdict(capsys, torch.tensor(True), True).startswith("PASS")
    assert verdict(capsys, np.array(False), False).startswith("PASS")
    assert verdict(capsys, (torch.ones(3) > 0).all(), True).startswith("PASS")
    assert verdict(capsys, torch.tensor(False), True).startswith("FAIL")
    assert verdict(capsys, True, 1).startswith("FAIL")


def test_arrays_of_labels_compare_element_by_element(learner, capsys):
    labels = np.array(["World", "Sports"])
    assert verdict(capsys, labels, np.array(["World", "Sports"])).startswith("PASS")
    assert verdict(capsys, labels, ["World", "Sports"]).startswith("PASS")
    assert verdict(capsys, labels, np.array(["World", "Business"])).startswith("FAIL")
    assert verdict(capsys, ["a", "b"], ["a", "b"]).startswith("PASS")


def test_nan_never_passes_and_both_values_are_shown(learner, capsys):
    out = verdict(capsys, float("nan"), float("nan"), name="loss")
    assert out.startswith("FAIL  loss: got nan, expected nan")
    out = verdict(capsys, torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), name="v")
    assert "got [1.0, 2.0]" in out and "expected [1.0, 2.5]" in out


@pytest.mark.parametrize("kwargs", [dict(rtol=-1e-5), dict(atol=-1), dict(rtol=float("nan")),
                                    dict(atol=float("inf")), dict(rtol="1e-3"),
                                    dict(rtol=True)])
def test_bad_tolerances_are_a_clear_error(learner, kwargs):
    with pytest.raises(ValueError, match="tolerances must be non-negative"):
        check(1.0, 1.0, **kwargs)


@pytest.mark.parametrize("flag, strict", [("1", True), ("true", True), ("0", False),
                                          ("false", False), ("", False)])
def test_failures_raise_only_when_running_as_a_test(monkeypatch, capsys, flag, strict):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("BIGMODEL_TESTING", flag)
    if strict:
        with pytest.raises(CheckFailed, match="got 2, expected 3") as info:
            check(2, 3, "sum")
        assert isinstance(info.value, AssertionError)
    else:
        check(2, 3, "sum")
    assert capsys.readouterr().out.startswith("FAIL  sum: got 2, expected 3")
    check(3, 3)  # a pass never raises


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


# --------------------------------------------------------------------------- progress

def test_progress_is_a_tqdm_auto_bar_with_the_course_defaults():
    from tqdm.auto import tqdm

    bar = progress(range(4), "epochs", leave=False)
    assert isinstance(bar, tqdm)
    assert bar.desc.startswith("epochs") and bar.total == 4 and bar.mininterval == 0.5
    assert list(bar) == [0, 1, 2, 3]
    manual = progress(total=10, desc="steps", mininterval=0.0)
    manual.update(10)
    assert manual.n == 10 and manual.mininterval == 0.0
    manual.close()
    assert list(progress(iter([]))) == []
