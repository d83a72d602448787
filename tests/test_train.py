import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from bigmodel_lib import plots, train
from bigmodel_lib.train import History, NonFiniteLossError, fit, load_checkpoint, predict


def make_data(n=96, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = (X[:, 0] - 2 * X[:, 1] > 0).long()
    return X, y


def make_mlp(seed=0, d=5, dropout=0.3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.ReLU(), nn.Dropout(dropout), nn.Linear(16, 2))


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def same(a, b):
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))


def quiet(**kwargs):
    return dict(progress=False, live_plot=False, **kwargs)


# ---------------------------------------------------------------- what fit computes


@pytest.mark.parametrize("grad_clip", [None, 0.05])
def test_fit_equals_hand_written_loop(grad_clip):
    X, y = make_data()
    model_a, model_b = make_mlp(dropout=0.0), make_mlp(dropout=0.0)
    opt_a = torch.optim.SGD(model_a.parameters(), lr=0.3, momentum=0.9)
    opt_b = torch.optim.SGD(model_b.parameters(), lr=0.3, momentum=0.9)
    sched_a = torch.optim.lr_scheduler.LambdaLR(opt_a, lambda s: 1 / (1 + s))
    sched_b = torch.optim.lr_scheduler.LambdaLR(opt_b, lambda s: 1 / (1 + s))
    loss_fn = nn.CrossEntropyLoss()
    history = fit(model_a, (X, y), loss_fn, opt_a, epochs=3, batch_size=20, shuffle=False,
                  scheduler=sched_a, scheduler_interval="step", grad_clip=grad_clip, **quiet())
    losses = []
    for _ in range(3):
        total = 0.0
        for i in range(0, len(X), 20):
            loss = loss_fn(model_b(X[i:i + 20]), y[i:i + 20])
            opt_b.zero_grad()
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model_b.parameters(), grad_clip)
            opt_b.step()
            sched_b.step()
            total += loss.item() * len(X[i:i + 20])
        losses.append(total / len(X))
    assert same(params(model_a), params(model_b))
    np.testing.assert_allclose(history["train_loss"], losses, rtol=1e-6)
    assert history["lr"][0] == 0.3 and history["lr"][1] == pytest.approx(0.3 / (1 + 5))


def test_history_records_validation_and_metrics():
    X, y = make_data(120)
    model = make_mlp()
    accuracy = lambda out, t: (out.argmax(1) == t).float().mean().item()
    history = fit(model, (X[:80], y[:80]), nn.CrossEntropyLoss(),
                  torch.optim.Adam(model.parameters(), lr=0.01), epochs=4,
                  val_data=(X[80:], y[80:]), metrics={"acc": accuracy}, seed=1, **quiet())
    assert isinstance(history, History)
    assert set(history) == {"train_loss", "val_loss", "val_acc", "lr", "epoch_time_s"}
    assert all(len(v) == 4 for v in history.values())
    assert history.stop_reason == "completed 4 epoch(s)" and not history.stopped_early
    assert history["train_loss"][-1] < history["train_loss"][0]
    # the last epoch's validation numbers agree with predict
    logits = predict(model, X[80:])
    assert history["val_acc"][-1] == pytest.approx(accuracy(logits, y[80:]))
    assert history["val_loss"][-1] == pytest.approx(
        nn.functional.cross_entropy(logits, y[80:]).item(), rel=1e-5)
    best = int(np.argmin(history["val_loss"])) + 1
    assert history.best_epoch == best
    assert "best_epoch=" in repr(history)


def test_per_epoch_scheduler_and_plateau():
    X, y = make_data()
    model = make_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    history = fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=5, scheduler=sched,
                  seed=0, **quiet())
    assert history["lr"] == [1.0, 1.0, 0.5, 0.5, 0.25]
    # ReduceLROnPlateau gets the monitored value; a constant loss never improves
    model = nn.Linear(5, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=0)
    constant = lambda out, t: (out * 0).sum() + 1.0
    history = fit(model, (X, y), constant, opt, epochs=3, scheduler=plateau,
                  monitor="train_loss", **quiet())
    assert history["lr"] == pytest.approx([1.0, 1.0, 0.1])


