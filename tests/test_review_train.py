"""Issue 8 as an independent tester reads it: ``fit``/``predict`` and the tabular helpers.

Each test uses only what the issue promises (a plain nn.Module, tensors or a DataLoader,
losses and optimizers from torch) and checks the result against something computed
independently (a hand-written loop, torch's schedulers, scikit-learn).
"""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import MinMaxScaler as SkMinMax
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from bigmodel_lib import data
from bigmodel_lib.train import fit, predict

QUIET = dict(progress=False, live_plot=False)


def blobs(n=80, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def mlp(seed=0, d=4, out=2, dropout=0.0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 8), nn.ReLU(), nn.Dropout(dropout), nn.Linear(8, out))


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def accuracy(outputs, targets):
    return (outputs.argmax(dim=1) == targets).float().mean()


# ---------------------------------------------------------------- the learner's first call


def test_learner_style_regression_call_and_plain_float_history():
    torch.manual_seed(0)
    X = torch.randn(64, 3)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    model = nn.Linear(3, 1)
    history = fit(model, (X, y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=0.1),
                  epochs=5)
    assert isinstance(history, dict)
    assert len(history["train_loss"]) == 5
    for key, values in history.items():
        assert len(values) == 5, key
        assert all(type(v) is float for v in values), key
    assert history["train_loss"][-1] < history["train_loss"][0] / 10
    assert history.train_loss == history["train_loss"] == history["loss"]
    # the last epoch's mean batch loss is close to the loss of the final model
    with torch.no_grad():
        final = F.mse_loss(model(X), y).item()
    assert final <= history["train_loss"][-1] * 1.5


@pytest.mark.parametrize("loss_fn", [nn.CrossEntropyLoss(), F.cross_entropy])
def test_classification_with_validation_metric_and_string_device(loss_fn):
    X, y = blobs()
    Xv, yv = blobs(40, seed=1)
    model = mlp()
    h = fit(model, DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True), loss_fn,
            torch.optim.Adam(model.parameters(), lr=0.02), epochs=4, val_data=(Xv, yv),
            metrics={"accuracy": accuracy}, device="cpu", seed=0, **QUIET)
    assert {"train_loss", "val_loss", "val_accuracy"} <= set(h)
    assert all(len(h[k]) == 4 for k in ("train_loss", "val_loss", "val_accuracy"))
    assert all(type(v) is float for v in h["val_accuracy"])
    model.eval()
    with torch.no_grad():
        out = model(Xv)
    assert h["val_loss"][-1] == pytest.approx(F.cross_entropy(out, yv).item(), rel=1e-5)
    assert h["val_accuracy"][-1] == pytest.approx(accuracy(out, yv).item())
    assert h["accuracy"] == h["val_accuracy"]  # the metric's own name reads too


def test_metrics_given_as_a_list_of_functions_are_named_after_them():
    X, y = blobs()
    model = mlp()
    h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=2, val_data=(X, y), metrics=[accuracy], **QUIET)
    assert len(h["val_accuracy"]) == 2


def test_a_broken_metric_is_a_clear_error_naming_it():
    X, y = blobs()
    model = mlp()
    with pytest.raises(ValueError, match="metric 'bad'"):
        fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1),
            val_data=(X, y), metrics={"bad": lambda o, t: o.argmax(1)}, **QUIET)


@pytest.mark.parametrize("shape", ["column", "flat"])
def test_bce_with_logits_and_float_targets(shape):
    X, y = blobs()
    yf = y.float().unsqueeze(1) if shape == "column" else y.float()

    class Logit(nn.Module):  # one logit, squeezed when the targets are flat
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 1)

        def forward(self, x):
            out = self.lin(x)
            return out if shape == "column" else out.squeeze(-1)

    torch.manual_seed(0)
    model = Logit()
    h = fit(model, (X, yf), nn.BCEWithLogitsLoss(), torch.optim.SGD(model.parameters(), lr=0.5),
            epochs=10, val_data=(X, yf), **QUIET)
    assert h["train_loss"][-1] < h["train_loss"][0]
    with torch.no_grad():
        expected = F.binary_cross_entropy_with_logits(model(X), yf).item()
    assert h["val_loss"][-1] == pytest.approx(expected, rel=1e-5)


# ---------------------------------------------------------------- schedulers, clipping


def test_step_lr_per_epoch_matches_torch():
    X, y = blobs()
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    h = fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=5, scheduler=sched, **QUIET)
    twin = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    twin_sched = torch.optim.lr_scheduler.StepLR(twin, step_size=2, gamma=0.5)
    expected = []
    for _ in range(5):
        expected.append(twin.param_groups[0]["lr"])
        twin.step()
        twin_sched.step()
    assert h["lr"] == pytest.approx(expected)
    assert opt.param_groups[0]["lr"] == pytest.approx(twin.param_groups[0]["lr"])


