"""bigmodel_lib.regularization: penalties by hand, dropout statistics, weight decay = L2 gradient."""

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bigmodel_lib import optim
from bigmodel_lib.optim import SGD
from bigmodel_lib.regularization import Dropout, dropout, l1_penalty, l2_penalty

pytestmark = pytest.mark.usefixtures("one_thread")


def test_penalties_against_hand_sums():
    a = torch.tensor([[1.0, -2.0], [3.0, -4.0]])
    b = torch.tensor([0.5])
    assert l1_penalty([a, b]).item() == 1 + 2 + 3 + 4 + 0.5
    assert l2_penalty([a, b]).item() == 1 + 4 + 9 + 16 + 0.25
    assert l1_penalty(a).item() == 10.0  # one tensor is fine too


def test_penalties_on_a_module_match_numpy():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 2)).double()
    weights = [p.detach().numpy() for p in model.parameters()]
    assert l1_penalty(model).item() == pytest.approx(sum(np.abs(w).sum() for w in weights), rel=1e-12)
    assert l2_penalty(model).item() == pytest.approx(sum((w**2).sum() for w in weights), rel=1e-12)
    assert l2_penalty(model.parameters()).item() == pytest.approx(l2_penalty(model).item())


def test_penalty_gradients():
    w = torch.tensor([1.5, -0.3, 2.0, -4.0], dtype=torch.float64, requires_grad=True)
    (g1,) = torch.autograd.grad(l1_penalty([w]), w)
    (g2,) = torch.autograd.grad(l2_penalty([w]), w)
    assert torch.equal(g1, torch.sign(w.detach()))
    assert torch.equal(g2, 2 * w.detach())  # no 1/2 in l2_penalty, so the gradient is 2w
    assert torch.autograd.gradcheck(lambda t: l1_penalty([t]), (w,))
    assert torch.autograd.gradcheck(lambda t: l2_penalty([t, t * 3]), (w,))


def test_penalties_reject_bad_input():
    model = nn.Linear(2, 2)
    params = model.parameters()
    l2_penalty(params)
    with pytest.raises(ValueError, match="generator"):
        l2_penalty(params)  # the generator is used up
    with pytest.raises(ValueError, match="no tensors"):
        l1_penalty([])
    with pytest.raises(TypeError, match="tensors"):
        l1_penalty(3.0)
    with pytest.raises(TypeError, match="element"):
        l2_penalty([torch.ones(2), [1.0, 2.0]])
    with pytest.raises(TypeError, match="real-valued"):
        l1_penalty([torch.tensor([True, False])])
    with pytest.raises(TypeError, match="real-valued"):
        l2_penalty(torch.tensor([3 + 4j]))


N = 400_000


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_zeroes_a_fraction_p_and_keeps_the_mean(p):
    x = torch.ones(N, dtype=torch.float64)
    y = dropout(x, p, generator=torch.Generator().manual_seed(0))
    dropped = (y == 0).double().mean().item()
    # binomial standard deviations; 5 of them: a correct dropout fails with probability < 1e-6
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / N)
    assert abs(y.mean().item() - 1.0) < 5 * math.sqrt(p / (1 - p) / N)
    survivors = y[y != 0]
    torch.testing.assert_close(survivors, torch.full_like(survivors, 1 / (1 - p)), rtol=1e-15, atol=0)


