"""bigmodel_lib.fairness against fairlearn's MetricFrame, plus the shipped Adult subset."""

import hashlib

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as fl
from sklearn.metrics import accuracy_score

from bigmodel_lib import fairness as fa
from bigmodel_lib.env import data_dir

ADULT = data_dir() / "adult" / "adult_subset.csv"


# ---------------------------------------------------------------- the data file
def test_adult_subset_hash_and_row_counts():
    assert hashlib.sha256(ADULT.read_bytes()).hexdigest() == fa.ADULT_SHA256
    lines = ADULT.read_text(encoding="ascii").splitlines()
    assert lines[0].split(",")[-2:] == ["income", "split"]
    assert len(lines) - 1 == fa.ADULT_ROWS == 12_211
    df = fa.load_adult()
    assert df.shape == (12_211, 16)
    assert df["split"].value_counts().to_dict() == {"train": 8_141, "test": 4_070}
    assert df["sex"].value_counts().to_dict() == {"Male": 8_128, "Female": 4_083}
    assert int(fa.adult_labels(df).sum()) == int((df["income"] == ">50K").sum())
    assert set(df["income"]) == {">50K", "<=50K"}
    assert df["workclass"].isna().sum() > 0  # '?' read as missing


def test_load_adult_refuses_a_changed_file(tmp_path):
    changed = tmp_path / "adult_subset.csv"
    changed.write_bytes(ADULT.read_bytes().replace(b"Male", b"Mole", 1))
    with pytest.raises(ValueError, match="sha256"):
        fa.load_adult(changed)


def test_adult_features():
    df = fa.load_adult()
    X, names = fa.adult_features(df)
    assert X.dtype == np.float32 and X.shape == (len(df), len(names)) and np.isfinite(X).all()
    assert "sex=Female" in names and "race=White" in names and "workclass=nan" in names
    assert not any(n.startswith(("fnlwgt", "education=", "income", "split")) for n in names)
    onehot = X[:, [i for i, n in enumerate(names) if n.startswith("sex=")]]
    assert (onehot.sum(axis=1) == 1).all()
    X2, names2 = fa.adult_features(df, drop=("sex", "race"))
    assert not any(n.startswith(("sex=", "race=")) for n in names2) and X2.shape[1] == len(names2)
    with pytest.raises(ValueError, match="cannot drop"):
        fa.adult_features(df, drop=("income",))


# ---------------------------------------------------------------- against fairlearn
def random_case(rng):
    n = int(rng.integers(20, 300))
    groups = rng.choice(["a", "b", "c", "d"][: int(rng.integers(2, 5))], n)
    y_true = rng.integers(0, 2, n)
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, 2, n))
    return y_true, y_pred, groups


def metric_frame(y_true, y_pred, groups):
    return fl.MetricFrame(
        metrics={"count": fl.count, "accuracy": accuracy_score, "selection_rate": fl.selection_rate,
                 "tpr": fl.true_positive_rate, "fpr": fl.false_positive_rate},
        y_true=y_true, y_pred=y_pred, sensitive_features=groups)


@pytest.mark.parametrize("seed", range(20))
def test_group_metrics_equal_metricframe(seed):
    y_true, y_pred, groups = random_case(np.random.default_rng(seed))
    ours = fa.group_metrics(y_true, y_pred, groups)
    frame = metric_frame(y_true, y_pred, groups)
    theirs = frame.by_group
    pd.testing.assert_frame_equal(ours.drop("all")[theirs.columns], theirs, check_dtype=False,
                                  check_names=False, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.loc["all", theirs.columns].to_numpy(float),
                               frame.overall.to_numpy(float), rtol=0, atol=1e-12)
    assert fa.demographic_parity_difference(y_true, y_pred, groups) == pytest.approx(
        fl.demographic_parity_difference(y_true, y_pred, sensitive_features=groups), abs=1e-12)
    assert fa.equalized_odds_difference(y_true, y_pred, groups) == pytest.approx(
        fl.equalized_odds_difference(y_true, y_pred, sensitive_features=groups), abs=1e-12)


