"""bigmodel_lib.selection: splits and the GP against scikit-learn, searches, ensembles."""

import math
import warnings

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from bigmodel_lib import selection as sel


def assert_partition(folds, n):
    val = np.concatenate([v for _, v in folds])
    np.testing.assert_array_equal(np.sort(val), np.arange(n))  # every sample validated once
    for train, v in folds:
        assert len(np.intersect1d(train, v)) == 0 and len(train) + len(v) == n
        assert np.all(np.diff(train) > 0) and np.all(np.diff(v) > 0)


# ----------------------------------------------------------------- splits
def test_kfold_without_shuffle_is_sklearns_kfold():
    for n in range(2, 40):
        for k in range(2, min(n, 7) + 1):
            ours = sel.kfold(n, k, shuffle=False)
            for (tr, va), (sk_tr, sk_va) in zip(ours, KFold(k).split(np.zeros(n)), strict=True):
                np.testing.assert_array_equal(tr, sk_tr)
                np.testing.assert_array_equal(va, sk_va)


def test_kfold_shuffled_is_a_seeded_partition_of_even_folds():
    folds = sel.kfold(23, 5, seed=3)
    assert_partition(folds, 23)
    assert sorted(len(v) for _, v in folds) == [4, 4, 5, 5, 5]
    same = sel.kfold(23, 5, seed=3)
    other = sel.kfold(23, 5, seed=4)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, same, strict=True))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other, strict=True))
    assert not np.array_equal(folds[0][1], np.arange(5))  # shuffled, not blocks


def test_stratified_kfold_without_shuffle_is_sklearns():
    rng = np.random.default_rng(0)
    for _ in range(60):
        k = int(rng.integers(2, 6))
        n_classes = int(rng.integers(1, 5))
        y = rng.integers(0, n_classes, int(rng.integers(3 * k, 60)))
        y[:k] = 0  # at least one class with k members
        with warnings.catch_warnings():  # both warn about classes with fewer than k members
            warnings.simplefilter("ignore", UserWarning)
            ours = sel.stratified_kfold(y, k, shuffle=False)
            theirs = list(StratifiedKFold(k).split(np.zeros(len(y)), y))
        for (tr, va), (sk_tr, sk_va) in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(tr, sk_tr)
            np.testing.assert_array_equal(va, sk_va)


def test_stratified_kfold_shuffled_keeps_class_counts_per_fold():
    rng = np.random.default_rng(1)
    y = np.r_[np.zeros(50, int), np.ones(13, int), np.full(7, 2)]
    rng.shuffle(y)
    folds = sel.stratified_kfold(torch.tensor(y), 5, seed=7)
    assert_partition(folds, len(y))
    counts = np.array([np.bincount(y[v], minlength=3) for _, v in folds])
    reference = np.array(
        [np.bincount(y[v], minlength=3) for _, v in StratifiedKFold(5).split(y, y)]
    )
    np.testing.assert_array_equal(np.sort(counts, 0), np.sort(reference, 0))
    assert counts.max(0).tolist() == [10, 3, 2] and counts.min(0).tolist() == [10, 2, 1]
    assert not np.array_equal(folds[0][1], sel.stratified_kfold(y, 5, seed=8)[0][1])


def test_split_arguments_are_checked():
    with pytest.raises(ValueError, match="k must be"):
        sel.kfold(10, 1)
    with pytest.raises(ValueError, match="k=11"):
        sel.kfold(10, 11)
    with pytest.raises(ValueError, match="integer class labels"):
        sel.stratified_kfold([0.5, 1.0, 0.0], 2)
    with pytest.raises(ValueError, match="fewer than k"):
        sel.stratified_kfold([0, 0, 1, 1, 2, 2], 3)
    with pytest.warns(UserWarning, match="smallest class"):
        sel.stratified_kfold([0, 0, 0, 1], 3)


