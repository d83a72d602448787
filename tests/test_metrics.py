"""bigmodel_lib.metrics against scikit-learn on many seeded random inputs, plus its edge cases."""

import re
import warnings

import numpy as np
import pytest
import torch
from sklearn import metrics as sk

from bigmodel_lib import metrics as m

# scikit-learn's own warnings about single labels, not ours
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")

TOL = dict(rtol=0, atol=1e-12)
N_CASES = 150


def random_labels(rng):
    """y_true, y_pred with classes that are never predicted and classes absent from y_true."""
    n = int(rng.integers(1, 60))
    k = int(rng.integers(1, 7))
    t = rng.integers(0, k, n)
    p = rng.integers(0, k, n)
    if rng.random() < 0.3:  # a prediction of a class that never occurs in y_true
        p[rng.integers(0, n)] = k + 2
    if rng.random() < 0.3:  # labels need not start at 0
        t, p = t + 3, p + 3
    if rng.random() < 0.3:  # a good classifier: mostly right
        p = np.where(rng.random(n) < 0.8, t, p)
    return t, p


def random_binary_scores(rng, ties=None):
    """Binary y_true with both classes and scores, often with many tied values."""
    n = int(rng.integers(2, 80))
    t = rng.integers(0, 2, n)
    t[0], t[-1] = 0, 1
    rng.shuffle(t)
    ties = rng.random() < 0.5 if ties is None else ties
    s = rng.integers(0, 4, n).astype(float) if ties else rng.normal(size=n) + t
    return t, s


def assert_close(a, b):
    np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), **TOL)


# ----------------------------------------------------------------- label metrics
def test_accuracy_and_confusion_matrix_match_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(N_CASES):
        t, p = random_labels(rng)
        assert m.accuracy(t, p) == pytest.approx(sk.accuracy_score(t, p), abs=1e-12)
        np.testing.assert_array_equal(m.confusion_matrix(t, p), sk.confusion_matrix(t, p))
        k = int(max(t.max(), p.max())) + 1
        np.testing.assert_array_equal(
            m.confusion_matrix(t, p, num_classes=k), sk.confusion_matrix(t, p, labels=np.arange(k))
        )
        # a subset in a random order (scikit-learn refuses one that misses y_true entirely)
        labels = np.r_[t[0], rng.permutation(np.setdiff1d(p, t[0]))[: int(rng.integers(0, 3))]]
        np.testing.assert_array_equal(
            m.confusion_matrix(t, p, labels=labels), sk.confusion_matrix(t, p, labels=labels)
        )
        for norm in ("true", "pred", "all"):
            assert_close(
                m.confusion_matrix(t, p, normalize=norm), sk.confusion_matrix(t, p, normalize=norm)
            )


def test_confusion_matrix_layout_rows_true_columns_predicted():
    cm = m.confusion_matrix([0, 0, 1, 2], [1, 1, 1, 0], num_classes=4)
    assert (
        cm.shape == (4, 4) and cm[0, 1] == 2 and cm[1, 1] == 1 and cm[2, 0] == 1 and cm.sum() == 4
    )
    assert cm[3].sum() == 0 and cm[:, 3].sum() == 0


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_precision_recall_f1_match_sklearn(average):
    rng = np.random.default_rng(1)
    for _ in range(N_CASES):
        t, p = random_labels(rng)
        got = m.precision_recall_f1(t, p, average)
        want = sk.precision_recall_fscore_support(t, p, average=average, zero_division=0)
        for g, w in zip(got[:3], want[:3], strict=True):
            assert_close(g, w)
        if average is None:
            np.testing.assert_array_equal(got[3], want[3])
        else:
            assert got[3] is None and want[3] is None
            assert all(isinstance(v, float) for v in got[:3])


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_precision_recall_f1_with_given_labels_match_sklearn(average):
    rng = np.random.default_rng(2)
    for _ in range(N_CASES):
        t, p = random_labels(rng)
        present = np.union1d(t, p)
        # a subset in a random order, sometimes with a class that never occurs at all
        labels = rng.permutation(present)[: int(rng.integers(1, len(present) + 1))]
        if rng.random() < 0.3:
            labels = np.r_[labels, 99]
        got = m.precision_recall_f1(t, p, average, labels=labels)
        want = sk.precision_recall_fscore_support(
            t, p, average=average, labels=labels, zero_division=0
        )
        for g, w in zip(got[:3], want[:3], strict=True):
            assert_close(g, w)


