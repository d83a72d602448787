"""bigmodel_lib.losses against torch.nn.functional: values, gradients, extremes, bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from bigmodel_lib import losses
from bigmodel_lib.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gan_discriminator_loss,
    gan_generator_loss,
    log_softmax,
    mse,
    softplus,
)

F64 = torch.float64
TOL = dict(rtol=1e-9, atol=1e-9)


def rand(*shape, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(shape, generator=g, dtype=F64)).requires_grad_()


def probs_like(*shape, dim=1, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(3 * torch.randn(shape, generator=g, dtype=F64), dim=dim)


def labels(n_classes, *shape, seed=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n_classes, shape, generator=g)


def value_and_grads(fn, *inputs):
    """The loss and the gradient of every input that requires one."""
    inputs = [x.detach().clone().requires_grad_(x.requires_grad) for x in inputs]
    loss = fn(*inputs)
    grads = torch.autograd.grad(loss, [x for x in inputs if x.requires_grad])
    return loss.detach(), [g.detach() for g in grads]


def assert_same(ours, theirs, *inputs, tol=TOL):
    """Our loss and torch's agree in value and in every gradient."""
    v1, g1 = value_and_grads(ours, *inputs)
    v2, g2 = value_and_grads(theirs, *inputs)
    torch.testing.assert_close(v1, v2, **tol)
    assert len(g1) == len(g2) > 0
    for a, b in zip(g1, g2, strict=True):
        assert torch.isfinite(a).all(), "gradient is not finite"
        torch.testing.assert_close(a, b, **tol)


# --- agreement with torch on random inputs ------------------------------------------------

SHAPES = [(), (1,), (7,), (4, 3), (2, 3, 5)]


@pytest.mark.parametrize("shape", SHAPES)
def test_mse_matches_torch(shape):
    assert_same(mse, F.mse_loss, rand(*shape), rand(*shape, seed=1))


@pytest.mark.parametrize("shape", [(1, 2), (7, 5), (64, 10), (3, 4, 6), (2, 3, 4, 5)])
def test_cross_entropy_with_class_indices_matches_torch(shape):
    target = labels(shape[1], shape[0], *shape[2:])
    assert_same(cross_entropy, F.cross_entropy, rand(*shape, scale=3), target)


@pytest.mark.parametrize("shape", [(1, 2), (7, 5), (64, 10), (3, 4, 6), (2, 3, 4, 5)])
def test_cross_entropy_with_probabilities_matches_torch(shape):
    target = probs_like(*shape).requires_grad_()  # soft targets are differentiable too
    assert_same(cross_entropy, F.cross_entropy, rand(*shape, scale=3), target)


def test_cross_entropy_accepts_any_integer_dtype_of_indices():
    logits = rand(6, 4)
    target = labels(4, 6)
    for dtype in (torch.int32, torch.int16, torch.uint8):
        torch.testing.assert_close(
            cross_entropy(logits, target.to(dtype)), F.cross_entropy(logits, target), **TOL
        )


def test_cross_entropy_with_one_hot_targets_equals_index_targets():
    logits, target = rand(9, 4), labels(4, 9)
    one_hot = F.one_hot(target, 4).to(F64)
    torch.testing.assert_close(cross_entropy(logits, one_hot), cross_entropy(logits, target), **TOL)


def test_cross_entropy_handles_masked_logits_like_torch():
    logits = rand(5, 6).detach()
    logits[:, 3:] = -math.inf  # classes 3..5 masked out
    target = labels(3, 5)
    assert_same(cross_entropy, F.cross_entropy, logits.requires_grad_(), target)


@pytest.mark.parametrize("shape,dim", [((5, 7), 1), ((5, 7), -1), ((2, 3, 4), 0), ((2, 3, 4), 2)])
def test_log_softmax_matches_torch(shape, dim):
    assert_same(lambda z: log_softmax(z, dim=dim).sum(), lambda z: torch.log_softmax(z, dim).sum(),
                rand(*shape, scale=5))
    # and the weighted sum, so every entry's gradient is exercised separately
    w = rand(*shape, seed=3).detach()
    assert_same(lambda z: (w * log_softmax(z, dim=dim)).sum(),
                lambda z: (w * torch.log_softmax(z, dim)).sum(), rand(*shape, scale=5))