# ----------------------------------------------------------------- cross-validation
def test_cross_validate_matches_sklearn_cross_val_score():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=0.8, size=90) > 0).astype(int)

    def train_fn(X_train, y_train, X_val, y_val):
        return LogisticRegression().fit(X_train, y_train).score(X_val, y_val)

    ours = sel.cross_validate(train_fn, X, y, k=5, stratified=False, shuffle=False)
    theirs = cross_val_score(LogisticRegression(), X, y, cv=KFold(5))
    np.testing.assert_allclose(ours.scores, theirs, atol=1e-12)
    ours = sel.cross_validate(train_fn, X, y, k=4, shuffle=False)  # integer y: stratified
    theirs = cross_val_score(LogisticRegression(), X, y, cv=StratifiedKFold(4))
    np.testing.assert_allclose(ours.scores, theirs, atol=1e-12)
    assert ours.mean == pytest.approx(theirs.mean())
    assert ours.std == pytest.approx(theirs.std(ddof=1))
    assert ours.sem == pytest.approx(theirs.std(ddof=1) / 2)
    assert "± " in str(ours)


def test_cross_validate_keeps_the_type_of_the_data():
    X, y = torch.arange(20.0).reshape(10, 2), torch.tensor([0, 1] * 5)
    seen = []

    def train_fn(X_train, y_train, X_val, y_val):
        seen.append((type(X_train), type(y_val), len(X_train), len(X_val)))
        assert torch.equal(X_train[:, 0] / 2, X_train[:, 1] / 2 - 0.5)  # rows stay whole
        return float(y_val.float().mean())

    result = sel.cross_validate(train_fn, X, y, k=5)
    assert seen == [(torch.Tensor, torch.Tensor, 8, 2)] * 5
    np.testing.assert_allclose(result.scores, 0.5)  # stratified: one of each class per fold
    texts = [f"doc {i}" for i in range(6)]
    result = sel.cross_validate(lambda a, b, c, d: len(c), texts, [0.1] * 6, k=3)
    np.testing.assert_array_equal(result.scores, [2, 2, 2])


def test_cross_validate_refuses_bad_input():
    with pytest.raises(ValueError, match="rows"):
        sel.cross_validate(lambda *a: 1.0, np.zeros((5, 2)), np.zeros(4), k=2)
    with pytest.raises(TypeError, match="number"):
        sel.cross_validate(lambda *a: "good", np.zeros((6, 2)), np.zeros(6), k=2)
    with pytest.raises(ValueError, match="finite"):
        sel.cross_validate(lambda *a: float("nan"), np.zeros((6, 2)), np.zeros(6), k=2)
    with pytest.raises(TypeError, match="train_fn"):
        sel.cross_validate(None, np.zeros((6, 2)), np.zeros(6), k=2)


# ----------------------------------------------------------------- Gaussian process
@pytest.mark.parametrize("d", [1, 3])
def test_gp_posterior_matches_sklearn_with_a_fixed_kernel(d):
    rng = np.random.default_rng(3)
    for _ in range(10):
        n = int(rng.integers(2, 25))
        X, X_test = rng.random((n, d)), rng.random((30, d))
        y = np.sin(6 * X).sum(1) + 0.1 * rng.normal(size=n)
        length_scale, variance, noise = (
            rng.uniform(0.1, 1),
            rng.uniform(0.5, 2),
            rng.uniform(1e-4, 0.1),
        )
        ours = sel.GaussianProcess(length_scale, variance, noise).fit(X, y)
        kernel = ConstantKernel(variance, "fixed") * RBF(length_scale, "fixed")
        theirs = GaussianProcessRegressor(kernel, alpha=noise, optimizer=None).fit(X, y)
        mean, std = ours.predict(X_test)
        sk_mean, sk_std = theirs.predict(X_test, return_std=True)
        np.testing.assert_allclose(mean, sk_mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(std, sk_std, rtol=1e-9, atol=1e-9)
        assert ours.log_marginal_likelihood() == pytest.approx(
            theirs.log_marginal_likelihood_value_, rel=1e-10
        )
        assert ours.jitter_ == 0.0


def test_gp_interpolates_and_is_uncertain_far_from_data():
    X = np.array([[0.2], [0.5], [0.9]])
    gp = sel.GaussianProcess(length_scale=0.1, noise=1e-10).fit(X, [1.0, -1.0, 2.0])
    mean, std = gp.predict(X)
    np.testing.assert_allclose(mean, [1.0, -1.0, 2.0], atol=1e-6)
    assert std.max() < 1e-3
    _, far = gp.predict([[5.0]])
    assert far[0] == pytest.approx(1.0)  # the prior's standard deviation


def test_gp_adds_jitter_when_the_kernel_matrix_is_singular():
    X = np.array([[0.3], [0.3], [0.7]])  # a repeated point with zero noise
    gp = sel.GaussianProcess(length_scale=0.5, noise=0.0).fit(X, [1.0, 1.0, 0.0])
    mean, std = gp.predict([[0.3], [0.5]])
    assert gp.jitter_ > 0 and np.isfinite(mean).all() and np.isfinite(std).all()
    assert mean[0] == pytest.approx(1.0, abs=1e-3)


def test_gp_refuses_bad_input():
    with pytest.raises(ValueError, match="length_scale"):
        sel.GaussianProcess(length_scale=0)
    with pytest.raises(ValueError, match="shape"):
        sel.GaussianProcess().fit(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(RuntimeError, match="fit"):
        sel.GaussianProcess().predict([[0.0]])


def test_rbf_kernel_formula():
    a, b = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])
    assert sel.rbf_kernel(a, b, length_scale=5.0, variance=2.0)[0, 0] == pytest.approx(
        2 * math.exp(-0.5)
    )