@pytest.mark.parametrize("pos_label", [1, 0])
def test_binary_average_matches_sklearn(pos_label):
    rng = np.random.default_rng(3)
    for _ in range(N_CASES):
        n = int(rng.integers(1, 40))
        t, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
        if rng.random() < 0.2:  # only one class anywhere: pos_label may be absent
            t[:], p[:] = 0, 0
        got = m.precision_recall_f1(t, p, "binary", pos_label=pos_label)
        want = sk.precision_recall_fscore_support(
            t, p, average="binary", pos_label=pos_label, zero_division=0
        )
        assert got[3] is None and want[3] is None
        assert_close(got[:3], want[:3])


def test_micro_average_is_accuracy_and_f1_is_not_f1_of_macro_averages():
    t, p = [0, 0, 0, 0, 1, 2, 2], [0, 0, 1, 2, 1, 2, 0]
    precision, recall, f1, _ = m.precision_recall_f1(t, p, "micro")
    assert precision == recall == f1 == pytest.approx(m.accuracy(t, p))
    mp, mr, mf, _ = m.precision_recall_f1(t, p, "macro")
    assert mf == pytest.approx(np.mean(m.precision_recall_f1(t, p, None)[2]))
    assert mf != pytest.approx(2 * mp * mr / (mp + mr))


def test_classification_report_text_and_dict_match_sklearn():
    rng = np.random.default_rng(4)
    for case in range(60):
        t, p = random_labels(rng)
        kwargs = {}
        if case % 3 == 1:
            kwargs["labels"] = rng.permutation(np.union1d(t, p))[: int(rng.integers(1, 4))]
        if case % 3 == 2:
            kwargs["target_names"] = [f"class {c}" * (c % 3 + 1) for c in np.union1d(t, p)]
        digits = int(rng.integers(1, 5))
        text = m.classification_report(t, p, digits=digits, **kwargs)
        want_text = sk.classification_report(t, p, digits=digits, zero_division=0, **kwargs)
        # scikit-learn prints the support as 2.0 when no listed class has a true positive
        want_text = re.sub(
            r"(\s+)(\d+)\.0$", lambda g: " " * (len(g[1]) + 2) + g[2], want_text, flags=re.M
        )
        assert text == want_text
        got = m.classification_report(t, p, output_dict=True, **kwargs)
        want = sk.classification_report(t, p, output_dict=True, zero_division=0, **kwargs)
        assert list(got) == list(want)
        for key, value in want.items():
            if isinstance(value, dict):
                assert list(got[key]) == list(value)
                assert_close(list(got[key].values()), list(value.values()))
            else:
                assert got[key] == pytest.approx(value, abs=1e-12)


def test_classification_report_needs_one_name_per_class():
    with pytest.raises(ValueError, match="target_names"):
        m.classification_report([0, 1, 2], [0, 1, 1], target_names=["a", "b"])


# ----------------------------------------------------------------- score metrics
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_matches_sklearn_including_thresholds(drop):
    rng = np.random.default_rng(5)
    for _ in range(N_CASES):
        t, s = random_binary_scores(rng)
        got = m.roc_curve(t, s, drop_intermediate=drop)
        want = sk.roc_curve(t, s, drop_intermediate=drop)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape
            assert_close(g, w)  # thresholds[0] is inf in both
        assert got[2][0] == np.inf


@pytest.mark.parametrize("drop", [False, True])
def test_precision_recall_curve_matches_sklearn(drop):
    rng = np.random.default_rng(6)
    for _ in range(N_CASES):
        t, s = random_binary_scores(rng)
        if rng.random() < 0.1:
            t[:] = 1  # no negatives: precision is 1 everywhere, still defined
        got = m.precision_recall_curve(t, s, drop_intermediate=drop)
        want = sk.precision_recall_curve(t, s, drop_intermediate=drop)
        for g, w in zip(got, want, strict=True):
            assert g.shape == w.shape
            assert_close(g, w)


def test_roc_auc_and_average_precision_match_sklearn():
    rng = np.random.default_rng(7)
    for _ in range(N_CASES):
        t, s = random_binary_scores(rng)
        assert m.roc_auc(t, s) == pytest.approx(sk.roc_auc_score(t, s), abs=1e-12)
        assert m.average_precision(t, s) == pytest.approx(
            sk.average_precision_score(t, s), abs=1e-12
        )