def test_dict_inputs_logits_and_dataloader():
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.EmbeddingBag(20, 4)
            self.head = nn.Linear(4, 3)

        def forward(self, input_ids, scale):
            return SimpleNamespace(logits=self.head(self.emb(input_ids)) * scale)

    torch.manual_seed(0)
    ids = torch.randint(0, 20, (30, 6))
    scale = torch.ones(30, 1)
    labels = torch.randint(0, 3, (30,))
    model = Tiny()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, ({"input_ids": ids, "scale": scale}, labels), nn.CrossEntropyLoss(),
                  opt, epochs=2, batch_size=8, val_data=({"input_ids": ids, "scale": scale},
                                                         labels), **quiet())
    assert len(history["val_loss"]) == 2
    out = predict(model, {"input_ids": ids, "scale": scale}, batch_size=7)
    assert out.shape == (30, 3)
    # a DataLoader of dict batches with a "labels" key
    rows = [{"input_ids": ids[i], "scale": scale[i], "labels": labels[i]} for i in range(30)]
    loader = DataLoader(rows, batch_size=8, shuffle=True)
    history = fit(model, loader, nn.CrossEntropyLoss(), opt, epochs=1, **quiet())
    assert len(history["train_loss"]) == 1
    torch.testing.assert_close(predict(model, DataLoader(rows, batch_size=9)),
                               predict(model, {"input_ids": ids, "scale": scale}))


# ---------------------------------------------------------------- reproducibility


def test_fixed_seed_is_deterministic_and_seed_matters():
    X, y = make_data()

    def run(seed):
        model = make_mlp(seed=5)
        h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.01),
                epochs=3, batch_size=16, seed=seed, **quiet())
        return params(model), h["train_loss"]

    a, b, c = run(7), run(7), run(8)
    assert same(a[0], b[0]) and a[1] == b[1]
    assert not same(a[0], c[0])
    # seed=None follows the current random state
    torch.manual_seed(3)
    d = run(None)
    torch.manual_seed(3)
    e = run(None)
    assert same(d[0], e[0])


def _setup(seed=11, loader=False):
    X, y = make_data(90)
    model = make_mlp(seed=seed)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=5 * 6)
    data = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True) if loader else (X, y)
    return model, opt, sched, data, (X[:30], y[:30])


@pytest.mark.parametrize("loader", [False, True])
def test_interrupted_and_resumed_run_ends_with_identical_weights(tmp_path, loader):
    kwargs = dict(epochs=5, batch_size=16, scheduler_interval="step", seed=4, **quiet())
    model, opt, sched, data, val = _setup(loader=loader)
    full = fit(model, data, nn.CrossEntropyLoss(), opt, scheduler=sched, val_data=val,
               checkpoint_dir=tmp_path / "full", **kwargs)
    expected = params(model)

    calls = {"n": 0}

    def crashing_loss(out, t):  # an interrupt in the middle of epoch 3 (6 steps per epoch)
        calls["n"] += torch.is_grad_enabled()  # count training steps, not validation
        if calls["n"] == 2 * 6 + 4:
            raise KeyboardInterrupt
        return nn.functional.cross_entropy(out, t)

    model, opt, sched, data, val = _setup(loader=loader)
    with pytest.raises(KeyboardInterrupt):
        fit(model, data, crashing_loss, opt, scheduler=sched, val_data=val,
            checkpoint_dir=tmp_path / "run", **kwargs)
    assert load_checkpoint(tmp_path / "run")["epoch"] == 2

    torch.manual_seed(999)  # a fresh process would have other random states
    np.random.seed(999)
    model, opt, sched, data, val = _setup(seed=123, loader=loader)  # other initial weights
    resumed = fit(model, data, nn.CrossEntropyLoss(), opt, scheduler=sched, val_data=val,
                  checkpoint_dir=tmp_path / "run", resume=True, **kwargs)
    assert same(params(model), expected)
    for key in ("train_loss", "val_loss", "lr"):
        assert resumed[key] == full[key]
    assert resumed.best_epoch == full.best_epoch