@pytest.mark.parametrize("kind", ["onecycle", "lambda"])
def test_per_step_schedulers_advance_once_per_batch(kind):
    X, y = blobs(80)
    epochs, batch = 3, 16
    steps = math.ceil(80 / batch) * epochs

    def make(opt):
        if kind == "onecycle":
            return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.2, total_steps=steps)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 / (1 + s))

    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = make(opt)
    h = fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=epochs, batch_size=batch,
            scheduler=sched, scheduler_interval="step", **QUIET)
    assert sched.last_epoch == steps
    twin = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.1)
    twin_sched = make(twin)
    starts = []
    for i in range(steps):
        if i % (steps // epochs) == 0:
            starts.append(twin.param_groups[0]["lr"])
        twin.step()
        twin_sched.step()
    assert h["lr"] == pytest.approx(starts)


def test_reduce_lr_on_plateau_halves_the_rate_when_validation_stalls():
    X, y = blobs()

    class Stuck(nn.Module):  # the optimizer only holds a parameter the output ignores
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 2)
            self.unused = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return self.lin(x)

    torch.manual_seed(0)
    model = Stuck()
    opt = torch.optim.SGD([model.unused], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    h = fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=4, val_data=(X, y),
            scheduler=sched, **QUIET)
    assert h["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.025])


def test_gradient_clipping_limits_the_update_norm():
    X, y = blobs()
    model = mlp()
    before = weights(model)
    fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=1.0),
        epochs=1, batch_size=len(X), grad_clip=1e-3, **QUIET)
    step = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(weights(model), before,
                                                                strict=True)))
    assert step.item() == pytest.approx(1e-3, rel=1e-4)


# ---------------------------------------------------------------- early stopping


def test_early_stopping_on_a_validation_loss_that_only_rises():
    X, y = blobs()
    model = mlp()
    # validating on flipped labels: the better the model learns, the worse val_loss gets
    h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.05),
            epochs=30, val_data=(X, 1 - y), patience=2, seed=0, **QUIET)
    assert h.stopped_early and h.best_epoch == 1
    assert len(h["train_loss"]) == len(h["val_loss"]) == 3
    with torch.no_grad():  # the model ends with the best epoch's weights
        restored = F.cross_entropy(model.eval()(X), 1 - y).item()
    assert restored == pytest.approx(h["val_loss"][0], rel=1e-5)


# ---------------------------------------------------------------- checkpoint and resume


class Interrupt(Exception):
    pass


def _setup(seed=0):
    model = mlp(seed, dropout=0.3)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, opt, torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.7)


def _train_data(kind, X, y):
    if kind == "tensors":
        return (X, y)
    return DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)


@pytest.mark.parametrize("kind", ["tensors", "loader"])
def test_interrupted_in_the_loss_then_resumed_equals_uninterrupted(tmp_path, kind):
    X, y = blobs(80)
    Xv, yv = blobs(24, seed=3)
    common = dict(epochs=5, batch_size=16, val_data=(Xv, yv), metrics={"acc": accuracy},
                  **QUIET)
    torch.manual_seed(11)
    model, opt, sched = _setup()
    reference = fit(model, _train_data(kind, X, y), nn.CrossEntropyLoss(), opt,
                    scheduler=sched, **common)
    expected = weights(model)

    torch.manual_seed(11)
    model, opt, sched = _setup()
    calls = 0

    def flaky_loss(outputs, targets):
        nonlocal calls
        calls += 1
        if calls == 2 * (5 + 2) + 3:  # 5 training + 2 validation batches per epoch
            raise Interrupt("the machine went to sleep in epoch 3")
        return F.cross_entropy(outputs, targets)

    with pytest.raises(Interrupt):
        fit(model, _train_data(kind, X, y), flaky_loss, opt, scheduler=sched,
            checkpoint_dir=tmp_path / "ckpt", **common)
    files = list((tmp_path / "ckpt").iterdir())
    assert len(files) == 1
    state = torch.load(files[0], weights_only=True)
    assert state["epoch"] == 2

    torch.manual_seed(999)  # a different global state and initialisation: the checkpoint rules
    model, opt, sched = _setup(seed=5)
    resumed = fit(model, _train_data(kind, X, y), nn.CrossEntropyLoss(), opt, scheduler=sched,
                  checkpoint_dir=tmp_path / "ckpt", resume=True, **common)
    assert same(weights(model), expected)
    for key in ("train_loss", "val_loss", "val_acc", "lr"):
        assert resumed[key] == reference[key]


