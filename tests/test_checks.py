
import numpy as np
import pytest
import torch

from bigmodel_lib.checks import CheckFailed, check


@pytest.fixture
def learner(monkeypatch):
    """A learner's notebook: failures print, they do not raise."""
    monkeypatch.delenv("BIGMODEL_TESTING", raising=False)
    monkeypatch.delenv("CI", raising=False)


def passes(got, expected, **kwargs) -> bool:
    """Run check as a learner would and read its verdict."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert check(got, expected, **kwargs) is None
    return buffer.getvalue().startswith("PASS")


def test_pass_prints_the_value(learner, capsys):
    check(0.1 + 0.2, 0.3, "sum")
    assert capsys.readouterr().out == "PASS  sum: got 0.3, expected 0.3\n"


def test_verdicts_round_floats_to_six_digits(learner, capsys):
    check(torch.tensor([1 / 3, 2.0], dtype=torch.float64), [1 / 3, 2.0], "t")
    check(np.array([1 / 3]), [1 / 3], "a")
    out = capsys.readouterr().out
    assert "0.333333," in out and "0.3333333" not in out


@pytest.mark.parametrize(
    "got, expected",
    [
        (torch.tensor([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9])),
        ([[1, 2], [3, 4]], np.array([[1.0, 2.0], [3.0, 4.0]])),
        (torch.tensor(3.0, requires_grad=True), 3),
        ({"a": 1.0, "b": [1.0, 2.0]}, {"a": 1.0 + 1e-12, "b": [1.0, 2.0]}),
        ("Sports", "Sports"),
        (True, True),
    ],
)
def test_agreeing_values_pass(learner, got, expected):
    assert passes(got, expected)


@pytest.mark.parametrize(
    "got, expected, reason",
    [
        (1.0, 1.1, "largest difference"),
        (torch.ones(2, 3), torch.ones(3, 2), "shape"),
        (float("nan"), 1.0, "NaN"),
        (torch.tensor([1.0, float("inf")]), torch.tensor([1.0, 2.0]), "NaN or infinity"),
        ({"a": 1}, {"b": 1}, "keys"),
        ("World", "Sports", ""),
        (True, 1.0, ""),
    ],
)
def test_disagreeing_values_fail_with_both_values(learner, capsys, got, expected, reason):
    check(got, expected, "x")
    out = capsys.readouterr().out
    assert out.startswith("FAIL  x: got") and "expected" in out and reason in out


def test_tolerances_are_used(learner):
    assert passes(1.0, 1.05, rtol=0.1)
    assert not passes(1.0, 1.05, rtol=1e-3)
    assert passes(0.0, 1e-6, atol=1e-5)
    with pytest.raises(ValueError, match="non-negative"):
        check(1.0, 1.0, rtol=-1)


def test_raises_when_running_as_a_test(monkeypatch):
    monkeypatch.setenv("BIGMODEL_TESTING", "1")
    with pytest.raises(CheckFailed, match="got 2"):
        check(2, 3, "wrong formula")
    monkeypatch.delenv("BIGMODEL_TESTING")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(CheckFailed):
        check(2, 3)
    check(3, 3)  # passing checks never raise


def test_integers_are_exact_unless_a_tolerance_is_given(learner):
    assert not passes(109482241, 109482240)
    assert passes(np.array([85, 95]), np.array([89, 91]), rtol=0, atol=4)
    assert not passes(np.array([85, 95]), np.array([89, 91]), rtol=0, atol=3)


# ================================ independent review (was tests/test_review_foundation.py)
# Review of the foundation (issue 2): env, checks, plots, progress, called the ways a reader
# of their documentation would call them, bad inputs included.


@pytest.fixture
def learner_independent(monkeypatch):
    """A learner_independent's notebook: a failed check prints and carries on."""
    monkeypatch.delenv("BIGMODEL_TESTING", raising=False)
    monkeypatch.delenv("CI", raising=False)


def verdict(capsys, got, expected, **kwargs):
    assert check(got, expected, **kwargs) is None
    return capsys.readouterr().out


# --------------------------------------------------------------------------- checks

def test_integers_are_compared_exactly(learner_independent, capsys):
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


def test_floats_and_tensors_use_the_tolerances(learner_independent, capsys):
    assert verdict(capsys, 0.1 + 0.2, 0.3).startswith("PASS")
    assert verdict(capsys, torch.tensor([1.0, 2.0]), [1.0, 2.0 + 1e-7]).startswith("PASS")
    assert verdict(capsys, np.float32(0.1), 0.1).startswith("PASS")
    assert verdict(capsys, 1.0, 1.001).startswith("FAIL")
    assert verdict(capsys, 1.0, 1.001, rtol=1e-2).startswith("PASS")
    assert verdict(capsys, 0.0, 1e-9).startswith("PASS")  # atol
    assert verdict(capsys, 0.0, 1e-6).startswith("FAIL")


def test_boolean_tensors_compare_with_booleans(learner_independent, capsys):
    assert verdict(capsys, torch.tensor(True), True).startswith("PASS")
    assert verdict(capsys, np.array(False), False).startswith("PASS")
    assert verdict(capsys, (torch.ones(3) > 0).all(), True).startswith("PASS")
    assert verdict(capsys, torch.tensor(False), True).startswith("FAIL")
    assert verdict(capsys, True, 1).startswith("FAIL")


def test_arrays_of_labels_compare_element_by_element(learner_independent, capsys):
    labels = np.array(["World", "Sports"])
    assert verdict(capsys, labels, np.array(["World", "Sports"])).startswith("PASS")
    assert verdict(capsys, labels, ["World", "Sports"]).startswith("PASS")
    assert verdict(capsys, labels, np.array(["World", "Business"])).startswith("FAIL")
    assert verdict(capsys, ["a", "b"], ["a", "b"]).startswith("PASS")


def test_nan_never_passes_and_both_values_are_shown(learner_independent, capsys):
    out = verdict(capsys, float("nan"), float("nan"), name="loss")
    assert out.startswith("FAIL  loss: got nan, expected nan")
    out = verdict(capsys, torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.5]), name="v")
    assert "got [1.0, 2.0]" in out and "expected [1.0, 2.5]" in out


@pytest.mark.parametrize("kwargs", [dict(rtol=-1e-5), dict(atol=-1), dict(rtol=float("nan")),
                                    dict(atol=float("inf")), dict(rtol="1e-3"),
                                    dict(rtol=True)])
def test_bad_tolerances_are_a_clear_error(learner_independent, kwargs):
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