def test_time_budget_stops_after_a_batch_and_resume_redoes_the_partial_epoch(tmp_path):
    kwargs = dict(epochs=3, batch_size=16, seed=2, **quiet())
    model, opt, _, data, _ = _setup()
    fit(model, data, nn.CrossEntropyLoss(), opt, **kwargs)
    expected = params(model)

    model, opt, _, data, _ = _setup()
    h = fit(model, data, nn.CrossEntropyLoss(), opt, checkpoint_dir=tmp_path,
            time_budget_s=1e-9, **kwargs)
    assert h.stopped_early and "time budget" in h.stop_reason and h.epochs == 0
    assert "resume=True" in h.stop_reason
    model, opt, _, data, _ = _setup()
    fit(model, data, nn.CrossEntropyLoss(), opt, checkpoint_dir=tmp_path, resume=True, **kwargs)
    assert same(params(model), expected)

    # without a checkpoint folder the reason promises no checkpoint
    model, opt, _, data, _ = _setup()
    h = fit(model, data, nn.CrossEntropyLoss(), opt, time_budget_s=1e-9, **kwargs)
    assert h.stopped_early and "checkpoint" not in h.stop_reason and "resume" not in h.stop_reason

    # one batch per epoch: the budget runs out at the end of epoch 1, which is kept
    kwargs["batch_size"] = 100
    model, opt, _, data, _ = _setup()
    fit(model, data, nn.CrossEntropyLoss(), opt, **kwargs)
    expected = params(model)
    model, opt, _, data, _ = _setup()
    h = fit(model, data, nn.CrossEntropyLoss(), opt, checkpoint_dir=tmp_path / "b",
            time_budget_s=1e-9, **kwargs)
    assert h.stopped_early and h.epochs == 1 and "end of epoch 1" in h.stop_reason
    model, opt, _, data, _ = _setup()
    h = fit(model, data, nn.CrossEntropyLoss(), opt, checkpoint_dir=tmp_path / "b", resume=True,
            **kwargs)
    assert h.epochs == 3 and not h.stopped_early
    assert same(params(model), expected)


def test_checkpoint_contents_load_with_weights_only(tmp_path):
    model, opt, sched, data, val = _setup()
    fit(model, data, nn.CrossEntropyLoss(), opt, epochs=2, batch_size=16, scheduler=sched,
        scheduler_interval="step", val_data=val, patience=3, checkpoint_dir=tmp_path,
        seed=0, **quiet())
    state = torch.load(tmp_path / train.CHECKPOINT_NAME, weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]["train_loss"]) == 2
    assert set(state["rng"]) >= {"python", "numpy", "torch", "shuffle"}
    assert len(state["rng"]["shuffle"]) == 1 and state["best_model"] is not None
    assert state["scheduler"]["last_epoch"] == 12
    fresh = make_mlp(seed=50)
    fresh.load_state_dict(state["model"])
    assert same(params(fresh), params(model)) or state["best_epoch"] != 2
    assert [p.name for p in tmp_path.iterdir()] == [train.CHECKPOINT_NAME]  # no temp files


def test_interrupt_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    model, opt, _, data, _ = _setup()
    fit(model, data, nn.CrossEntropyLoss(), opt, epochs=1, checkpoint_dir=tmp_path, **quiet())
    before = (tmp_path / train.CHECKPOINT_NAME).read_bytes()
    real_save = torch.save

    def save_half_then_die(obj, handle):
        real_save(obj, handle)
        handle.seek(handle.tell() // 2)
        handle.truncate()
        raise KeyboardInterrupt  # killed in the middle of writing

    monkeypatch.setattr(train.torch, "save", save_half_then_die)
    with pytest.raises(KeyboardInterrupt):
        fit(model, data, nn.CrossEntropyLoss(), opt, epochs=2, checkpoint_dir=tmp_path,
            resume=True, **quiet())
    assert (tmp_path / train.CHECKPOINT_NAME).read_bytes() == before
    assert os.listdir(tmp_path) == [train.CHECKPOINT_NAME]
    assert load_checkpoint(tmp_path)["epoch"] == 1


# ---------------------------------------------------------------- stopping


def test_nan_loss_stops_with_epoch_step_and_learning_rate(tmp_path):
    X, y = make_data(100)
    X[45, 2] = float("nan")  # in the 5th batch of 10 (no shuffling)
    model = make_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.125)
    with pytest.raises(NonFiniteLossError) as info:
        fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=2, batch_size=10, shuffle=False,
            **quiet())
    err = info.value
    assert isinstance(err, RuntimeError) and isinstance(err, FloatingPointError)
    assert (err.epoch, err.step, err.global_step, err.lr) == (1, 5, 5, 0.125)
    assert math.isnan(err.value)
    assert "epoch 1, step 5" in str(err) and "learning rate 0.125" in str(err)

    # in epoch 2, with a checkpoint of epoch 1 that must survive
    X, y = make_data(100)
    steps = {"n": 0}

    def loss_fn(out, t):
        steps["n"] += 1
        loss = nn.functional.cross_entropy(out, t)
        return loss * float("inf") if steps["n"] == 13 else loss

    model = make_mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    with pytest.raises(NonFiniteLossError, match="epoch 2, step 3") as info:
        fit(model, (X, y), loss_fn, opt, epochs=3, batch_size=10, checkpoint_dir=tmp_path,
            **quiet())
    assert load_checkpoint(tmp_path)["epoch"] == 1
    assert "epoch 1" in str(info.value)