@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_statistics_match_torch(p):
    torch.manual_seed(1)
    x = torch.randn(N, dtype=torch.float64).abs() + 0.1
    ours = dropout(x, p, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(3)
    theirs = nn.functional.dropout(x, p, training=True)
    tolerance = 5 * math.sqrt(2 * p * (1 - p) / N)  # difference of two binomial fractions
    assert abs((ours == 0).double().mean() - (theirs == 0).double().mean()) < tolerance
    assert abs(ours.mean() - theirs.mean()) < 5 * math.sqrt(2 * p / (1 - p) / N) * x.pow(2).mean().sqrt()
    # the survivors are rescaled the same way: y = x / (1 - p)
    kept = ours != 0
    torch.testing.assert_close(ours[kept], x[kept] / (1 - p))
    kept = theirs != 0
    torch.testing.assert_close(theirs[kept], x[kept] / (1 - p))


def test_dropout_p0_and_eval_are_exact_identities():
    x = torch.randn(3, 4, requires_grad=True)
    assert dropout(x, 0.0) is x
    assert dropout(x, 0.7, training=False) is x
    layer = Dropout(0.7).eval()
    assert torch.equal(layer(x), x)
    assert torch.equal(Dropout(0.0)(x), x)


def test_dropout_p1_returns_zeros_with_zero_gradient():
    x = torch.randn(5, requires_grad=True)
    y = dropout(x, 1.0)
    assert torch.equal(y, torch.zeros(5)) and torch.isfinite(y).all()
    y.sum().backward()
    assert torch.equal(x.grad, torch.zeros(5))


def test_dropout_gradient_is_mask_over_keep_probability():
    x = torch.randn(1000, dtype=torch.float64, requires_grad=True)
    p = 0.3
    y = dropout(x, p, generator=torch.Generator().manual_seed(4))
    (y * torch.arange(1000.0, dtype=torch.float64)).sum().backward()
    kept = (y != 0).double()
    torch.testing.assert_close(x.grad, kept * torch.arange(1000.0, dtype=torch.float64) / (1 - p))
    mask = (dropout(torch.ones(8, 8, dtype=torch.float64), p, generator=torch.Generator().manual_seed(5)) != 0)
    assert torch.autograd.gradcheck(
        lambda t: dropout(t, p, generator=torch.Generator().manual_seed(5)),
        (torch.randn(8, 8, dtype=torch.float64, requires_grad=True),),
    )
    assert 0 < mask.sum() < 64


def test_generator_makes_masks_reproducible():
    x = torch.ones(100)
    a = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    b = dropout(x, 0.5, generator=torch.Generator().manual_seed(7))
    c = dropout(x, 0.5, generator=torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    layer = Dropout(0.5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(layer(x), a)
    assert not torch.equal(layer(x), a)  # the generator moves on: a new mask per call


def test_dropout_module_in_a_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), Dropout(0.5), nn.Linear(64, 1))
    x = torch.randn(16, 4)
    model.train()
    assert not torch.equal(model(x), model(x))  # a fresh mask each call
    model.eval()
    assert torch.equal(model(x), model(x))
    assert "p=0.5" in repr(model[2])


@pytest.mark.parametrize("p", [-0.1, 1.01, float("nan"), float("inf")])
def test_p_outside_0_1_raises(p):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dropout(torch.ones(3), p)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Dropout(p)


def test_dropout_rejects_bad_types():
    with pytest.raises(TypeError, match="number"):
        dropout(torch.ones(3), "0.5")
    with pytest.raises(TypeError, match="number"):
        Dropout(True)
    with pytest.raises(TypeError, match="tensor"):
        dropout([1.0, 2.0], 0.5)
    with pytest.raises(TypeError, match="floating"):
        dropout(torch.tensor([1, 2]), 0.5)


def _two_runs(make_opt_decay, make_opt_plain, lam, steps=50):
    """Train a model with weight_decay=lam and a copy with loss + lam/2 * l2_penalty."""
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    b = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = make_opt_decay(a.parameters()), make_opt_plain(b.parameters())
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x = torch.randn(16, 3, generator=gen, dtype=torch.float64)
        y = torch.randn(16, 1, generator=gen, dtype=torch.float64)
        opt_a.zero_grad()
        ((a(x) - y) ** 2).mean().backward()
        opt_a.step()
        opt_b.zero_grad()
        (((b(x) - y) ** 2).mean() + lam / 2 * l2_penalty(b)).backward()
        opt_b.step()
    return a, b


@pytest.mark.parametrize("sgd", [torch.optim.SGD, optim.SGD])
def test_sgd_weight_decay_equals_the_l2_gradient(sgd):
    lam = 0.1
    a, b = _two_runs(lambda ps: sgd(ps, lr=0.05, momentum=0.9, weight_decay=lam),
                     lambda ps: sgd(ps, lr=0.05, momentum=0.9), lam)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)


def test_under_adam_weight_decay_is_l2_but_adamw_is_not():
    lam = 0.1
    a, b = _two_runs(lambda ps: optim.Adam(ps, lr=0.01, weight_decay=lam),
                     lambda ps: optim.Adam(ps, lr=0.01), lam)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
    a, b = _two_runs(lambda ps: optim.AdamW(ps, lr=0.01, weight_decay=lam),
                     lambda ps: optim.Adam(ps, lr=0.01), lam)
    assert max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True)) > 1e-4