# ----------------------------------------------------------------- expected improvement
def test_expected_improvement_matches_its_closed_form_and_the_integral():
    rng = np.random.default_rng(4)
    mean, std = rng.normal(size=50), rng.uniform(0.01, 2, size=50)
    best, xi = 0.3, 0.05
    z = (mean - best - xi) / std
    closed = (mean - best - xi) * stats.norm.cdf(z) + std * stats.norm.pdf(z)
    ei = sel.expected_improvement(mean, std, best, xi)
    np.testing.assert_allclose(ei, closed, rtol=1e-12, atol=1e-15)
    for i in range(5):  # E[max(f - best - xi, 0)] for f ~ N(mean, std^2), by quadrature
        integral, _ = integrate.quad(
            lambda f, i=i: max(f - best - xi, 0.0) * stats.norm.pdf(f, mean[i], std[i]),
            mean[i] - 12 * std[i],
            mean[i] + 12 * std[i],
            points=[best + xi],
            limit=200,
        )
        assert ei[i] == pytest.approx(integral, rel=1e-6, abs=1e-10)


def test_expected_improvement_edge_cases():
    np.testing.assert_allclose(
        sel.expected_improvement([1.0, -1.0], [0.0, 0.0], best=0.0), [1.0, 0.0]
    )
    low, high = sel.expected_improvement([0.0, 0.0], [0.1, 1.0], best=0.5)
    assert 0 <= low < high  # same mean: more uncertainty, more to gain
    with pytest.raises(ValueError, match="std"):
        sel.expected_improvement([0.0], [-1.0], best=0.0)


# ----------------------------------------------------------------- searches
def bowl(p):
    """Maximum 0 at x = 0.3, lr = 1e-2; width barely matters."""
    return -((p["x"] - 0.3) ** 2) - (math.log10(p["lr"]) + 2) ** 2 / 4 - 0.001 * (p["width"] == 16)


SPACE = {"x": sel.Uniform(0, 1), "lr": sel.LogUniform(1e-4, 1), "width": [16, 32]}


def test_grid_search_tries_every_combination():
    result = sel.grid_search(bowl, SPACE, points=3)
    assert len(result) == 3 * 3 * 2 and result.method == "grid"
    assert {p["x"] for p in result.params} == {0.0, 0.5, 1.0}
    assert sorted({p["lr"] for p in result.params}) == pytest.approx([1e-4, 1e-2, 1.0])
    assert result.best_params == {"x": 0.5, "lr": pytest.approx(1e-2), "width": 32}
    assert result.best_score == max(bowl(p) for p in result.params)
    np.testing.assert_array_equal(result.best_so_far(), np.maximum.accumulate(result.scores))


def test_random_search_is_seeded_and_stays_in_the_space():
    a = sel.random_search(bowl, SPACE, 40, seed=1)
    b = sel.random_search(bowl, SPACE, 40, seed=1)
    assert a.params == b.params and len(a) == 40
    xs = np.array([p["x"] for p in a.params])
    lrs = np.array([p["lr"] for p in a.params])
    assert xs.min() >= 0 and xs.max() <= 1 and lrs.min() >= 1e-4 and lrs.max() <= 1
    assert len(set(xs)) == 40  # every trial tries a new value of each real dimension
    assert np.mean(lrs < 1e-2) == pytest.approx(0.5, abs=0.2)  # log-uniform: half below 1e-2
    assert {p["width"] for p in a.params} == {16, 32}