def test_softplus_matches_torch_and_has_gradient_sigmoid_at_zero():
    # F.softplus returns x itself above x = 20 (an error of e^-20 ~ 2e-9); logaddexp(x, 0)
    # is torch's exact log(e^x + e^0)
    x = torch.cat([rand(50, scale=10).detach(),
                   torch.tensor([0.0, -0.0, 1e-300, 800.0, -800.0], dtype=F64)])
    w = rand(55, seed=4).detach()
    assert_same(lambda t: (w * softplus(t)).sum(),
                lambda t: (w * torch.logaddexp(t, torch.zeros_like(t))).sum(), x.requires_grad_())
    zero = torch.zeros(1, dtype=F64, requires_grad=True)
    softplus(zero).sum().backward()
    assert zero.grad.item() == 0.5  # sigmoid(0), not a one-sided 0 or 1


@pytest.mark.parametrize("shape", SHAPES)
def test_binary_cross_entropy_matches_torch(shape):
    probs = torch.sigmoid(rand(*shape, scale=2)).detach().requires_grad_()
    target = torch.rand(shape, generator=torch.Generator().manual_seed(5), dtype=F64)
    assert_same(binary_cross_entropy, F.binary_cross_entropy, probs, target)


@pytest.mark.parametrize("shape", SHAPES)
def test_binary_cross_entropy_with_logits_matches_torch(shape):
    target = torch.rand(shape, generator=torch.Generator().manual_seed(5), dtype=F64)
    assert_same(binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
                rand(*shape, scale=4), target.requires_grad_())


def test_binary_cross_entropy_with_hard_labels_matches_torch():
    target = (torch.rand(20, generator=torch.Generator().manual_seed(6)) > 0.5).to(F64)
    assert_same(binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
                rand(20, scale=4), target)


# --- GAN losses ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_real,n_fake", [(8, 8), (5, 11), (1, 1)])
def test_discriminator_loss_is_the_sum_of_the_two_bce_terms(n_real, n_fake):
    def reference(real, fake):
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))

    assert_same(gan_discriminator_loss, reference, rand(n_real, 1, scale=3),
                rand(n_fake, 1, scale=3, seed=1))


def test_discriminator_loss_is_two_log_two_when_d_is_one_half_everywhere():
    half = torch.zeros(10, dtype=F64)  # logit 0 <=> D = 1/2
    torch.testing.assert_close(gan_discriminator_loss(half, half),
                               torch.tensor(2 * math.log(2), dtype=F64), **TOL)


def test_generator_losses_match_their_bce_forms():
    fake = rand(16, 1, scale=3)
    assert_same(gan_generator_loss,
                lambda z: F.binary_cross_entropy_with_logits(z, torch.ones_like(z)), fake)
    assert_same(lambda z: gan_generator_loss(z, non_saturating=False),
                lambda z: -F.binary_cross_entropy_with_logits(z, torch.zeros_like(z)), fake)
    # straight from the definitions, with D = sigmoid(logit)
    d = torch.sigmoid(fake.detach())
    torch.testing.assert_close(gan_generator_loss(fake.detach()), -torch.log(d).mean(), **TOL)
    torch.testing.assert_close(gan_generator_loss(fake.detach(), non_saturating=False),
                               torch.log1p(-d).mean(), **TOL)


def test_minimax_gradient_vanishes_where_non_saturating_does_not():
    # D confidently rejects the fakes: D(G(z)) = sigmoid(-8) ~ 3e-4
    z = torch.full((1,), -8.0, dtype=F64, requires_grad=True)
    (g_minimax,) = torch.autograd.grad(gan_generator_loss(z, non_saturating=False), z)
    (g_non_sat,) = torch.autograd.grad(gan_generator_loss(z), z)
    d = torch.sigmoid(z.detach())
    torch.testing.assert_close(g_minimax, -d, **TOL)  # d/dz log(1 - D) = -D
    torch.testing.assert_close(g_non_sat, -(1 - d), **TOL)  # d/dz -log D = -(1 - D)
    assert abs(g_non_sat.item()) > 1000 * abs(g_minimax.item())