# ================================ independent review (was tests/test_review_optim.py)
# Review of issues 6 and 7 as an independent tester: bigmodel_lib.optim and .regularization.
#
# Written from the issue text alone: the optimizers must be torch.optim.Optimizer subclasses
# that agree with torch.optim step for step (float64 and float32, schedulers, several
# parameter groups, frozen parameters, closures), survive checkpoints of every kind, and
# refuse bad hyperparameters; the penalties must equal hand sums and be differentiable;
# dropout must be inverted dropout with exact identities at p = 0 and in eval mode.


def mlp(dtype=torch.float64, seed=0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 2)).to(dtype)


def data(steps, dtype=torch.float64, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 4, generator=gen).to(dtype), torch.randn(16, 2, generator=gen).to(dtype))
            for _ in range(steps)]


def step(model, opt, x, y, scheduler=None):
    opt.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    if scheduler is not None:
        scheduler.step()
    return loss.item()


def max_gap(a: nn.Module, b: nn.Module) -> float:
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True))


# ---------------------------------------------------------------- penalties

def test_penalties_equal_hand_sums_for_every_kind_of_input():
    a = torch.tensor([[1.5, -2.0], [0.0, 3.0]])
    b = torch.tensor([-0.5, 4.0, -1.0])
    l1 = 1.5 + 2.0 + 0.0 + 3.0 + 0.5 + 4.0 + 1.0
    l2 = 1.5**2 + 2.0**2 + 3.0**2 + 0.5**2 + 4.0**2 + 1.0**2
    assert l1_penalty([a, b]).item() == pytest.approx(l1)
    assert l2_penalty([a, b]).item() == pytest.approx(l2)
    assert l1_penalty(t for t in (a, b)).item() == pytest.approx(l1)  # a generator
    assert l2_penalty(iter([a, b])).item() == pytest.approx(l2)
    assert l1_penalty(a).item() == pytest.approx(1.5 + 2.0 + 3.0)  # a single tensor
    assert l2_penalty(nn.Parameter(b)).item() == pytest.approx(0.25 + 16.0 + 1.0)
    assert l1_penalty(torch.tensor([1, -2, 3])).item() == 6  # integers are fine for a hand sum
    assert l2_penalty(torch.tensor(-3.0)).item() == 9.0  # a 0-d tensor


def test_penalties_of_a_module_its_parameters_and_a_list_agree():
    model = mlp()
    hand1 = sum(np.abs(p.detach().numpy()).sum() for p in model.parameters())
    hand2 = sum((p.detach().numpy() ** 2).sum() for p in model.parameters())
    for arg in (model, model.parameters(), list(model.parameters())):
        assert l1_penalty(arg).item() == pytest.approx(hand1, rel=1e-12)
    for arg in (model, model.parameters(), list(model.parameters())):
        assert l2_penalty(arg).item() == pytest.approx(hand2, rel=1e-12)
    out = l2_penalty(model)
    assert out.dim() == 0 and out.dtype == torch.float64