def test_early_stopping_restores_the_best_weights():
    X, y = make_data()
    model = make_mlp()
    scores = iter([0.5, 0.9, 0.7, 0.8, 0.6, 0.99])
    snapshots = []

    def score(out, t):  # a metric we control; it also records the weights it saw
        snapshots.append(params(model))
        return next(scores)

    history = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1),
                  epochs=6, val_data=(X, y), metrics={"score": score}, monitor="val_score",
                  patience=2, **quiet())
    assert history.best_epoch == 2 and history.stopped_early
    assert history.epochs == 4 and "early stopping after epoch 4" in history.stop_reason
    assert same(params(model), snapshots[1])


def test_early_stopped_checkpoint_resumes_as_stopped(tmp_path):
    X, y = make_data()
    model = make_mlp()
    scores = iter([0.3, 0.2, 0.1])
    fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1), epochs=5,
        val_data=(X, y), metrics={"acc": lambda o, t: next(scores)}, monitor="val_acc",
        patience=2, checkpoint_dir=tmp_path, **quiet())
    best = params(model)
    model = make_mlp(seed=3)
    h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1),
            epochs=5, val_data=(X, y), metrics={"acc": lambda o, t: 1.0}, monitor="val_acc",
            patience=2, checkpoint_dir=tmp_path, resume=True, **quiet())
    assert h.stopped_early and h.epochs == 3 and h.best_epoch == 1
    assert same(params(model), best)


# ---------------------------------------------------------------- bad arguments


