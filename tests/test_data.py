
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler as SkMinMax
from sklearn.preprocessing import StandardScaler
from torch import nn

from bigmodel_lib import data
from bigmodel_lib.data import (
    Imputer,
    MinMaxScaler,
    NotFittedError,
    OutlierClipper,
    Standardizer,
    add_gaussian_noise,
    drop_missing,
    make_tabular,
    mixup,
    train_val_split,
)
from bigmodel_lib.train import fit


def random_table(seed=0, n=40, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.01, 100, size=d) + rng.normal(0, 50, size=d)
    X[:, 2] = 7.5  # a constant column
    return X


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_standardizer_matches_sklearn_on_train_and_new_data(seed):
    X = random_table(seed)
    X_new = random_table(seed + 10)
    ours, ref = Standardizer().fit(X), StandardScaler().fit(X)
    np.testing.assert_allclose(ours.transform(X_new), ref.transform(X_new), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.transform(X)[:, 2], 0.0)  # constant column: centred, finite
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X_new)), X_new, rtol=1e-10)
    # torch in, torch out, same dtype
    t = torch.tensor(X_new, dtype=torch.float32)
    out = ours.transform(t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ref.transform(X_new), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("feature_range", [(0.0, 1.0), (-1.0, 1.0)])
def test_minmax_matches_sklearn(feature_range):
    X, X_new = random_table(3), random_table(4)
    ours, ref = MinMaxScaler(feature_range).fit(X), SkMinMax(feature_range=feature_range).fit(X)
    np.testing.assert_allclose(ours.transform(X_new), ref.transform(X_new), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(ours.fit_transform(X), ref.transform(X), atol=1e-12)
    np.testing.assert_allclose(ours.inverse_transform(ours.transform(X_new)), X_new, rtol=1e-10)


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_imputer_matches_sklearn(strategy):
    X, X_new = random_table(5, n=41), random_table(6)
    rng = np.random.default_rng(0)
    X[rng.random(X.shape) < 0.2] = np.nan
    X_new[rng.random(X_new.shape) < 0.2] = np.nan
    ours, ref = Imputer(strategy).fit(X), SimpleImputer(strategy=strategy).fit(X)
    np.testing.assert_allclose(ours.transform(X_new), ref.transform(X_new), rtol=1e-12)
    X[:, 4] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) \[4\] have no observed value"):
        Imputer().fit(X)


def test_transform_before_fit_and_wrong_width_are_errors():
    for t in (Standardizer(), MinMaxScaler(), Imputer(), OutlierClipper()):
        with pytest.raises(NotFittedError, match="fitted first"):
            t.transform(np.zeros((3, 2)))
        t.fit(np.arange(6.0).reshape(3, 2))
        with pytest.raises(ValueError, match="fitted on 2 features, but X has 3"):
            t.transform(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="reshape"):
        Standardizer().fit(np.zeros(5))
    with pytest.raises(ValueError, match="missing values"):
        Standardizer().fit(np.array([[1.0], [np.nan]]))
    with pytest.raises(TypeError, match="NumPy array, a torch tensor or a pandas DataFrame"):
        Standardizer().fit({"a": [1.0, 2.0]})
    with pytest.raises(TypeError, match="must hold numbers"):
        Standardizer().fit([["a", "b"]])
    with pytest.raises(ValueError, match="low < high"):
        MinMaxScaler((1, 0))


def test_fitted_on_train_only_means_validation_uses_train_statistics():
    X = random_table(7)
    train, val = X[:30], X[30:] + 1000.0
    scaler = Standardizer().fit(train)
    z = scaler.transform(val)
    std = np.where(train.std(0) > 0, train.std(0), 1)
    np.testing.assert_allclose(z, (val - train.mean(0)) / std)
    assert np.abs(z.mean(0)[[0, 1, 3]]).min() > 1.0  # not re-centred on the validation rows


def test_outlier_clipper_iqr_and_zscore_bounds():
    X = random_table(8, n=101)
    X[0, 0] = 1e6
    q1, q3 = np.percentile(X, [25, 75], axis=0)
    iqr = OutlierClipper("iqr").fit(X)
    clipped = iqr.transform(X)
    np.testing.assert_allclose(clipped, np.clip(X, q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)))
    mask = iqr.outliers(X)
    assert mask[0] and mask.dtype == bool and mask.shape == (101,)
    z = OutlierClipper("zscore", k=2.0).fit(X)
    mean, std = X.mean(0), X.std(0)
    np.testing.assert_allclose(z.transform(X), np.clip(X, mean - 2 * std, mean + 2 * std))
    with_nan = X.copy()
    with_nan[1, 1] = np.nan
    assert np.isnan(iqr.transform(with_nan)[1, 1])
    with pytest.raises(ValueError, match="method"):
        OutlierClipper("mad")
    with pytest.raises(ValueError, match="k must be positive"):
        OutlierClipper(k=0)


