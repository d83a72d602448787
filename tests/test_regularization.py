"""bigmodel_lib.regularization: penalties by hand, dropout statistics, weight decay = L2 gradient."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from bigmodel_lib import optim
from bigmodel_lib.regularization import Dropout, dropout, l1_penalty, l2_penalty


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
