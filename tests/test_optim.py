"""bigmodel_lib.optim against torch.optim: step for step, checkpoints, bad hyperparameters."""

import copy
import io

import numpy as np
import pytest
import torch
from torch import nn

from bigmodel_lib import optim
from bigmodel_lib.optim import SGD, Adam, AdamW, optimize_2d, plot_paths

STEPS = 300


pytestmark = pytest.mark.usefixtures("one_thread")


def make_mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 8), nn.Tanh(),
                         nn.Linear(8, 3)).double()


def batches(n_steps: int, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(n_steps):
        x = torch.randn(32, 5, generator=gen, dtype=torch.float64)
        y = torch.randn(32, 3, generator=gen, dtype=torch.float64)
        yield x, y


def train(model: nn.Module, opt: torch.optim.Optimizer, data) -> list[float]:
    losses = []
    for x, y in data:
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


CONFIGS = [
    (SGD, torch.optim.SGD, dict(lr=0.05)),
    (SGD, torch.optim.SGD, dict(lr=0.02, momentum=0.9)),
    (SGD, torch.optim.SGD, dict(lr=0.02, momentum=0.8, dampening=0.3)),
    (SGD, torch.optim.SGD, dict(lr=0.02, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.5, dampening=1.0, weight_decay=1e-3)),
    (Adam, torch.optim.Adam, dict()),
    (Adam, torch.optim.Adam, dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=1e-2)),
    (Adam, torch.optim.Adam, dict(lr=3e-3, betas=(0.0, 0.9), eps=1e-3)),
    (AdamW, torch.optim.AdamW, dict()),
    (AdamW, torch.optim.AdamW, dict(lr=1e-2, betas=(0.5, 0.9), weight_decay=0.1)),
    (AdamW, torch.optim.AdamW, dict(lr=5e-3, weight_decay=0.0)),
]


@pytest.mark.parametrize("ours, theirs, hyper", CONFIGS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CONFIGS)])
def test_matches_torch_step_for_step(ours, theirs, hyper):
    model_a, model_b = make_mlp(), make_mlp()
    opt_a, opt_b = ours(model_a.parameters(), **hyper), theirs(model_b.parameters(), **hyper)
    for step, (x, y) in enumerate(batches(STEPS)):
        losses = []
        for model, opt in ((model_a, opt_a), (model_b, opt_b)):
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-7, abs=1e-9), f"step {step}"
        if step % 50 == 49:
            for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
                torch.testing.assert_close(p, q, rtol=1e-7, atol=1e-9)
    # the run really moved the weights (so the comparison is not trivially true)
    assert not torch.allclose(next(make_mlp().parameters()), next(model_a.parameters()))