def test_pos_label_other_than_one():
    rng = np.random.default_rng(8)
    for _ in range(30):
        t, s = random_binary_scores(rng)
        t = np.where(t == 1, 7, 2)  # labels {2, 7}, positive 2: low scores mean "2"
        assert_close(m.roc_curve(t, s, pos_label=2)[1], sk.roc_curve(t, s, pos_label=2)[1])
        assert m.roc_auc(t, s, pos_label=2) == pytest.approx(
            1 - sk.roc_auc_score(t == 7, s), abs=1e-12
        )
        assert m.average_precision(t, s, pos_label=2) == pytest.approx(
            sk.average_precision_score(t, s, pos_label=2), abs=1e-12
        )


def test_roc_auc_is_the_probability_a_positive_outscores_a_negative():
    rng = np.random.default_rng(9)
    for _ in range(50):
        t, s = random_binary_scores(rng)
        pos, neg = s[t == 1][:, None], s[t == 0][None, :]
        pairwise = np.mean((pos > neg) + 0.5 * (pos == neg))
        assert m.roc_auc(t, s) == pytest.approx(pairwise, abs=1e-12)


def test_multiclass_one_vs_rest_matches_sklearn():
    rng = np.random.default_rng(10)
    for _ in range(40):
        k = int(rng.integers(2, 6))
        n = int(rng.integers(k, 80))
        t = np.r_[np.arange(k), rng.integers(0, k, n - k)]
        logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[t]
        if rng.random() < 0.5:
            logits = np.round(logits)  # ties
        probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        if k == 2:  # scikit-learn treats two columns as binary; one-vs-rest is the mean of both
            want_auc = np.mean([sk.roc_auc_score(t == c, probs[:, c]) for c in range(k)])
        else:
            want_auc = sk.roc_auc_score(t, probs, multi_class="ovr")
        assert m.roc_auc(t, probs) == pytest.approx(want_auc, abs=1e-12)
        want_ap = np.mean([sk.average_precision_score(t == c, probs[:, c]) for c in range(k)])
        assert m.average_precision(t, probs) == pytest.approx(want_ap, abs=1e-12)


def test_tied_scores_do_not_depend_on_sample_order():
    t, s = np.array([0, 1, 0, 1, 1, 0]), np.array([0.5, 0.5, 0.5, 0.5, 0.9, 0.1])
    perm = np.array([5, 3, 1, 0, 2, 4])
    assert m.roc_auc(t, s) == m.roc_auc(t[perm], s[perm]) == pytest.approx(sk.roc_auc_score(t, s))
    np.testing.assert_array_equal(m.roc_curve(t, s)[2], [np.inf, 0.9, 0.5, 0.1])