def _bad(**overrides):
    X, y = make_data(40)
    model = make_mlp()
    args = dict(model=model, train_data=(X, y), loss_fn=nn.CrossEntropyLoss(),
                optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    args.update(overrides)
    return args


frozen = nn.Linear(5, 2).requires_grad_(False)


@pytest.mark.parametrize("overrides, error, words", [
    (dict(epochs=0), ValueError, "epochs must be an integer >= 1"),
    (dict(epochs=2.5), ValueError, "epochs"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(model=nn.ReLU()), ValueError, "no trainable parameters"),
    (dict(model=frozen, optimizer=torch.optim.SGD(nn.Linear(1, 1).parameters(), 0.1)),
     ValueError, "no trainable parameters"),
    (dict(optimizer=torch.optim.SGD(nn.Linear(5, 2).parameters(), 0.1)), ValueError,
     "optimizer holds none"),
    (dict(train_data=(torch.randn(40, 5), torch.zeros(39, dtype=torch.long))), ValueError,
     "X has 40 rows but y has 39"),
    (dict(train_data=(torch.randn(0, 5), torch.zeros(0, dtype=torch.long))), ValueError,
     "empty"),
    (dict(train_data=DataLoader(TensorDataset(torch.randn(0, 5), torch.zeros(0)))), ValueError,
     "empty DataLoader"),
    (dict(train_data=(np.zeros((40, 5)), np.zeros(40))), TypeError, "NumPy array"),
    (dict(train_data=[torch.randn(4, 5)]), ValueError, "tuple (X, y)"),
    (dict(amp="fp8"), ValueError, "amp must be one of"),
    (dict(amp="fp16"), ValueError, "needs a CUDA device"),
    (dict(scheduler_interval="batch"), ValueError, "scheduler_interval"),
    (dict(monitor="val_accuracy", val_data=make_data(10)), ValueError, "monitor must be one of"),
    (dict(patience=2), ValueError, "needs val_data"),
    (dict(patience=0, val_data=make_data(10)), ValueError, "patience"),
    (dict(metrics={"acc": lambda o, t: 0.0}), ValueError, "pass val_data"),
    (dict(grad_clip=-1.0), ValueError, "grad_clip"),
    (dict(seed=-3), ValueError, "seed"),
    (dict(time_budget_s=0), ValueError, "time_budget_s"),
    (dict(resume=True), ValueError, "checkpoint_dir"),
    (dict(loss_fn=nn.CrossEntropyLoss(reduction="none")), ValueError,
     "returned a tensor of shape (32,) for outputs shape (32, 2)"),
    (dict(loss_fn=nn.MSELoss(), train_data=(torch.randn(40, 5), torch.randn(40))), ValueError,
     "shapes differ (outputs shape (32, 2) (float32), targets shape (32,)"),
    (dict(train_data=(torch.randn(40, 7), torch.zeros(40, dtype=torch.long))), ValueError,
     "model failed on the first training batch (inputs shape (32, 7)"),
    (dict(loss_fn=lambda o, t: nn.functional.cross_entropy(o.detach(), t)), ValueError,
     "does not depend on any trainable parameter"),
    (dict(loss_fn=lambda o, t: nn.functional.cross_entropy(o, t).item()), TypeError,
     "must return a tensor"),
])
def test_bad_arguments_fail_before_training(overrides, error, words):
    args = _bad(**overrides)
    before = params(args["model"])
    with pytest.raises(error) as info:
        fit(**args, **quiet())
    assert words in str(info.value)
    assert same(params(args["model"]), before)


def test_predict_order_eval_mode_and_loaders():
    X, _ = make_data(50)
    model = make_mlp(dropout=0.5)
    model.train()
    out = predict(model, X, batch_size=7)
    assert model.training  # mode restored
    model.eval()
    with torch.no_grad():
        expected = model(X)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(predict(model, (X, torch.zeros(50))), expected)
    torch.testing.assert_close(predict(model, DataLoader(TensorDataset(X), batch_size=8)), expected)
    torch.testing.assert_close(predict(model, DataLoader(X, batch_size=8)), expected)
    with pytest.raises(TypeError, match="DataLoader, a tensor"):
        predict(model, "not data")
    with pytest.raises(ValueError, match="batch_size"):
        predict(model, X, batch_size=0)


def test_bf16_autocast_on_cpu_trains():
    X, y = make_data()
    model = make_mlp()
    h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.02),
            epochs=5, amp="bf16", val_data=(X, y), seed=0, **quiet())
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert predict(model, X, amp="bf16").dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("amp", [None, "bf16", "fp16"])
def test_cuda_autocast_and_resume(tmp_path, amp):
    X, y = make_data(256)
    kwargs = dict(epochs=3, batch_size=32, amp=amp, seed=1, device="cuda", val_data=(X, y),
                  **quiet())
    model = make_mlp()
    h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.Adam(model.parameters(), 0.01),
            **kwargs)
    assert h["train_loss"][-1] < h["train_loss"][0]
    expected = params(model)
    model = make_mlp()
    opt = torch.optim.Adam(model.parameters(), 0.01)
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, checkpoint_dir=tmp_path,
        **dict(kwargs, epochs=1))
    model = make_mlp(seed=9)
    opt = torch.optim.Adam(model.parameters(), 0.01)
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, checkpoint_dir=tmp_path, resume=True, **kwargs)
    assert same(params(model), expected)


def test_live_plot_and_progress(monkeypatch):
    shown = []
    monkeypatch.setattr(plots, "_display", lambda obj, **kw: shown.append(obj))
    X, y = make_data()
    model = make_mlp()
    live = plots.LivePlot(live=False)
    fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1), epochs=2,
        val_data=(X, y), live_plot=live, progress=True)
    assert set(live.history) == {"train_loss", "val_loss"}
    assert live.history["val_loss"][0] == [1.0, 2.0]
    assert live.history["train_loss"][0][-1] == 2.0
    # live_plot=None off a live front end draws nothing; True draws the final figure
    fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1),
        progress=False)
    with pytest.raises(TypeError, match="live_plot"):
        fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), 0.1),
            live_plot="yes", progress=False)


