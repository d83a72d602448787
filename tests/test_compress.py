"""bigmodel_lib.compress: int8 dynamic quantization from the formula, distillation loss."""

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from bigmodel_lib.compress import (
    Int8DynamicLinear,
    distillation_loss,
    model_size_bytes,
    quantize_dynamic_int8,
    quantize_rows,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def test_quantize_rows_error_is_at_most_half_a_step():
    x = torch.randn(20, 33) * torch.logspace(-3, 2, 20).unsqueeze(1)
    x[3] = 0.0
    q, scale = quantize_rows(x)
    assert q.dtype == torch.int8 and scale.shape == (20, 1)
    assert q.abs().max() == 127  # every non-zero row uses the whole range
    assert ((q.float() * scale - x).abs() <= scale / 2 + 1e-7).all()
    assert torch.equal(q[3], torch.zeros(33, dtype=torch.int8))


def test_int8_linear_matches_its_formula_and_is_close_to_float():
    torch.manual_seed(0)
    linear = nn.Linear(48, 24)
    layer = Int8DynamicLinear.from_linear(linear)
    x = torch.randn(2, 5, 48)
    w_q, s_w = quantize_rows(linear.weight.detach())
    x_q, s_x = quantize_rows(x.reshape(-1, 48))
    expected = (x_q.double() @ w_q.double().t()) * s_x.double() * s_w.double().t() + linear.bias.double()
    torch.testing.assert_close(layer(x).double(), expected.reshape(2, 5, 24), rtol=1e-5, atol=1e-5)
    reference = linear(x).detach()
    relative = (layer(x) - reference).norm() / reference.norm()
    assert relative < 0.02


def test_no_deprecation_warning_and_a_four_times_smaller_encoder():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 256), nn.GELU(), nn.Linear(256, 64), nn.Linear(64, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch.ao.quantization would raise a DeprecationWarning here
        small = quantize_dynamic_int8(model)
        small(torch.randn(4, 64))
    assert isinstance(small[0], Int8DynamicLinear) and isinstance(small[2], Int8DynamicLinear)
    assert isinstance(small[3], Int8DynamicLinear) and isinstance(model[0], nn.Linear)  # a copy
    assert model_size_bytes(small) < 0.3 * model_size_bytes(model)
    kept = quantize_dynamic_int8(model, skip=("3",))
    assert isinstance(kept[3], nn.Linear)


def test_quantized_accuracy_within_one_point_of_float():
    # a small classifier trained on a fixed set of 4 Gaussian blobs in 32 dimensions
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 32, generator=gen) * 1.2
    y = torch.randint(0, 4, (4000,), generator=gen)
    x = centres[y] + torch.randn(4000, 32, generator=gen)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(150):
        rows = slice((step % 10) * 300, (step % 10) * 300 + 300)
        opt.zero_grad()
        F.cross_entropy(model(x[rows]), y[rows]).backward()
        opt.step()
    model.eval()
    test_x, test_y = x[3000:], y[3000:]
    with torch.no_grad():
        fp32 = (model(test_x).argmax(1) == test_y).float().mean().item()
        int8 = (quantize_dynamic_int8(model)(test_x).argmax(1) == test_y).float().mean().item()
    assert fp32 > 0.7  # it learned something
    assert abs(fp32 - int8) <= 0.01


def test_bad_inputs():
    with pytest.raises(ValueError, match="2-D"):
        quantize_rows(torch.zeros(3))
    with pytest.raises(TypeError, match="floating"):
        quantize_rows(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="nn.Linear"):
        Int8DynamicLinear.from_linear(nn.Conv1d(2, 2, 1))
    with pytest.raises(ValueError, match="48 features"):
        Int8DynamicLinear(48, 2)(torch.zeros(3, 5))
    with pytest.raises(ValueError, match="no nn.Linear"):
        quantize_dynamic_int8(nn.ReLU())


def test_distillation_loss_is_hintons_formula():
    torch.manual_seed(0)
    student, teacher, labels = torch.randn(6, 4), torch.randn(6, 4), torch.randint(0, 4, (6,))
    t = 3.0
    p = F.softmax(teacher / t, -1)
    kl = (p * (p.log() - F.log_softmax(student / t, -1))).sum(-1).mean() * t * t
    expected = 0.7 * kl + 0.3 * F.cross_entropy(student, labels)
    torch.testing.assert_close(distillation_loss(student, teacher, labels, temperature=t, alpha=0.7), expected)
    assert distillation_loss(teacher, teacher, alpha=1.0).abs() < 1e-6  # copying the teacher costs nothing
    with pytest.raises(ValueError, match="labels"):
        distillation_loss(student, teacher, alpha=0.5)
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(student, teacher, labels, temperature=0)
    with pytest.raises(ValueError, match="batch, classes"):
        distillation_loss(student, teacher[:, :3], labels)