# --- extreme logits -----------------------------------------------------------------------

EXTREME = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0],
                        [1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0]], dtype=F64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_extreme_logits_give_finite_losses_and_torchs_gradients(dtype):
    tol = TOL if dtype == F64 else dict(rtol=1e-5, atol=1e-5)
    logits = EXTREME.to(dtype).requires_grad_()
    target = torch.tensor([1, 0, 2, 1])  # mostly the wrong class: losses near 1000
    cases = [
        (cross_entropy, F.cross_entropy, (logits, target)),
        (cross_entropy, F.cross_entropy, (logits, probs_like(4, 3).to(dtype))),
        (binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits,
         (logits, (torch.arange(12).reshape(4, 3) % 2).to(dtype))),
        (gan_generator_loss,
         lambda z: F.binary_cross_entropy_with_logits(z, torch.ones_like(z)), (logits,)),
        (lambda z: gan_generator_loss(z, False),
         lambda z: -F.binary_cross_entropy_with_logits(z, torch.zeros_like(z)), (logits,)),
        (lambda r, f: gan_discriminator_loss(r, f),
         lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
         + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f)),
         (logits, logits.detach().flip(0).requires_grad_())),
        # BCE on probabilities: sigmoid(+-1000) is exactly 1 or 0; each log is floored at -100
        (lambda z, y: binary_cross_entropy(torch.sigmoid(z), y),
         lambda z, y: F.binary_cross_entropy(torch.sigmoid(z), y),
         (logits, (torch.arange(12).reshape(4, 3) % 2).to(dtype))),
    ]
    for ours, theirs, inputs in cases:
        value, grads = value_and_grads(ours, *inputs)
        assert torch.isfinite(value), f"{ours} gave {value}"
        assert all(torch.isfinite(g).all() for g in grads)
        assert_same(ours, theirs, *inputs, tol=tol)


def test_cross_entropy_of_a_confident_wrong_answer_is_the_logit_gap():
    logits = torch.tensor([[1000.0, -1000.0]], dtype=F64)
    assert cross_entropy(logits, torch.tensor([1])).item() == pytest.approx(2000.0)
    assert cross_entropy(logits, torch.tensor([0])).item() == 0.0


def test_binary_cross_entropy_at_zero_and_one_is_100_like_torch():
    probs = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=F64, requires_grad=True)
    target = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=F64)
    loss = binary_cross_entropy(probs, target)
    torch.testing.assert_close(loss, F.binary_cross_entropy(probs, target), **TOL)
    assert loss.item() == pytest.approx(50.0)
    loss.backward()
    assert torch.isfinite(probs.grad).all()


def test_half_precision_binary_cross_entropy_is_finite():
    probs = torch.tensor([0.0, 1.0, 0.3], dtype=torch.float16, requires_grad=True)
    target = torch.tensor([1.0, 0.0, 1.0], dtype=torch.float16)
    loss = binary_cross_entropy(probs, target)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(probs.grad).all()


# --- bad input ----------------------------------------------------------------------------