# ---------------------------------------------------------------- gradient accumulation


class GradRecorder(torch.optim.SGD):
    """SGD with lr=0 that records the gradients it is asked to apply."""

    def __init__(self, params):
        super().__init__(params, lr=0.0)
        self.grads = []

    def step(self, closure=None):
        self.grads.append([p.grad.detach().clone() for g in self.param_groups for p in g["params"]])
        return super().step(closure)


def double_mlp():
    return make_mlp(dropout=0.0).double()


@pytest.mark.parametrize("loss_fn, n, batch_size, accumulate", [
    (nn.CrossEntropyLoss(), 30, 8, 2),   # micro-batches 8 8 | 8 6: a short last micro-batch
    (nn.CrossEntropyLoss(), 50, 7, 3),   # 7 7 7 | 7 7 7 | 7 1: a short last group
    (nn.CrossEntropyLoss(), 24, 8, 3),   # one group: the whole set
])
def test_accumulated_gradients_equal_one_big_batch(loss_fn, n, batch_size, accumulate):
    X, y = make_data(n)
    X = X.double()
    model = double_mlp()
    opt = GradRecorder(model.parameters())
    fit(model, (X, y), loss_fn, opt, batch_size=batch_size, accumulate=accumulate, shuffle=False,
        **quiet())
    big = batch_size * accumulate
    assert len(opt.grads) == math.ceil(n / big)
    for i, grads in enumerate(opt.grads):
        reference = double_mlp()
        loss_fn(reference(X[i * big:(i + 1) * big]), y[i * big:(i + 1) * big]).backward()
        for got, p in zip(grads, reference.parameters(), strict=True):
            torch.testing.assert_close(got, p.grad, atol=1e-6, rtol=0)


def test_accumulated_gradients_from_a_dataloader_with_mse():
    X, _ = make_data(45)
    X, y = X.double(), X[:, :2].double() * 3
    model = double_mlp()
    opt = GradRecorder(model.parameters())
    loader = DataLoader(TensorDataset(X, y), batch_size=10)  # 10 10 10 10 5
    fit(model, loader, nn.MSELoss(), opt, accumulate=2, **quiet())
    assert len(opt.grads) == 3
    for i, grads in enumerate(opt.grads):
        reference = double_mlp()
        nn.MSELoss()(reference(X[i * 20:(i + 1) * 20]), y[i * 20:(i + 1) * 20]).backward()
        for got, p in zip(grads, reference.parameters(), strict=True):
            torch.testing.assert_close(got, p.grad, atol=1e-6, rtol=0)


def test_accumulate_4_of_8_ends_with_the_weights_of_batches_of_32():
    X, y = make_data(100)
    runs = []
    for batch_size, accumulate in ((32, 1), (8, 4)):
        model = make_mlp(dropout=0.0)
        opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 / (1 + s))
        h = fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=3, batch_size=batch_size,
                accumulate=accumulate, shuffle=False, scheduler=sched, scheduler_interval="step",
                **quiet())
        runs.append((params(model), h, sched.last_epoch))
    (a, ha, steps_a), (b, hb, steps_b) = runs
    assert steps_a == steps_b == 3 * 4  # the scheduler counts optimizer steps
    for x, y_ in zip(a, b, strict=True):
        torch.testing.assert_close(x, y_, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(ha["train_loss"], hb["train_loss"], rtol=1e-5)


def test_accumulate_with_shuffling_takes_the_same_order_as_one_batch():
    X, y = make_data(64)
    finals = []
    for batch_size, accumulate in ((16, 1), (4, 4)):
        model = make_mlp(dropout=0.0)
        fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.3),
            epochs=2, batch_size=batch_size, accumulate=accumulate, seed=5, **quiet())
        finals.append(params(model))
    for x, y_ in zip(*finals, strict=True):
        torch.testing.assert_close(x, y_, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", None, 2.0])
def test_bad_accumulate_is_a_clear_error_before_training(bad):
    X, y = make_data(20)
    model = make_mlp()
    before = params(model)
    with pytest.raises((TypeError, ValueError), match=r"accumulate must be an integer >= 1"):
        fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            accumulate=bad, **quiet())
    assert same(params(model), before)