def test_bayesian_optimization_beats_random_search_on_a_smooth_function():
    bo_regret, rs_regret = [], []  # how far below the maximum (0) the best trial is
    for seed in range(5):
        bo = sel.bayesian_optimization(bowl, SPACE, 20, seed=seed)
        rs = sel.random_search(bowl, SPACE, 20, seed=seed)
        assert len(bo) == 20 and bo.params[:5] == rs.params[:5]  # the same random start
        bo_regret.append(-bo.best_score)
        rs_regret.append(-rs.best_score)
    assert max(bo_regret) < 0.01
    assert np.mean(bo_regret) < 0.25 * np.mean(rs_regret)


def test_minimisation_and_search_errors():
    result = sel.bayesian_optimization(
        lambda p: (p["x"] - 0.7) ** 2, {"x": sel.Uniform(0, 1)}, 12, maximize=False, seed=0
    )
    assert result.best_score < 1e-3 and result.best_params["x"] == pytest.approx(0.7, abs=0.03)
    np.testing.assert_array_equal(result.best_so_far(), np.minimum.accumulate(result.scores))
    with pytest.raises(ValueError, match="low < high"):
        sel.Uniform(1, 0)
    with pytest.raises(ValueError, match="low > 0"):
        sel.LogUniform(0, 1)
    with pytest.raises(ValueError, match="space"):
        sel.random_search(bowl, {"x": 3}, 5)
    with pytest.raises(ValueError, match="n_trials"):
        sel.random_search(bowl, SPACE, 0)
    with pytest.raises(TypeError, match="number"):
        sel.random_search(lambda p: None, SPACE, 2)
    with pytest.raises(ValueError, match="n_initial"):
        sel.bayesian_optimization(bowl, SPACE, 5, n_initial=6)


def test_bayesian_optimization_on_choices_only_does_not_repeat_points():
    space = {"a": [1, 2, 3], "b": [10, 20]}
    result = sel.bayesian_optimization(lambda p: p["a"] * p["b"], space, 6, n_initial=2)
    assert len({tuple(p.values()) for p in result.params}) == 6
    assert result.best_params == {"a": 3, "b": 20}


# ----------------------------------------------------------------- ensembles
def test_average_probabilities():
    rng = np.random.default_rng(5)
    probs = [rng.dirichlet(np.ones(4), size=10) for _ in range(3)]
    np.testing.assert_allclose(sel.average_probabilities(probs), np.mean(probs, axis=0), atol=1e-15)
    weighted = sel.average_probabilities([torch.tensor(p) for p in probs], weights=[1, 0, 3])
    np.testing.assert_allclose(weighted, (probs[0] + 3 * probs[2]) / 4, atol=1e-15)
    with pytest.raises(ValueError, match="same shape"):
        sel.average_probabilities([probs[0], probs[1][:5]])
    with pytest.raises(ValueError, match="at least one"):
        sel.average_probabilities([])
    with pytest.raises(ValueError, match="weights"):
        sel.average_probabilities(probs, weights=[1, -1, 1])


def test_majority_vote_matches_scipy_mode_and_breaks_ties_towards_the_smallest_label():
    rng = np.random.default_rng(6)
    preds = rng.integers(0, 4, size=(5, 200))
    np.testing.assert_array_equal(sel.majority_vote(preds), stats.mode(preds, axis=0).mode)
    np.testing.assert_array_equal(sel.majority_vote([[2, 1], [1, 2]]), [1, 1])
    weights = rng.uniform(0.1, 1, 5)
    expected = [
        max(range(4), key=lambda c, j=j: (weights[preds[:, j] == c].sum(), -c)) for j in range(200)
    ]
    np.testing.assert_array_equal(sel.majority_vote(list(preds), weights=weights), expected)
    with pytest.raises(ValueError, match="integer"):
        sel.majority_vote([[0.5, 1.0]])
    with pytest.raises(ValueError, match="outside"):
        sel.majority_vote([[0, 3]], num_classes=3)