def test_time_budget_interrupt_then_resume_equals_uninterrupted(tmp_path):
    X, y = blobs(64)
    X, y = X.repeat(4, 1), y.repeat(4)
    common = dict(epochs=3, batch_size=8, seed=3, **QUIET)
    model, opt, sched = _setup()
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched, **common)
    expected = weights(model)

    model, opt, sched = _setup()
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched, epochs=1,
        **{k: v for k, v in common.items() if k != "epochs"}, checkpoint_dir=tmp_path)
    model, opt, sched = _setup()
    first = fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched,
                checkpoint_dir=tmp_path, resume=True, time_budget_s=1e-6, **common)
    assert first.stopped_early and len(first["train_loss"]) == 1
    model, opt, sched = _setup(seed=4)
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched, checkpoint_dir=tmp_path,
        resume=True, **common)
    assert same(weights(model), expected)


def test_checkpoint_is_safe_to_load_and_holds_what_the_issue_lists(tmp_path):
    X, y = blobs()
    model, opt, sched = _setup()
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=2, scheduler=sched,
        checkpoint_dir=str(tmp_path), seed=0, **QUIET)
    (path,) = tmp_path.glob("*.pt")
    state = torch.load(path, weights_only=True)
    for key in ("model", "optimizer", "scheduler", "rng", "history"):
        assert key in state
    fresh = mlp(seed=7, dropout=0.3)
    fresh.load_state_dict(state["model"])
    assert same(weights(fresh), weights(model))
    assert len(state["history"]["train_loss"]) == 2


# ---------------------------------------------------------------- NaN, determinism


def test_nan_loss_stops_at_once_naming_step_and_learning_rate():
    X, y = blobs(80)
    model = mlp()
    calls = 0

    def poisoned(outputs, targets):
        nonlocal calls
        calls += 1
        loss = F.cross_entropy(outputs, targets)
        return loss * float("nan") if calls == 3 else loss

    with pytest.raises((ValueError, RuntimeError)) as info:
        fit(model, (X, y), poisoned, torch.optim.SGD(model.parameters(), lr=0.05),
            epochs=3, batch_size=16, **QUIET)
    message = str(info.value)
    assert "step 3" in message and "learning rate" in message and "0.05" in message
    assert "lr" in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    assert calls == 3  # no step after the NaN ...
    assert all(torch.isfinite(p).all() for p in model.parameters())  # ... nor its update


def test_exploding_learning_rate_reports_inf_or_nan():
    torch.manual_seed(0)
    X = torch.randn(64, 3) * 100
    y = X.sum(dim=1, keepdim=True)
    model = nn.Linear(3, 1)
    with pytest.raises(ValueError, match=r"step \d+.*learning rate 1000"):
        fit(model, (X, y), nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=1e3),
            epochs=20, batch_size=8, **QUIET)


@pytest.mark.parametrize("kind", ["tensors", "loader"])
def test_fixed_seed_is_deterministic(kind):
    X, y = blobs()

    def run(seed):
        model = mlp(0, dropout=0.5)
        h = fit(model, _train_data(kind, X, y), nn.CrossEntropyLoss(),
                torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), epochs=3, seed=seed,
                batch_size=16, **QUIET)
        return h["train_loss"], weights(model)

    a, b, c = run(0), run(0), run(1)
    assert a[0] == b[0] and same(a[1], b[1])
    assert a[0] != c[0]


# ---------------------------------------------------------------- bad arguments


def _args(**overrides):
    X, y = blobs(40)
    model = mlp()
    args = dict(model=model, train_data=(X, y), loss_fn=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=2)
    args.update(overrides)
    return args


class Parameterless(nn.Module):
    def forward(self, x):
        return x