def test_accumulate_accepts_numpy_integers():
    X, y = make_data(20)
    model = make_mlp()
    h = fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            accumulate=np.int64(2), batch_size=5, **quiet())
    assert h.epochs == 1


# ---------------------------------------------------------------- a non-finite validation loss


@pytest.mark.parametrize("patience", [None, 2])
def test_nan_validation_loss_stops_naming_the_epoch(tmp_path, patience):
    X, y = make_data(40)
    Xv, yv = make_data(20, seed=1)
    Xv[3, 0] = float("nan")  # one poisoned validation row
    model = make_mlp()
    with pytest.raises(NonFiniteLossError, match="validation loss became nan at epoch 1") as info:
        fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=3, val_data=(Xv, yv), patience=patience, checkpoint_dir=tmp_path, **quiet())
    assert info.value.epoch == 1 and math.isnan(info.value.value)
    assert not (tmp_path / train.CHECKPOINT_NAME).exists()  # the bad epoch was not saved


def test_nan_validation_loss_in_a_later_epoch_keeps_the_good_checkpoint(tmp_path):
    X, y = make_data(40)
    Xv, yv = make_data(20, seed=1)
    calls = 0

    def loss_fn(outputs, targets):
        nonlocal calls
        calls += 1
        loss = nn.functional.cross_entropy(outputs, targets)
        return loss * float("inf") if not torch.is_grad_enabled() and calls > 5 else loss

    model = make_mlp()
    with pytest.raises(NonFiniteLossError, match="validation loss became inf at epoch 2"):
        fit(model, (X, y), loss_fn, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3,
            batch_size=20, val_data=(Xv, yv), patience=1, checkpoint_dir=tmp_path, **quiet())
    assert load_checkpoint(tmp_path)["epoch"] == 1


# ---------------------------------------------------------------- damaged checkpoints


def _checkpointed(tmp_path, opt_factory=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)):
    X, y = make_data(40)
    model = make_mlp()
    fit(model, (X, y), nn.CrossEntropyLoss(), opt_factory(model.parameters()), epochs=1,
        checkpoint_dir=tmp_path, seed=0, **quiet())
    return tmp_path / train.CHECKPOINT_NAME


def _resume_fresh(tmp_path, opt_factory=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), **kw):
    X, y = make_data(40)
    model = make_mlp(seed=9)
    before = params(model)
    opt = opt_factory(model.parameters())
    try:
        fit(model, (X, y), nn.CrossEntropyLoss(), opt, epochs=2, checkpoint_dir=tmp_path,
            resume=True, **quiet(**kw))
    finally:
        _resume_fresh.unchanged = same(params(model), before)


def _flip_a_weight_byte(path):
    state = torch.load(path, weights_only=True)
    weight = state["model"]["0.weight"].numpy().tobytes()
    raw = bytearray(path.read_bytes())
    at = raw.find(weight) + len(weight) // 2
    assert at > len(weight) // 2
    raw[at] ^= 0x01
    path.write_bytes(bytes(raw))


DAMAGES = {
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "text": lambda p: p.write_text("epoch,loss\n1,0.5\n"),
    "a list": lambda p: torch.save([1, 2, 3], p),
    "a dict without format": lambda p: torch.save({"epoch": 101}, p),
    "flipped byte": _flip_a_weight_byte,
    "old format": lambda p: torch.save({**torch.load(p, weights_only=True), "format": 1}, p),
    "missing key": lambda p: torch.save({k: v for k, v in torch.load(p, weights_only=True).items()
                                         if k != "rng"}, p),
}


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_checkpoint_is_refused_naming_the_file_before_anything_changes(tmp_path, damage):
    path = _checkpointed(tmp_path)
    DAMAGES[damage](path)
    with pytest.raises(train.CheckpointError) as info:
        _resume_fresh(tmp_path)
    message = str(info.value)
    assert str(path) in message and ("delete it" in message or "start from scratch" in message)
    assert _resume_fresh.unchanged
    with pytest.raises(train.CheckpointError):
        load_checkpoint(tmp_path)


