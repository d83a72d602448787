import numpy as np
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler as SkMinMax
from sklearn.preprocessing import StandardScaler

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
    with pytest.raises(TypeError, match="NumPy array or a torch tensor"):
        Standardizer().fit([[1.0, 2.0]])
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