def test_defaults_match_the_contract():
    p = [torch.zeros(2, requires_grad=True)]
    assert Adam(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    assert AdamW(p).defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    assert SGD(p, lr=0.1).defaults == dict(lr=0.1, momentum=0.0, dampening=0.0,
                                            weight_decay=0.0, nesterov=False)
    for cls in (SGD, Adam, AdamW):
        assert issubclass(cls, torch.optim.Optimizer)


@pytest.mark.parametrize("ours, hyper", [
    (SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (Adam, dict(lr=1e-2, weight_decay=1e-3)),
    (AdamW, dict(lr=1e-2)),
])
def test_state_dict_round_trip_continues_exactly(ours, hyper):
    data = list(batches(200))
    straight = make_mlp()
    train(straight, ours(straight.parameters(), **hyper), data)

    first = make_mlp()
    opt = ours(first.parameters(), **hyper)
    train(first, opt, data[:100])
    buffer = io.BytesIO()
    torch.save({"model": first.state_dict(), "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)

    resumed = make_mlp(seed=123)  # different weights: everything must come from the checkpoint
    resumed.load_state_dict(saved["model"])
    opt2 = ours(resumed.parameters(), **hyper)
    opt2.load_state_dict(saved["opt"])
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    train(resumed, opt2, data[100:])
    for p, q in zip(straight.parameters(), resumed.parameters(), strict=True):
        assert torch.equal(p, q)


def test_loads_a_torch_adam_checkpoint():
    data = list(batches(100))
    reference = make_mlp()
    torch_opt = torch.optim.Adam(reference.parameters(), lr=1e-2)
    train(reference, torch_opt, data[:50])
    ours_model = copy.deepcopy(reference)
    ours_opt = Adam(ours_model.parameters(), lr=1e-2)
    ours_opt.load_state_dict(copy.deepcopy(torch_opt.state_dict()))
    train(reference, torch_opt, data[50:])
    train(ours_model, ours_opt, data[50:])
    for p, q in zip(reference.parameters(), ours_model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-7, atol=1e-9)


def test_torch_adam_loads_our_checkpoint():
    data = list(batches(100))
    ours_model = make_mlp()
    ours_opt = Adam(ours_model.parameters(), lr=1e-2)
    train(ours_model, ours_opt, data[:50])
    torch_model = copy.deepcopy(ours_model)
    torch_opt = torch.optim.Adam(torch_model.parameters(), lr=1e-2)
    torch_opt.load_state_dict(copy.deepcopy(ours_opt.state_dict()))
    train(ours_model, ours_opt, data[50:])
    train(torch_model, torch_opt, data[50:])
    for p, q in zip(ours_model.parameters(), torch_model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("ours", [SGD, Adam, AdamW])
def test_parameters_without_gradient_are_skipped(ours):
    model = make_mlp()
    frozen = model[0].weight
    frozen.requires_grad_(False)
    before = frozen.clone()
    opt = ours(model.parameters(), lr=0.1, **({"momentum": 0.9} if ours is SGD else {}))
    train(model, opt, batches(3))
    assert frozen.grad is None and torch.equal(frozen, before)
    assert frozen not in opt.state
    assert model[2].weight in opt.state  # the trained ones have state


def test_param_groups_and_scheduler_match_torch():
    model_a, model_b = make_mlp(), make_mlp()

    def groups(model):
        return [{"params": model[0].parameters(), "lr": 0.1},
                {"params": list(model[2].parameters()) + list(model[4].parameters())}]

    opt_a = SGD(groups(model_a), lr=0.01, momentum=0.9)
    opt_b = torch.optim.SGD(groups(model_b), lr=0.01, momentum=0.9)
    sched_a = torch.optim.lr_scheduler.StepLR(opt_a, step_size=10, gamma=0.5)
    sched_b = torch.optim.lr_scheduler.StepLR(opt_b, step_size=10, gamma=0.5)
    for x, y in batches(50):
        for model, opt, sched in ((model_a, opt_a, sched_a), (model_b, opt_b, sched_b)):
            opt.zero_grad()
            ((model(x) - y) ** 2).mean().backward()
            opt.step()
            sched.step()
    assert opt_a.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**5)
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("ours", [SGD, Adam, AdamW])
def test_closure_is_called_and_returned(ours):
    w = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = ours([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    assert (w.abs() < torch.tensor([1.0, 2.0])).all()


def test_adam_first_step_moves_every_weight_by_lr():
    # bias correction makes the first step exactly lr * sign(g) (up to eps)
    w = torch.tensor([3.0, -1e-3, 50.0], dtype=torch.float64, requires_grad=True)
    opt = Adam([w], lr=0.1, eps=1e-12)
    (w * torch.tensor([2.0, -7.0, 1e-4], dtype=torch.float64)).sum().backward()
    opt.step()
    expected = torch.tensor([2.9, -1e-3 + 0.1, 49.9], dtype=torch.float64)
    torch.testing.assert_close(w.detach(), expected, rtol=0, atol=1e-7)


def test_sparse_gradients_are_refused():
    emb = nn.Embedding(10, 3, sparse=True)
    emb(torch.tensor([1, 2])).sum().backward()
    for cls in (SGD, Adam):
        with pytest.raises(TypeError, match="sparse"):
            cls(emb.parameters(), lr=0.1).step()


P = [torch.zeros(1, requires_grad=True)]


@pytest.mark.parametrize("make, match", [
    (lambda: SGD(P, lr=0.0), "lr"),
    (lambda: SGD(P, lr=-0.1), "lr"),
    (lambda: SGD(P, lr=float("nan")), "lr"),
    (lambda: SGD(P, lr=0.1, momentum=-0.1), "momentum"),
    (lambda: SGD(P, lr=0.1, momentum=1.0), "momentum"),
    (lambda: SGD(P, lr=0.1, dampening=1.5), "dampening"),
    (lambda: SGD(P, lr=0.1, weight_decay=-1e-4), "weight_decay"),
    (lambda: SGD(P, lr=0.1, nesterov=True), "nesterov"),
    (lambda: SGD(P, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "nesterov"),
    (lambda: Adam(P, lr=0), "lr"),
    (lambda: Adam(P, lr=-1e-3), "lr"),
    (lambda: Adam(P, betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda: Adam(P, betas=(0.9, 1.0)), r"betas\[1\]"),
    (lambda: Adam(P, betas=(-0.1, 0.999)), r"betas\[0\]"),
    (lambda: Adam(P, betas=(0.9,)), "pair"),
    (lambda: Adam(P, eps=0.0), "eps"),
    (lambda: Adam(P, eps=-1e-8), "eps"),
    (lambda: Adam(P, weight_decay=-0.01), "weight_decay"),
    (lambda: AdamW(P, lr=-1.0), "lr"),
    (lambda: AdamW(P, betas=(0.9, 1.5)), r"betas\[1\]"),
    (lambda: AdamW(P, eps=0), "eps"),
    (lambda: AdamW(P, weight_decay=-0.1), "weight_decay"),
])
def test_invalid_hyperparameters_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match) as info:
        make()
    assert "got" in str(info.value)  # the message shows the offending value


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match="lr"):
        SGD(P, lr="0.1")
    with pytest.raises(TypeError, match="nesterov"):
        SGD(P, lr=0.1, momentum=0.9, nesterov="yes")


def test_added_param_groups_are_validated():
    opt = Adam(P)
    with pytest.raises(ValueError, match="lr"):
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "lr": -1.0})
    assert len(opt.param_groups) == 1


def quadratic(x, y):
    return x**2 + 10 * y**2


def test_optimize_2d_gradient_descent_has_the_closed_form():
    path = optimize_2d(quadratic, (1.0, 1.0), "gd", steps=20, lr=0.04)
    assert path.shape == (21, 2) and path.dtype == np.float64
    t = np.arange(21)
    np.testing.assert_allclose(path[:, 0], (1 - 2 * 0.04) ** t, rtol=1e-12)
    np.testing.assert_allclose(path[:, 1], (1 - 20 * 0.04) ** t, rtol=1e-12)


@pytest.mark.parametrize("name, cls, hyper", [
    ("adam", torch.optim.Adam, dict(lr=0.1)),
    ("adamw", torch.optim.AdamW, dict(lr=0.05, weight_decay=0.1)),
    ("sgd", torch.optim.SGD, dict(lr=0.01, momentum=0.9, nesterov=True)),
])
def test_optimize_2d_follows_the_torch_optimizer(name, cls, hyper):
    def rosenbrock(x, y):
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    ours = optimize_2d(rosenbrock, (-1.0, 2.0), name, steps=150, **hyper)
    theirs = optimize_2d(rosenbrock, (-1.0, 2.0), cls, steps=150, **hyper)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    assert not np.allclose(ours[-1], ours[0])


def test_optimize_2d_zero_steps_and_divergence():
    assert optimize_2d(quadratic, [0.5, -0.5], "adam", steps=0).tolist() == [[0.5, -0.5]]
    path = optimize_2d(quadratic, (1.0, 1.0), "gd", steps=400, lr=0.5)  # lr > 2/L = 0.1
    assert not np.all(np.isfinite(path[-1])) or abs(path[-1, 1]) > 1e50


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(optimizer="lion"), ValueError, "unknown optimizer"),
    (dict(optimizer=3), TypeError, "optimizer"),
    (dict(optimizer="sgd"), ValueError, "learning rate"),
    (dict(start=(1.0, 2.0, 3.0)), ValueError, "start"),
    (dict(start=(1.0, float("inf"))), ValueError, "start"),
    (dict(steps=-1), ValueError, "steps"),
    (dict(steps=2.5), ValueError, "steps"),
    (dict(fn=lambda x, y: torch.stack([x, y])), ValueError, "scalar"),
    (dict(optimizer="adam", lr=-1.0), ValueError, "lr"),
])
def test_optimize_2d_bad_input(kwargs, error, match):
    args = dict(fn=quadratic, start=(1.0, 1.0), optimizer="adam", steps=5) | kwargs
    with pytest.raises(error, match=match):
        optimize_2d(**args)


def test_plot_paths_draws_labelled_paths():
    import matplotlib.pyplot as plt

    paths = {"gd": optimize_2d(quadratic, (1.0, 1.0), "gd", steps=10, lr=0.05),
             "adam": optimize_2d(quadratic, (1.0, 1.0), "adam", steps=10, lr=0.1)}
    ax = plot_paths(quadratic, paths, xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), minimum=(0, 0))
    labels = [line.get_label() for line in ax.get_lines()]
    assert {"gd", "adam", "minimum"} <= set(labels)
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y"
    plt.close(ax.figure)