def test_resuming_with_another_optimizer_type_fails_before_any_weight_changes(tmp_path):
    _checkpointed(tmp_path)
    with pytest.raises(train.CheckpointError, match="optimizer torch.optim.sgd.SGD.*Adam"):
        _resume_fresh(tmp_path, lambda p: torch.optim.Adam(p, lr=0.1))
    assert _resume_fresh.unchanged


def test_resuming_with_another_model_fails_before_any_weight_changes(tmp_path):
    _checkpointed(tmp_path)
    X, y = make_data(40, d=6)
    model = make_mlp(d=6)
    before = params(model)
    with pytest.raises(train.CheckpointError, match="model weights differ"):
        fit(model, (X, y), nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
            epochs=2, checkpoint_dir=tmp_path, resume=True, **quiet())
    assert same(params(model), before)


@pytest.mark.parametrize("change, words", [
    (dict(opt_factory=lambda p: torch.optim.SGD(p, lr=0.2, momentum=0.9)), "lr 0.1 -> 0.2"),
    (dict(opt_factory=lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.5)), "momentum 0.9 -> 0.5"),
    (dict(batch_size=8), "batch_size 32 -> 8"),
    (dict(accumulate=2), "accumulate 1 -> 2"),
])
def test_a_changed_hyperparameter_on_resume_is_reported(tmp_path, change, words):
    _checkpointed(tmp_path)
    with pytest.warns(UserWarning, match=words):
        _resume_fresh(tmp_path, **change)


def test_an_unwritable_checkpoint_folder_fails_before_the_first_epoch(tmp_path, monkeypatch):
    from bigmodel_lib import checkpoint

    calls = 0

    def counting_loss(o, t):
        nonlocal calls
        calls += 1
        return nn.functional.cross_entropy(o, t)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoint.tempfile, "mkstemp", read_only)
    X, y = make_data(40)
    model = make_mlp()
    with pytest.raises(PermissionError, match="cannot be written"):
        fit(model, (X, y), counting_loss, torch.optim.SGD(model.parameters(), lr=0.1),
            checkpoint_dir=tmp_path / "ro", **quiet())
    assert calls == 0
    monkeypatch.undo()
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(PermissionError, match="cannot be written"):
        fit(model, (X, y), counting_loss, torch.optim.SGD(model.parameters(), lr=0.1),
            checkpoint_dir=tmp_path / "file", **quiet())
    assert calls == 0


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


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


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


def _setup_independent(seed=0):
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
    model, opt, sched = _setup_independent()
    reference = fit(model, _train_data(kind, X, y), nn.CrossEntropyLoss(), opt,
                    scheduler=sched, **common)
    expected = weights(model)

    torch.manual_seed(11)
    model, opt, sched = _setup_independent()
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
    model, opt, sched = _setup_independent(seed=5)
    resumed = fit(model, _train_data(kind, X, y), nn.CrossEntropyLoss(), opt, scheduler=sched,
                  checkpoint_dir=tmp_path / "ckpt", resume=True, **common)
    assert same(weights(model), expected)
    for key in ("train_loss", "val_loss", "val_acc", "lr"):
        assert resumed[key] == reference[key]


def test_time_budget_interrupt_then_resume_equals_uninterrupted(tmp_path):
    X, y = blobs(64)
    X, y = X.repeat(4, 1), y.repeat(4)
    common = dict(epochs=3, batch_size=8, seed=3, **QUIET)
    model, opt, sched = _setup_independent()
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched, **common)
    expected = weights(model)

    model, opt, sched = _setup_independent()
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched, epochs=1,
        **{k: v for k, v in common.items() if k != "epochs"}, checkpoint_dir=tmp_path)
    model, opt, sched = _setup_independent()
    first = fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched,
                checkpoint_dir=tmp_path, resume=True, time_budget_s=1e-6, **common)
    assert first.stopped_early and len(first["train_loss"]) == 1
    model, opt, sched = _setup_independent(seed=4)
    fit(model, (X, y), nn.CrossEntropyLoss(), opt, scheduler=sched, checkpoint_dir=tmp_path,
        resume=True, **common)
    assert same(weights(model), expected)


def test_checkpoint_is_safe_to_load_and_holds_what_the_issue_lists(tmp_path):
    X, y = blobs()
    model, opt, sched = _setup_independent()
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