def test_perfect_and_reversed_scores():
    t = [0, 0, 1, 1]
    assert m.roc_auc(t, [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert m.roc_auc(t, [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert m.roc_auc(t, [0.5, 0.5, 0.5, 0.5]) == 0.5
    assert m.average_precision(t, [0.1, 0.2, 0.8, 0.9]) == 1.0


# ----------------------------------------------------------------- input types
def test_lists_numpy_and_tensors_give_the_same_results():
    t, p = [0, 2, 1, 1, 0, 2], [0, 1, 1, 1, 2, 2]
    s = [0.1, 0.7, 0.4, 0.9, 0.3, 0.6]
    y = [0, 1, 0, 1, 0, 1]
    want = m.precision_recall_f1(t, p, None)
    for convert in (np.array, torch.tensor, lambda v: torch.tensor(v, dtype=torch.float32)):
        got = m.precision_recall_f1(convert(t), convert(p), None)
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    scores = torch.tensor(s, requires_grad=True)
    assert m.roc_auc(torch.tensor(y), scores) == m.roc_auc(y, s)
    assert m.roc_auc(
        torch.tensor(y, dtype=torch.bool), torch.tensor(s, dtype=torch.bfloat16)
    ) == sk.roc_auc_score(y, torch.tensor(s, dtype=torch.bfloat16).float().numpy())
    assert m.accuracy(np.array([True, False]), [1, 1]) == 0.5


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "fn", [m.accuracy, m.confusion_matrix, m.precision_recall_f1, m.classification_report]
)
def test_label_metrics_refuse_bad_input(fn):
    with pytest.raises(ValueError, match="samples"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="integer"):
        fn([0, 1], [0.5, 1.0])
    with pytest.raises(ValueError, match="integer"):
        fn(["cat", "dog"], ["cat", "cat"])
    with pytest.raises(ValueError, match="integer"):
        fn([0.0, np.nan], [0, 1])
    with pytest.raises(ValueError, match="argmax"):
        fn([0, 1], [[0.9, 0.1], [0.2, 0.8]])


@pytest.mark.parametrize(
    "fn", [m.roc_curve, m.roc_auc, m.precision_recall_curve, m.average_precision]
)
def test_score_metrics_refuse_bad_input(fn):
    with pytest.raises(ValueError, match="samples"):
        fn([0, 1, 1], [0.2, 0.4])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="NaN"):
        fn([0, 1, 1], [0.2, np.nan, 0.3])
    with pytest.raises(ValueError, match="infinity"):
        fn([0, 1, 1], [0.2, np.inf, 0.3])
    with pytest.raises(ValueError, match="integer"):
        fn([0, 0.5, 1], [0.2, 0.3, 0.3])
    with pytest.raises(ValueError, match="binary|one column per class"):
        fn([0, 1, 2], [0.2, 0.3, 0.3])
    with pytest.raises(ValueError, match="pos_label"):
        fn([0, 2, 2], [0.2, 0.3, 0.3])


def test_one_class_is_an_error_for_roc_and_no_positive_for_pr():
    # older scikit-learn raised here too; 1.9 warns and returns NaN. We raise.
    for y in ([1, 1, 1], [0, 0, 0]):
        with pytest.raises(ValueError, match="one class"):
            m.roc_auc(y, [0.1, 0.2, 0.3])
        with pytest.raises(ValueError, match="one class"):
            m.roc_curve(y, [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="no positive"):
        m.average_precision([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="never occur"):
        m.roc_auc([0, 0, 1], np.eye(3)[[0, 0, 1]])


def test_other_argument_errors():
    with pytest.raises(ValueError, match="average"):
        m.precision_recall_f1([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="at most two classes"):
        m.precision_recall_f1([0, 1, 2], [0, 1, 2], average="binary")
    with pytest.raises(ValueError, match="pos_label"):
        m.precision_recall_f1([0, 2], [0, 2], average="binary")
    with pytest.raises(ValueError, match="outside 0..2"):
        m.confusion_matrix([0, 1, 3], [0, 1, 2], num_classes=3)
    with pytest.raises(ValueError, match="positive integer"):
        m.confusion_matrix([0, 1], [0, 1], num_classes=0)
    with pytest.raises(ValueError, match="repeat"):
        m.precision_recall_f1([0, 1], [0, 1], labels=[1, 1])
    with pytest.raises(ValueError, match="normalize"):
        m.confusion_matrix([0, 1], [0, 1], normalize="rows")
    with pytest.raises(TypeError, match="string"):
        m.accuracy("0101", "0110")
    with pytest.raises(ValueError, match="1-D .* or 2-D"):
        m.roc_auc([0, 1], np.zeros((2, 2, 2)))


def test_no_warnings_for_zero_division():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert m.precision_recall_f1([0, 0, 1], [0, 0, 0], None)[0].tolist() == [2 / 3, 0.0]


# ---------------------------------------------------------------- pos_label: scikit-learn's rule (issue 22)
CURVES_AND_SCORES = {
    "roc_curve": (m.roc_curve, sk.roc_curve),
    "precision_recall_curve": (m.precision_recall_curve, sk.precision_recall_curve),
    "roc_auc": (m.roc_auc, None),
    "average_precision": (m.average_precision, None),
}


@pytest.mark.parametrize("name", sorted(CURVES_AND_SCORES))
@pytest.mark.parametrize("label_set", [(1, 2), (2, 5), (-1, 0), (0, 2), (3, 7), (-3, -1)])
def test_labels_outside_0_1_need_an_explicit_pos_label(name, label_set):
    ours, theirs = CURVES_AND_SCORES[name]
    low, high = label_set
    t = np.array([low, high, high, low, high, low])
    s = np.array([0.1, 0.9, 0.8, 0.2, 0.4, 0.6])
    with pytest.raises(ValueError, match="pos_label") as info:
        ours(t, s)
    assert f"pos_label={high}" in str(info.value)  # the error suggests a value
    if theirs is not None:  # scikit-learn's curves refuse the same inputs
        with pytest.raises(ValueError, match="pos_label"):
            theirs(t, s)


@pytest.mark.parametrize("label_set", [(1, 2), (2, 5), (-1, 0), (0, 2), (3, 7), (-3, -1)])
@pytest.mark.parametrize("which", ["low", "high"])
def test_explicit_pos_label_matches_sklearn_on_several_label_sets(label_set, which):
    rng = np.random.default_rng(abs(sum(label_set)) + 100 * (which == "high"))
    pos = label_set[0] if which == "low" else label_set[1]
    for _ in range(20):
        t = rng.choice(label_set, size=int(rng.integers(4, 40)))
        if len(np.unique(t)) < 2:
            continue
        s = np.round(rng.random(len(t)), 1)  # ties too
        for ours, theirs in [(m.roc_curve, sk.roc_curve),
                             (m.precision_recall_curve, sk.precision_recall_curve)]:
            for a, b in zip(ours(t, s, pos_label=pos), theirs(t, s, pos_label=pos), strict=True):
                assert_close(a, b)
        assert m.roc_auc(t, s, pos_label=pos) == pytest.approx(
            sk.roc_auc_score(t == pos, s), abs=1e-12)
        assert m.average_precision(t, s, pos_label=pos) == pytest.approx(
            sk.average_precision_score(t, s, pos_label=pos), abs=1e-12)
        p = rng.choice(label_set, size=len(t))
        got = m.precision_recall_f1(t, p, "binary", pos_label=pos)
        want = sk.precision_recall_fscore_support(t, p, average="binary", pos_label=pos, zero_division=0)
        np.testing.assert_allclose(got[:3], want[:3], atol=1e-12)


def test_the_reported_case_roc_auc_1_2():
    t, s = [1, 2, 2, 1], [0.1, 0.9, 0.8, 0.2]
    with pytest.raises(ValueError, match="pos_label"):
        m.roc_auc(t, s)  # used to return 0.0 silently (class 1 taken as positive)
    assert m.roc_auc(t, s, pos_label=2) == sk.roc_auc_score(t, s) == 1.0
    assert m.roc_auc(t, s, pos_label=1) == 0.0


@pytest.mark.parametrize("label_set", [(0, 1), (-1, 1), (0,), (1,), (False, True)])
def test_labels_in_0_1_or_minus1_1_default_to_positive_1(label_set):
    t = np.array([label_set[i % len(label_set)] for i in range(8)])
    s = np.linspace(0, 1, 8)
    if len(set(t.tolist())) == 2:
        for a, b in zip(m.roc_curve(t, s), sk.roc_curve(t, s), strict=True):
            assert_close(a, b)
        assert m.roc_auc(t, s) == pytest.approx(sk.roc_auc_score(t, s), abs=1e-12)
    if 1 in t.tolist():
        for a, b in zip(m.precision_recall_curve(t, s), sk.precision_recall_curve(t, s), strict=True):
            assert_close(a, b)
        assert m.average_precision(t, s) == pytest.approx(sk.average_precision_score(t, s), abs=1e-12)


def test_binary_f1_follows_the_same_rule():
    with pytest.raises(ValueError, match="pos_label"):
        m.precision_recall_f1([1, 2, 2], [1, 2, 1], "binary")
    with pytest.raises(ValueError, match="pos_label"):
        m.precision_recall_f1([3, 3], [3, 3], "binary")
    assert m.precision_recall_f1([-1, 1, 1], [-1, 1, -1], "binary")[:3] == pytest.approx(
        sk.precision_recall_fscore_support([-1, 1, 1], [-1, 1, -1], average="binary")[:3])


@pytest.mark.parametrize("bad", ["2", 1.5, True, [2]])
def test_pos_label_must_be_an_integer_label(bad):
    with pytest.raises(ValueError, match="pos_label"):
        m.roc_curve([1, 2, 2], [0.1, 0.2, 0.3], pos_label=bad)


def test_pos_label_with_2d_scores_is_refused():
    t = [0, 1, 2, 1]
    probs = np.eye(3)[t] * 0.8 + 0.2 / 3
    with pytest.raises(ValueError, match="1-D scores only"):
        m.roc_auc(t, probs, pos_label=1)
    with pytest.raises(ValueError, match="1-D scores only"):
        m.average_precision(t, probs, pos_label=2)
