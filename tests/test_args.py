"""bigmodel_lib._args: the one policy for arguments, and the library's functions following it."""

import numpy as np
import pytest
import torch

from bigmodel_lib import _args
from bigmodel_lib._args import ArgumentTypeError


@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3), np.array(3), torch.tensor(3),
                                   np.array([3]), torch.tensor([3])])
def test_integers_accept_python_numpy_and_one_element_values(value):
    got = _args.integer("n", value, minimum=1)
    assert got == 3 and type(got) is int


@pytest.mark.parametrize("value", [True, False, np.bool_(True), "3", "0.1", None, [3], 3.0, 2.5,
                                   torch.ones(2)])
def test_integers_refuse_bools_strings_floats_as_both_type_and_value_errors(value):
    for cls in (TypeError, ValueError, ArgumentTypeError):
        with pytest.raises(cls, match="n must be an integer >= 1, got"):
            _args.integer("n", value, minimum=1)


def test_whole_floats_only_where_asked():
    assert _args.integer("n_tokens", 3e11, minimum=1, whole_floats=True) == 300_000_000_000
    for bad in (2.5, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            _args.integer("n", bad, minimum=1, whole_floats=True)


@pytest.mark.parametrize("value, kwargs, words", [
    (0, dict(minimum=1), "n must be an integer >= 1, got 0"),
    (11, dict(minimum=1, maximum=10), "n must be an integer >= 1 and <= 10, got 11"),
    (-1, dict(minimum=0, expected="a count"), "n must be a count, got -1"),
])
def test_integers_out_of_range_are_value_errors_only(value, kwargs, words):
    with pytest.raises(ValueError, match=words) as info:
        _args.integer("n", value, **kwargs)
    assert not isinstance(info.value, TypeError)


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.float64(0.5), torch.tensor(0.5),
                                   np.array(0.5)])
def test_reals_accept_numbers_of_every_kind(value):
    got = _args.real("p", value, minimum=0, maximum=1)
    assert type(got) is float and 0 <= got <= 1


@pytest.mark.parametrize("value", ["0.1", True, None, b"1", [0.1], torch.ones(3)])
def test_reals_refuse_strings_and_bools_with_what_is_expected(value):
    with pytest.raises(ArgumentTypeError, match=r"dropout must be in \[0, 1\), got"):
        _args.real("dropout", value, minimum=0, below=1, expected="in [0, 1)")


@pytest.mark.parametrize("value, kwargs", [
    (float("nan"), {}), (float("inf"), {}), (-1.0, dict(minimum=0)), (0.0, dict(above=0)),
    (1.0, dict(below=1)), (2.0, dict(maximum=1)),
])
def test_reals_out_of_range_or_not_finite_are_value_errors(value, kwargs):
    with pytest.raises(ValueError, match="x must be"):
        _args.real("x", value, **kwargs)


def test_reals_may_allow_infinity_for_callers_that_check_it():
    assert _args.real("x", float("inf"), finite=False) == float("inf")


def test_flags():
    assert _args.flag("f", True) is True and _args.flag("f", np.bool_(False)) is False
    for bad in (1, 0, "yes", None):
        with pytest.raises(TypeError, match="f must be True or False"):
            _args.flag("f", bad)


def test_a_large_array_is_described_by_its_shape_not_its_values():
    with pytest.raises(ArgumentTypeError, match=r"got a value of shape \(1000,\)"):
        _args.real("x", np.zeros(1000))


# ---------------------------------------------------------------- the library follows the policy


def _calls():
    from bigmodel_lib import bilstm, economics, finetune, metrics, optim, regularization, selection, text

    param = [torch.zeros(2, requires_grad=True)]
    return {
        "BiLSTMClassifier num_classes": lambda v: bilstm.BiLSTMClassifier(10, v),
        "BiLSTMClassifier dropout": lambda v: bilstm.BiLSTMClassifier(10, 2, dropout=v),
        "FinetuneConfig epochs": lambda v: finetune.FinetuneConfig(epochs=v),
        "FinetuneConfig dropout": lambda v: finetune.FinetuneConfig(dropout=v),
        "set_dropout": lambda v: finetune.set_dropout(torch.nn.Dropout(), v),
        "economics n_layers": lambda v: economics.transformer_params(v, 64, 100, 16),
        "metrics num_classes": lambda v: metrics.confusion_matrix([0, 1], [0, 1], num_classes=v),
        "optim lr": lambda v: optim.SGD(param, lr=v),
        "Dropout p": lambda v: regularization.Dropout(v),
        "kfold k": lambda v: selection.kfold(10, v),
        "Vocabulary min_freq": lambda v: text.Vocabulary.build([["a"]], min_freq=v),
    }


@pytest.mark.parametrize("where", list(_calls()))
@pytest.mark.parametrize("bad", [True, "0.1"])
def test_every_module_refuses_bools_and_strings_as_numbers(where, bad):
    with pytest.raises(ArgumentTypeError):
        _calls()[where](bad)


def test_read_news_csv_refuses_a_bool_class_count(tmp_path):
    from bigmodel_lib.news import read_news_csv

    path = tmp_path / "t.csv"
    path.write_text('"1","a title","a text"\n"2","b title","b text"\n')
    assert read_news_csv(path, num_classes=np.int64(4)).label_names[:2] == ["World", "Sports"]
    with pytest.raises(ArgumentTypeError, match="num_classes must be a positive integer or None"):
        read_news_csv(path, num_classes=True)
    with pytest.raises(ValueError, match="first_label"):
        read_news_csv(path, first_label=True)