def test_group_metrics_equal_metricframe_on_adult():
    df = fa.load_adult()
    y = fa.adult_labels(df)
    # a simple rule as the "classifier": many years of education and long hours
    pred = ((df["education_num"] >= 13) & (df["hours_per_week"] >= 40)).to_numpy(int)
    for column in ("sex", "race"):
        ours = fa.group_metrics(y, pred, df[column])
        theirs = metric_frame(y, pred, df[column].to_numpy()).by_group
        pd.testing.assert_frame_equal(ours.drop("all")[theirs.columns], theirs, check_dtype=False,
                                      check_names=False, rtol=0, atol=1e-12)


def test_rates_by_hand():
    y_true = [1, 1, 1, 0, 0, 0, 0, 1]
    y_pred = [1, 0, 1, 1, 0, 0, 0, 0]
    assert fa.selection_rate(y_pred) == 3 / 8
    assert fa.true_positive_rate(y_true, y_pred) == 2 / 4
    assert fa.false_positive_rate(y_true, y_pred) == 1 / 4
    assert fa.true_positive_rate([0, 0], [1, 0]) == 0.0  # no positives: 0, like fairlearn
    groups = ["m"] * 4 + ["f"] * 4
    table = fa.group_metrics(y_true, y_pred, groups)
    assert table.index.tolist() == ["f", "m", "all"]
    assert table.loc["m"].to_dict() == {"count": 4, "accuracy": 0.5, "selection_rate": 0.75,
                                        "tpr": 2 / 3, "fpr": 1.0}
    assert fa.demographic_parity_difference(y_true, y_pred, groups) == 0.75
    assert fa.equalized_odds_difference(y_true, y_pred, groups) == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="0/1"):
        fa.group_metrics([0, 2], [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="one group per row"):
        fa.group_metrics([0, 1], [0, 1], ["a"])
    with pytest.raises(ValueError, match="3 rows but y_pred has 2"):
        fa.group_metrics([0, 1, 1], [0, 1], ["a", "b", "b"])
    with pytest.raises(ValueError, match="missing"):
        fa.group_metrics([0, 1], [0, 1], ["a", None])
    with pytest.raises(ValueError, match="non-empty"):
        fa.selection_rate([])


# ---------------------------------------------------------------- mitigation
@pytest.mark.parametrize("seed", range(5))
def test_group_thresholds_equalise_selection_rates(seed):
    rng = np.random.default_rng(seed)
    n = 500
    groups = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    scores = rng.normal(size=n) + (groups == "a")  # group a scores higher
    thresholds = fa.group_thresholds(scores, groups, 0.3)
    decided = fa.apply_thresholds(scores, groups, thresholds)
    for g in "abc":
        members = groups == g
        assert decided[members].sum() == int(np.ceil(0.3 * members.sum()))
    single = (scores >= np.quantile(scores, 0.7)).astype(int)
    assert fa.demographic_parity_difference(decided, decided, groups) < fa.demographic_parity_difference(
        single, single, groups)


def test_group_thresholds_equalise_true_positive_rates():
    rng = np.random.default_rng(0)
    n = 600
    groups = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    scores = y + rng.normal(size=n) * np.where(groups == "a", 0.5, 1.5)
    decided = fa.apply_thresholds(scores, groups, fa.group_thresholds(scores, groups, 0.8, y_true=y))
    for g in "ab":
        positives = (groups == g) & (y == 1)
        assert decided[positives].sum() == int(np.ceil(0.8 * positives.sum()))


def test_threshold_bad_input():
    with pytest.raises(ValueError, match="rate"):
        fa.group_thresholds([0.1, 0.2], ["a", "b"], 0.0)
    with pytest.raises(ValueError, match="NaN"):
        fa.group_thresholds([0.1, float("nan")], ["a", "b"], 0.5)
    with pytest.raises(ValueError, match="no positive rows"):
        fa.group_thresholds([0.1, 0.2], ["a", "b"], 0.5, y_true=[1, 0])
    with pytest.raises(ValueError, match="no threshold for groups \\['c'\\]"):
        fa.apply_thresholds([0.1, 0.2], ["a", "c"], {"a": 0.0})