@pytest.mark.parametrize("overrides, words", [
    (dict(epochs=0), "epochs"),
    (dict(epochs=-3), "epochs"),
    (dict(epochs=2.5), "epochs"),
    (dict(epochs=2.0), "epochs"),
    (dict(epochs="3"), "epochs"),
    (dict(model=Parameterless(), optimizer=torch.optim.SGD([nn.Parameter(torch.ones(1))], 0.1)),
     "no trainable parameters"),
    (dict(model=Parameterless(), optimizer=None), "no trainable parameters"),
    (dict(train_data=(torch.randn(40, 4), torch.zeros(30, dtype=torch.long))), "40"),
    (dict(loss_fn=nn.MSELoss(), train_data=(torch.randn(40, 4), torch.randn(40))), "shape"),
    (dict(loss_fn=nn.BCEWithLogitsLoss(), train_data=(torch.randn(40, 4), torch.rand(40, 1))),
     "shape"),
    (dict(train_data=(torch.randn(40, 4), torch.zeros(40, 3, dtype=torch.long))), "targets"),
    (dict(val_data=(torch.randn(10, 5), torch.zeros(10, dtype=torch.long))), "features"),
    (dict(grad_clip=-1.0), "grad_clip"),
    (dict(grad_clip=0), "grad_clip"),
    (dict(device="gpu"), "device"),
    (dict(amp="fp8"), "amp"),
    (dict(val_data=blobs(10), metrics={"loss": accuracy}), "val_loss"),
    (dict(metrics=42, val_data=blobs(10)), "metrics"),
])
def test_bad_arguments_fail_clearly_before_any_update(overrides, words):
    args = _args(**overrides)
    model = args["model"]
    before = weights(model)
    with pytest.raises((ValueError, TypeError)) as info:
        fit(**args, **QUIET)
    assert words in str(info.value)
    assert same(weights(model), before)


@pytest.mark.parametrize("loss_fn", [nn.MSELoss(), F.mse_loss, nn.L1Loss(),
                                     F.binary_cross_entropy_with_logits])
def test_elementwise_losses_refuse_a_column_against_flat_targets(loss_fn):
    # outputs (N, 1) against targets (N,) broadcast to (N, N): a silently wrong loss
    torch.manual_seed(0)
    X, y = torch.randn(40, 4), torch.rand(40)
    model = nn.Linear(4, 1)
    before = weights(model)
    with pytest.raises(ValueError, match="shapes differ"):
        fit(model, (X, y), loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), **QUIET)
    assert same(weights(model), before)
    # the same mistake in the validation targets only
    with pytest.raises(ValueError, match="val_data"):
        fit(model, (X, y.unsqueeze(1)), loss_fn, torch.optim.SGD(model.parameters(), lr=0.1),
            val_data=(X, y), **QUIET)


def test_a_non_integer_epoch_count_is_both_a_type_and_a_value_error():
    for cls in (TypeError, ValueError):
        with pytest.raises(cls, match="epochs"):
            fit(**_args(epochs=1.5), **QUIET)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="CUDA is not available"):
        fit(**_args(device="cuda"), **QUIET)


def test_grad_clip_accepts_numpy_numbers_but_not_booleans():
    fit(**_args(grad_clip=np.float32(1.0)), **QUIET)
    with pytest.raises(ValueError, match="grad_clip"):
        fit(**_args(grad_clip=True), **QUIET)


# ---------------------------------------------------------------- mixed precision, predict


@pytest.mark.parametrize("amp", ["bf16", "bfloat16", torch.bfloat16, True])
def test_bf16_on_cpu_runs_the_forward_in_bfloat16(amp):
    X, y = blobs()
    seen = []

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = mlp()

        def forward(self, x):
            out = self.net(x)
            seen.append(out.dtype)
            return out

    model = Spy()
    h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.02),
            epochs=3, amp=amp, device="cpu", val_data=(X, y), metrics={"acc": accuracy},
            **QUIET)
    assert set(seen) == {torch.bfloat16}
    assert all(type(v) is float and math.isfinite(v) for v in h["train_loss"] + h["val_acc"])
    assert next(model.parameters()).dtype == torch.float32  # master weights stay float32
    assert predict(model, X, amp="bf16").dtype == torch.float32


def test_predict_returns_outputs_in_order_in_eval_mode():
    X, y = blobs(50)
    model = mlp(dropout=0.5).train()
    out = predict(model, X, batch_size=7)
    assert model.training
    with torch.no_grad():
        expected = model.eval()(X)
    torch.testing.assert_close(out, expected)
    loader = DataLoader(TensorDataset(X, y), batch_size=9, shuffle=False)
    torch.testing.assert_close(predict(model, loader), expected)
    assert out.device.type == "cpu" and out.shape == (50, 2)


def test_a_dataset_is_batched_like_tensors():
    X, y = blobs()
    model_a, model_b = mlp(), mlp()
    kw = dict(epochs=2, batch_size=16, seed=0, **QUIET)
    ha = fit(model_a, TensorDataset(X, y), nn.CrossEntropyLoss(),
             torch.optim.SGD(model_a.parameters(), lr=0.1), shuffle=False, **kw)
    hb = fit(model_b, (X, y), nn.CrossEntropyLoss(),
             torch.optim.SGD(model_b.parameters(), lr=0.1), shuffle=False, **kw)
    assert ha["train_loss"] == pytest.approx(hb["train_loss"])
    assert same(weights(model_a), weights(model_b))


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