def test_public_names():
    for name in ("SGD", "Adam", "AdamW", "optimize_2d", "OPTIMIZERS"):
        assert hasattr(optim, name)


# --------------------------------------------------------------------------- chapter 10: AdaGrad, RMSProp

CH10_CONFIGS = [
    (optim.Adagrad, torch.optim.Adagrad, dict()),
    (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.05, lr_decay=1e-2, weight_decay=1e-2)),
    (optim.Adagrad, torch.optim.Adagrad, dict(lr=0.02, initial_accumulator_value=0.1, eps=1e-6)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=1e-3, alpha=0.9, momentum=0.9, weight_decay=1e-2)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=5e-4, centered=True, eps=1e-6)),
    (optim.RMSprop, torch.optim.RMSprop, dict(lr=5e-4, centered=True, momentum=0.5)),
]


@pytest.mark.parametrize("ours, theirs, hyper", CH10_CONFIGS,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CH10_CONFIGS)])
def test_adagrad_rmsprop_match_torch_step_for_step(ours, theirs, hyper):
    test_matches_torch_step_for_step(ours, theirs, hyper)


def test_adagrad_rmsprop_defaults_and_registry():
    p = [torch.zeros(2, requires_grad=True)]
    assert optim.Adagrad(p).defaults == dict(lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                                             initial_accumulator_value=0.0, eps=1e-10)
    assert optim.RMSprop(p).defaults == dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                                             momentum=0.0, centered=False)
    assert optim.OPTIMIZERS["adagrad"] is optim.Adagrad and optim.OPTIMIZERS["rmsprop"] is optim.RMSprop
    assert {"Adagrad", "RMSprop"} <= set(optim.__all__)