def test_penalties_are_differentiable():
    w = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
    v = torch.tensor([[1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    (l1_penalty([w, v]) + 0.5 * l2_penalty([w, v])).backward()
    torch.testing.assert_close(w.grad, torch.sign(w.detach()) + w.detach())
    torch.testing.assert_close(v.grad, torch.sign(v.detach()) + v.detach())
    assert torch.autograd.gradcheck(lambda t: l2_penalty([t]), (w.detach().requires_grad_(),))
    model = mlp()
    l2_penalty(model).backward()
    for p in model.parameters():
        torch.testing.assert_close(p.grad, 2 * p.detach())


def test_l2_penalty_and_sgd_weight_decay_are_the_same_step():
    lam = 0.3
    a = mlp()
    b = copy.deepcopy(a)
    opt_a = SGD(a.parameters(), lr=0.1, weight_decay=lam)
    opt_b = SGD(b.parameters(), lr=0.1)
    for x, y in data(30):
        step(a, opt_a, x, y)
        opt_b.zero_grad()
        (F.mse_loss(b(x), y) + lam / 2 * l2_penalty(b)).backward()
        opt_b.step()
    assert max_gap(a, b) < 1e-12


def test_penalties_refuse_what_is_not_a_tensor():
    for f in (l1_penalty, l2_penalty):
        with pytest.raises(TypeError):
            f(3.0)
        with pytest.raises(TypeError):
            f(["a"])
        with pytest.raises(TypeError):
            f([torch.tensor([True])])


# ---------------------------------------------------------------- dropout

@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.9])
def test_dropout_statistics(p):
    x = torch.full((200_000,), 2.0, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    y = dropout(x, p, generator=g)
    zero = (y == 0).double().mean().item()
    assert abs(zero - p) < 5 * (p * (1 - p) / x.numel()) ** 0.5
    survivors = y[y != 0]
    torch.testing.assert_close(survivors, torch.full_like(survivors, 2.0 / (1 - p)))
    assert y.mean().item() == pytest.approx(2.0, abs=5 * 2.0 * (p / (1 - p) / x.numel()) ** 0.5)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.equal(x, torch.full((200_000,), 2.0, dtype=torch.float64))  # not in place


def test_dropout_identities():
    x = torch.randn(50, 7)
    assert torch.equal(dropout(x, 0.0), x)
    assert torch.equal(dropout(x, 0, training=True), x)
    for p in (0.0, 0.3, 1.0):
        assert torch.equal(dropout(x, p, training=False), x)
    assert torch.equal(dropout(x, 1.0), torch.zeros_like(x))
    assert torch.equal(dropout(x, 1), torch.zeros_like(x))
    empty = torch.empty(0, 3)
    assert dropout(empty, 0.5).shape == (0, 3)


def test_dropout_matches_torch_under_the_same_seed():
    x = torch.randn(40, 30, dtype=torch.float64)
    for p in (0.2, 0.5, 0.8):
        torch.manual_seed(7)
        ours = dropout(x, p)
        torch.manual_seed(7)
        theirs = F.dropout(x, p)
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)


def test_dropout_gradient_is_mask_over_keep_probability_independent():
    p = 0.4
    x = torch.randn(30, 20, dtype=torch.float64, requires_grad=True)
    y = dropout(x, p, generator=torch.Generator().manual_seed(3))
    weights = torch.randn_like(x)
    (y * weights).sum().backward()
    kept = (y != 0).double()
    torch.testing.assert_close(x.grad, weights * kept / (1 - p))
    x.grad = None
    (dropout(x, p, training=False) * weights).sum().backward()
    torch.testing.assert_close(x.grad, weights)
    x.grad = None
    dropout(x, 1.0).sum().backward()
    torch.testing.assert_close(x.grad, torch.zeros_like(x))


def test_generator_reproducibility():
    x = torch.randn(1000)
    a = dropout(x, 0.5, generator=torch.Generator().manual_seed(11))
    b = dropout(x, 0.5, generator=torch.Generator().manual_seed(11))
    c = dropout(x, 0.5, generator=torch.Generator().manual_seed(12))
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.manual_seed(5)
    d = dropout(x, 0.5)
    torch.manual_seed(5)
    assert torch.equal(d, dropout(x, 0.5))


def test_dropout_module_follows_train_and_eval():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 64), nn.ReLU(), Dropout(0.5), nn.Linear(64, 1))
    x = torch.randn(32, 8)
    assert isinstance(model[2], nn.Module)
    model.eval()
    assert torch.equal(model(x), model(x))
    hidden = model[1](model[0](x))
    assert torch.equal(model[2](hidden), hidden)
    model.train()
    out = model[2](hidden)
    assert not torch.equal(out, hidden)
    dropped = (out == 0) & (hidden != 0)
    assert 0.3 < dropped.float().sum().item() / (hidden != 0).float().sum().item() < 0.7
    model.eval()
    assert torch.equal(model[2](hidden), hidden)
    assert torch.equal(Dropout(0.0)(hidden), hidden)
    assert "0.5" in repr(model[2])
    assert not list(Dropout(0.3).parameters())  # nothing to learn, nothing in the state dict
    assert Dropout(0.3).state_dict() == {}


@pytest.mark.parametrize("p", [-0.01, 1.01, 2, -1, float("nan"), float("inf")])
def test_p_outside_0_1_raises_value_error(p):
    x = torch.randn(5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dropout(x, p)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dropout(x, p, training=False)  # a bad p is bad in eval mode too
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Dropout(p)


def test_dropout_refuses_non_float_input():
    for bad in (torch.tensor([1, 2, 3]), torch.tensor([True, False])):
        with pytest.raises(TypeError, match="float"):
            dropout(bad, 0.5)
    with pytest.raises(TypeError):
        dropout([1.0, 2.0], 0.5)
    with pytest.raises(TypeError):
        dropout(torch.randn(3), "0.5")
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        y = dropout(torch.ones(1000, dtype=dtype), 0.5, generator=torch.Generator().manual_seed(0))
        assert y.dtype == dtype and set(y.unique().tolist()) <= {0.0, 2.0}
