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