@pytest.mark.parametrize("ours, hyper", [
    (optim.Adagrad, dict(lr=0.05, initial_accumulator_value=0.1)),
    (optim.RMSprop, dict(lr=1e-3, momentum=0.9, centered=True)),
])
def test_adagrad_rmsprop_checkpoints_load_into_torch(ours, hyper):
    # a checkpoint of ours continues exactly in torch.optim (same state names)
    data = list(batches(60))
    model_a = make_mlp()
    opt_a = ours(model_a.parameters(), **hyper)
    train(model_a, opt_a, data[:30])
    model_b = copy.deepcopy(model_a)
    opt_b = getattr(torch.optim, ours.__name__)(model_b.parameters(), **hyper)
    opt_b.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    train(model_a, opt_a, data[30:])
    train(model_b, opt_b, data[30:])
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-7, atol=1e-9)


def test_adagrad_first_step_is_lr_times_sign():
    # s = g² after one step, so θ moves by η·g/|g| = η·sign(g) (up to ε)
    w = torch.tensor([3.0, -1e-3, 50.0], dtype=torch.float64, requires_grad=True)
    opt = optim.Adagrad([w], lr=0.1)
    (w * torch.tensor([2.0, -5.0, 0.01], dtype=torch.float64)).sum().backward()
    opt.step()
    torch.testing.assert_close(w.detach(), torch.tensor([2.9, -1e-3 + 0.1, 49.9], dtype=torch.float64))


@pytest.mark.parametrize("make, match", [
    (lambda: optim.Adagrad(P, lr=0), "lr"),
    (lambda: optim.Adagrad(P, lr_decay=-1), "lr_decay"),
    (lambda: optim.Adagrad(P, initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (lambda: optim.Adagrad(P, eps=0), "eps"),
    (lambda: optim.Adagrad(P, weight_decay=-1), "weight_decay"),
    (lambda: optim.RMSprop(P, lr=-1), "lr"),
    (lambda: optim.RMSprop(P, alpha=1.0), "alpha"),
    (lambda: optim.RMSprop(P, momentum=1.0), "momentum"),
    (lambda: optim.RMSprop(P, eps=-1), "eps"),
])
def test_adagrad_rmsprop_invalid_hyperparameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()
    with pytest.raises(TypeError, match="centered"):
        optim.RMSprop(P, centered="yes")


@pytest.mark.parametrize("name", ["adagrad", "rmsprop"])
def test_optimize_2d_knows_adagrad_and_rmsprop(name):
    path = optimize_2d(quadratic, (2.0, 1.0), name, steps=50, lr=0.1)
    torch_path = optimize_2d(quadratic, (2.0, 1.0), getattr(torch.optim, optim.OPTIMIZERS[name].__name__),
                             steps=50, lr=0.1)
    np.testing.assert_allclose(path, torch_path, rtol=1e-12, atol=1e-12)
    assert np.linalg.norm(path[-1]) < np.linalg.norm(path[0])