def test_drop_missing_keeps_rows_aligned():
    X = torch.tensor([[1.0, 2.0], [float("nan"), 0.0], [3.0, 4.0]])
    y = torch.tensor([0, 1, 2])
    Xc, yc = drop_missing(X, y)
    assert torch.equal(Xc, X[[0, 2]]) and torch.equal(yc, torch.tensor([0, 2]))
    Xn, yn = drop_missing(X.numpy(), y.numpy())
    assert isinstance(Xn, np.ndarray) and yn.tolist() == [0, 2]


def test_train_val_split_is_reproducible_disjoint_and_stratified():
    X = torch.arange(100).float().reshape(50, 2)
    y = torch.tensor([0] * 40 + [1] * 10)
    a = train_val_split(X, y, 0.2, seed=3)
    b = train_val_split(X, y, 0.2, seed=3)
    c = train_val_split(X, y, 0.2, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    assert not torch.equal(a[1], c[1])
    X_tr, X_val, y_tr, y_val = a
    assert len(X_val) == 10 and len(X_tr) == 40
    rows = sorted(X_tr[:, 0].tolist() + X_val[:, 0].tolist())
    assert rows == X[:, 0].tolist()  # disjoint and complete
    assert torch.equal(y_tr, y[(X_tr[:, 0] / 2).long()])  # labels follow their rows
    _, _, _, y_val = train_val_split(X, y, 0.2, seed=0, stratify=True)
    assert (y_val == 1).sum() == 2 and (y_val == 0).sum() == 8
    X_np = X.numpy()
    tr, val = train_val_split(X_np, val_fraction=0.5, seed=1)
    assert isinstance(tr, np.ndarray) and len(val) == 25
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(X, y, 1.0)
    with pytest.raises(ValueError, match="50 rows but y has 3"):
        train_val_split(X, y[:3])


def test_gaussian_noise_and_mixup():
    g = torch.Generator().manual_seed(0)
    X = torch.zeros(20000, 3)
    noisy = add_gaussian_noise(X, 0.5, generator=g)
    assert abs(noisy.std().item() - 0.5) < 0.01
    assert torch.equal(add_gaussian_noise(X, 0.0), X)

    X = torch.eye(64)  # row i is e_i, so a mixed row shows which rows it mixes, and how
    y = torch.randint(0, 3, (64,), generator=g)
    Xm, ym = mixup(X, y, alpha=0.4, num_classes=3, generator=torch.Generator().manual_seed(1))
    Xm2, ym2 = mixup(X, y, alpha=0.4, num_classes=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(Xm, Xm2) and torch.equal(ym, ym2)
    assert ym.shape == (64, 3)
    torch.testing.assert_close(ym.sum(1), torch.ones(64))
    onehot = torch.nn.functional.one_hot(y, 3).float()
    lams = []
    for i in range(64):
        lam = Xm[i, i].item()
        others = [j for j in range(64) if j != i and Xm[i, j] != 0]
        assert len(others) <= 1 and 0 <= lam <= 1
        if others:
            j = others[0]
            torch.testing.assert_close(Xm[i, j].item(), 1 - lam)
            torch.testing.assert_close(ym[i], lam * onehot[i] + (1 - lam) * onehot[j])
            lams.append(lam)
        else:  # mixed with itself
            torch.testing.assert_close(ym[i], onehot[i])
    assert len(lams) > 50 and float(np.std(lams)) > 0.1  # λ varies per example
    Xf, yf = mixup(X, torch.arange(64.0), alpha=1.0, generator=g)  # float targets mix as is
    torch.testing.assert_close(yf, Xf @ torch.arange(64.0))
    with pytest.raises(ValueError, match="labels must be in"):
        mixup(X, y, num_classes=2)


def test_make_tabular_is_reproducible_and_has_the_promised_quirks():
    X, y = make_tabular(100, 5, seed=0)
    X2, y2 = make_tabular(100, 5, seed=0)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert X.shape == (100, 5) and X.dtype == torch.float32 and set(y.tolist()) == {0, 1}
    assert 0.3 < y.float().mean() < 0.7
    stds = X.std(0)
    assert stds.max() / stds.min() > 100  # very different scales
    Xm, _ = make_tabular(100, 5, seed=0, missing_fraction=0.1, outlier_fraction=0.05)
    assert 0.05 < torch.isnan(Xm).float().mean() < 0.15
    assert OutlierClipper().fit(Xm).outliers(Imputer("median").fit_transform(Xm)).sum() >= 3


# ================================ independent review (was tests/test_review_train.py)
# Issue 8 as an independent tester reads it: ``fit``/``predict`` and the tabular helpers.
#
# Each test uses only what the issue promises (a plain nn.Module, tensors or a DataLoader,
# losses and optimizers from torch) and checks the result against something computed
# independently (a hand-written loop, torch's schedulers, scikit-learn).


QUIET = dict(progress=False, live_plot=False)


def blobs(n=80, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def mlp(seed=0, d=4, out=2, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, out))


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def accuracy(outputs, targets):
    return (outputs.argmax(dim=1) == targets).float().mean()


# ---------------------------------------------------------------- tabular preprocessing


def _splits(seed=0):
    rng = np.random.default_rng(seed)
    train = rng.normal(3, 2, (60, 4)) * [1, 10, 100, 0.01]
    val = rng.normal(5, 4, (25, 4)) * [1, 10, 100, 0.01]
    return train, val


@pytest.mark.parametrize("ours, theirs", [(data.Standardizer, StandardScaler),
                                          (data.MinMaxScaler, SkMinMax)])
def test_scalers_match_sklearn_fitted_on_the_training_split(ours, theirs):
    train, val = _splits()
    mine, ref = ours().fit(train), theirs().fit(train)
    np.testing.assert_allclose(mine.transform(val), ref.transform(val), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mine.transform(train), ref.transform(train), rtol=1e-10,
                               atol=1e-10)
    # leakage check: validation data are scaled with the training statistics, not their own
    assert not np.allclose(mine.transform(val), theirs().fit(val).transform(val))
    # tensors and DataFrames give the same numbers
    t = ours().fit(torch.tensor(train)).transform(torch.tensor(val))
    assert isinstance(t, torch.Tensor)
    np.testing.assert_allclose(t.numpy(), ref.transform(val), rtol=1e-10, atol=1e-10)
    frame = ours().fit(pd.DataFrame(train)).transform(pd.DataFrame(val))
    np.testing.assert_allclose(frame, ref.transform(val), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(mine.inverse_transform(mine.transform(val)), val, rtol=1e-9)


def test_scalers_refuse_missing_and_infinite_training_values():
    train, _ = _splits()
    for bad in (np.nan, np.inf, -np.inf):
        X = train.copy()
        X[3, 1] = bad
        for scaler in (data.Standardizer(), data.MinMaxScaler()):
            with pytest.raises(ValueError):
                scaler.fit(X)
    with pytest.raises(data.NotFittedError):
        data.Standardizer().transform(train)


def test_constant_columns_match_sklearn():
    X = np.c_[np.full(10, 7.5), np.arange(10.0)]
    np.testing.assert_allclose(data.Standardizer().fit_transform(X),
                               StandardScaler().fit_transform(X))
    np.testing.assert_allclose(data.MinMaxScaler().fit_transform(X), SkMinMax().fit_transform(X))


@pytest.mark.parametrize("strategy", ["mean", "median"])
def test_imputer_uses_training_statistics_like_sklearn(strategy):
    train, val = _splits(1)
    rng = np.random.default_rng(2)
    train[rng.random(train.shape) < 0.2] = np.nan
    val[rng.random(val.shape) < 0.3] = np.nan
    ref = SimpleImputer(strategy=strategy).fit(train)
    mine = data.Imputer(strategy).fit(train)
    np.testing.assert_allclose(mine.transform(val), ref.transform(val), rtol=1e-12)
    assert not np.isnan(mine.transform(val)).any()


def test_outlier_clipper_bounds_come_from_the_training_split():
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, (200, 3))
    train[10, 0], train[20, 2] = 40.0, -35.0
    val = np.array([[0.1, 0.2, 0.3], [100.0, 0.0, 0.0], [0.0, -100.0, 0.0]])
    q1, q3 = np.percentile(train, [25, 75], axis=0)
    lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    clipper = data.OutlierClipper("iqr").fit(train)
    np.testing.assert_allclose(clipper.transform(val), np.clip(val, lo, hi))
    mask = clipper.outliers(train)
    assert mask[10] and mask[20]
    np.testing.assert_array_equal(mask, ((train < lo) | (train > hi)).any(axis=1))
    z = data.OutlierClipper("zscore", k=3).fit(train)
    mean, std = train.mean(axis=0), train.std(axis=0)
    np.testing.assert_allclose(z.transform(val), np.clip(val, mean - 3 * std, mean + 3 * std))


def test_cleaning_pipeline_on_messy_table_then_fit():
    X, y = data.make_tabular(120, 5, seed=0, missing_fraction=0.05, outlier_fraction=0.05)
    assert torch.isnan(X).any()
    X_tr, X_val, y_tr, y_val = data.train_val_split(X, y, 0.25, seed=0, stratify=True)
    imputer, clipper, scaler = data.Imputer("median"), data.OutlierClipper(), data.Standardizer()
    Z_tr = scaler.fit_transform(clipper.fit_transform(imputer.fit_transform(X_tr)))
    Z_val = scaler.transform(clipper.transform(imputer.transform(X_val)))
    assert torch.isfinite(Z_tr).all() and torch.isfinite(Z_val).all()
    # float32 data near 50 with a spread of 0.1: about 4e-5 of rounding per value
    torch.testing.assert_close(Z_tr.mean(0), torch.zeros(5), atol=2e-4, rtol=0)
    model = mlp(d=5)
    h = fit(model, (Z_tr, y_tr), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.01),
            epochs=3, val_data=(Z_val, y_val), metrics={"acc": accuracy}, seed=0, **QUIET)
    assert len(h["val_acc"]) == 3


def test_drop_missing_and_split_accept_lists_and_pandas():
    X = np.array([[1.0, np.nan], [2.0, 3.0], [4.0, 5.0]])
    X_clean, labels = data.drop_missing(X, ["a", "b", "c"])
    np.testing.assert_array_equal(X_clean, X[1:])
    assert labels == ["b", "c"]
    _, series = data.drop_missing(X, pd.Series([7, 8, 9], index=[10, 11, 12]))
    assert list(series) == [8, 9]
    frame = pd.DataFrame({"a": range(20), "b": range(20)}, index=range(100, 120))
    labels = pd.Series(["x", "y"] * 10, index=frame.index)
    tr, va, ytr, yva = data.train_val_split(frame, labels, 0.2, seed=0, stratify=True)
    assert len(tr) == 16 and len(va) == 4 and sorted(yva) == ["x", "x", "y", "y"]
    assert (tr["a"].to_numpy() == tr.index - 100).all()  # rows stay whole


def test_augmentation_keeps_shapes_and_statistics():
    g = torch.Generator().manual_seed(0)
    X = torch.zeros(4000, 3)
    noisy = data.add_gaussian_noise(X, 0.5, generator=g)
    assert noisy.shape == X.shape
    assert noisy.std().item() == pytest.approx(0.5, rel=0.05)
    X, y = blobs(50)
    X_mix, y_mix = data.mixup(X, y, alpha=0.4, generator=g)
    assert X_mix.shape == X.shape and y_mix.shape == (50, 2)
    torch.testing.assert_close(y_mix.sum(dim=1), torch.ones(50))