f = torch.zeros(4, 3)
idx = torch.tensor([0, 1, 2, 0])
vec = torch.zeros(4)
BAD = [
    # (call, exception, words the message must contain)
    (lambda: mse(torch.zeros(4, 1), vec), ValueError, "same shape"),
    (lambda: mse(vec, torch.zeros(5)), ValueError, "(5,)"),
    (lambda: mse(torch.zeros(0), torch.zeros(0)), ValueError, "empty"),
    (lambda: mse(torch.arange(4), vec), TypeError, "floating-point"),
    (lambda: mse(vec, torch.arange(4)), TypeError, "target.float()"),
    (lambda: mse([1.0, 2.0], vec), TypeError, "torch.Tensor"),
    (lambda: cross_entropy(f, torch.tensor([0, 1, 3, 0])), ValueError, "[0, 2]"),
    (lambda: cross_entropy(f, torch.tensor([1, 2, 3, 3])), ValueError, "subtract 1"),
    (lambda: cross_entropy(f, torch.tensor([0, -100, 1, 1])), ValueError, "ignore_index"),
    (lambda: cross_entropy(f, idx.float()), TypeError, "integer"),
    (lambda: cross_entropy(f.long(), idx), TypeError, "floating-point"),
    (lambda: cross_entropy(f, idx.bool()), TypeError, "integer class indices"),
    (lambda: cross_entropy(f, idx[:3]), ValueError, "(4,)"),
    (lambda: cross_entropy(f, idx[:, None]), ValueError, "squeeze(1)"),
    (lambda: cross_entropy(f, torch.full((4, 4), 0.25)), ValueError, "shape"),
    (lambda: cross_entropy(f, torch.full((4, 3), 0.5)), ValueError, "sum to 1"),
    (lambda: cross_entropy(f, torch.tensor([[1.5, -0.5, 0.0]] * 4)), ValueError, "[0, 1]"),
    (lambda: cross_entropy(torch.zeros(3), torch.tensor(0)), ValueError, "(N, C)"),
    (lambda: cross_entropy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)),
     ValueError, "empty"),
    (lambda: cross_entropy(f, idx.numpy()), TypeError, "torch.Tensor"),
    (lambda: binary_cross_entropy(torch.tensor([0.5, 1.2]), torch.tensor([1.0, 0.0])),
     ValueError, "[0, 1]"),
    (lambda: binary_cross_entropy(torch.tensor([0.5, -0.1]), torch.tensor([1.0, 0.0])),
     ValueError, "with_logits"),
    (lambda: binary_cross_entropy(torch.tensor([0.5, math.nan]), torch.tensor([1.0, 0.0])),
     ValueError, "NaN"),
    (lambda: binary_cross_entropy(vec, torch.tensor([0.0, 2.0, 1.0, 0.0])), ValueError, "[0, 1]"),
    (lambda: binary_cross_entropy(vec, torch.zeros(4, 1)), ValueError, "same shape"),
    (lambda: binary_cross_entropy(vec, torch.zeros(4, dtype=torch.long)), TypeError, "floating"),
    (lambda: binary_cross_entropy(torch.zeros(0), torch.zeros(0)), ValueError, "empty"),
    (lambda: binary_cross_entropy_with_logits(vec, torch.tensor([1, 0, 1, 0])),
     TypeError, "target.float()"),
    (lambda: binary_cross_entropy_with_logits(vec.int(), vec), TypeError, "floating-point"),
    (lambda: binary_cross_entropy_with_logits(vec, torch.tensor([0.0, 3.0, 1.0, 0.0])),
     ValueError, "[0, 1]"),
    (lambda: binary_cross_entropy_with_logits(torch.zeros(4, 1), vec), ValueError, "same shape"),
    (lambda: binary_cross_entropy_with_logits(torch.zeros(0), torch.zeros(0)), ValueError, "empty"),
    (lambda: gan_discriminator_loss(torch.zeros(0), vec), ValueError, "real_logits is empty"),
    (lambda: gan_discriminator_loss(vec, torch.zeros(0, 1)), ValueError, "fake_logits is empty"),
    (lambda: gan_discriminator_loss(vec.long(), vec), TypeError, "floating-point"),
    (lambda: gan_generator_loss(torch.zeros(0)), ValueError, "empty"),
    (lambda: gan_generator_loss(vec.long()), TypeError, "floating-point"),
    (lambda: gan_generator_loss(vec, non_saturating="minimax"), TypeError, "True or False"),
]


@pytest.mark.parametrize("call,error,words", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_raises_a_message_saying_what_was_expected(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value), str(info.value)


def test_public_api_is_exported():
    for name in ("mse", "cross_entropy", "binary_cross_entropy",
                 "binary_cross_entropy_with_logits", "gan_discriminator_loss",
                 "gan_generator_loss"):
        assert name in losses.__all__ and callable(getattr(losses, name))
