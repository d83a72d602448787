"""bigmodel_lib.explain: integrated gradients against captum and against the completeness axiom."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients
from torch import nn
from transformers import BertConfig, BertForSequenceClassification, BertModel

from bigmodel_lib import explain as ex
from bigmodel_lib.models import MeanPoolClassifier

pytestmark = pytest.mark.usefixtures("one_thread")


def mlp(seed=0, d=6, k=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 16), nn.Softplus(), nn.Linear(16, k)).double()


def tiny_bert(kind="mean", seed=0):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=3)
    if kind == "mean":
        return MeanPoolClassifier(BertModel(config, add_pooling_layer=False), 3).eval()
    return BertForSequenceClassification(config).eval()


# ---------------------------------------------------------------- quadrature
@pytest.mark.parametrize("method", ex.METHODS)
def test_path_points_integrate_polynomials(method):
    alphas, weights = ex.path_points(40, method)
    assert len(alphas) == len(weights) == 40 and ((alphas >= 0) & (alphas <= 1)).all()
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    exact = {"gausslegendre": 1e-12, "riemann_trapezoid": 1e-3, "riemann_middle": 1e-3}.get(method, 0.03)
    assert np.sum(weights * alphas**3) == pytest.approx(0.25, abs=exact)


def test_path_points_bad_input():
    with pytest.raises(ValueError, match="steps"):
        ex.path_points(0)
    with pytest.raises(ValueError, match="method"):
        ex.path_points(10, "simpson")
    with pytest.raises(ValueError, match="steps >= 2"):
        ex.path_points(1, "riemann_trapezoid")


# ---------------------------------------------------------------- against captum
@pytest.mark.parametrize("method", ["gausslegendre", "riemann_left", "riemann_right", "riemann_middle"])
@pytest.mark.parametrize("seed", range(3))
def test_integrated_gradients_equal_captum(method, seed):
    model = mlp(seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 6, generator=g, dtype=torch.float64)
    base = torch.randn(4, 6, generator=g, dtype=torch.float64) * 0.1
    target = [0, 2, 1, 2]
    ours = ex.integrated_gradients(model, x, base, target=target, steps=30, method=method)
    theirs = IntegratedGradients(model).attribute(x, base, target=target, n_steps=30, method=method)
    # captum rounds the Riemann points to float32 (torch.linspace): agreement to ~1e-7
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)


def test_trapezoid_differs_from_captum_by_its_step_size():
    # captum's trapezoid uses steps of 1/n (weights summing to (n-1)/n); the rule is 1/(n-1)
    model, n = mlp(), 20
    x = torch.randn(2, 6, dtype=torch.float64)
    ours = ex.integrated_gradients(model, x, target=1, steps=n, method="riemann_trapezoid")
    theirs = IntegratedGradients(model).attribute(x, target=1, n_steps=n, method="riemann_trapezoid")
    torch.testing.assert_close(ours * (n - 1) / n, theirs, rtol=1e-5, atol=1e-7)


def test_default_baseline_and_internal_batches_change_nothing():
    model = mlp(1)
    x = torch.randn(3, 6, dtype=torch.float64)
    whole = ex.integrated_gradients(model, x, target=2, steps=25)
    torch.testing.assert_close(whole, ex.integrated_gradients(model, x, 0.0, target=2, steps=25,
                                                              internal_batch_size=7), rtol=1e-12, atol=1e-14)
    theirs = IntegratedGradients(model).attribute(x, target=2, n_steps=25)
    torch.testing.assert_close(whole, theirs, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- axioms
@pytest.mark.parametrize("seed", range(3))
def test_completeness_within_one_percent(seed):
    model = mlp(seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(5, 6, generator=g, dtype=torch.float64) * 2
    target = torch.tensor([0, 1, 2, 0, 1])
    for method, steps in [("gausslegendre", 32), ("riemann_trapezoid", 200), ("riemann_middle", 200)]:
        attributions = ex.integrated_gradients(model, x, target=target, steps=steps, method=method)
        with torch.no_grad():
            pick = target[:, None]
            gap = model(x).gather(1, pick)[:, 0] - model(torch.zeros_like(x)).gather(1, pick)[:, 0]
        assert torch.allclose(attributions.sum(dim=1), gap, rtol=0.01, atol=1e-6), method
    # a left Riemann sum with only 2 steps misses: the check can fail
    coarse = ex.integrated_gradients(model, x, target=target, steps=2, method="riemann_left")
    assert not torch.allclose(coarse.sum(dim=1), gap, rtol=0.01, atol=1e-6)


def test_linear_model_gets_weight_times_difference():
    torch.manual_seed(0)
    linear = nn.Linear(4, 2).double()
    x, base = torch.randn(3, 4, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    attributions = ex.integrated_gradients(linear, x, base, target=1, steps=3)
    torch.testing.assert_close(attributions, (x - base) * linear.weight[1].detach(), rtol=1e-12, atol=1e-12)
    # a feature equal to its baseline gets nothing (IG's "dummy" property)
    assert (ex.integrated_gradients(linear, x, x, target=0) == 0).all()


def test_scalar_output_needs_no_target():
    x = torch.randn(2, 3, dtype=torch.float64)
    square = lambda z: (z**2).sum(dim=1)
    torch.testing.assert_close(ex.integrated_gradients(square, x, steps=8), x**2, rtol=1e-12, atol=1e-12)


def test_bad_input():
    model = mlp()
    x = torch.randn(2, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="target="):
        ex.integrated_gradients(model, x)
    with pytest.raises(ValueError, match="target must be in 0..2"):
        ex.integrated_gradients(model, x, target=3)
    with pytest.raises(ValueError, match="one per example"):
        ex.integrated_gradients(model, x, target=[0, 1, 2])
    with pytest.raises(TypeError, match="floating-point"):
        ex.integrated_gradients(model, torch.tensor([[1, 2]]), target=0)
    with pytest.raises(ValueError, match="does not fit"):
        ex.integrated_gradients(model, x, torch.zeros(5), target=0)
    with pytest.raises(ValueError, match="internal_batch_size"):
        ex.integrated_gradients(model, x, target=0, internal_batch_size=0)


# ---------------------------------------------------------------- text encoders
@pytest.mark.parametrize("kind", ["mean", "cls"])
def test_word_piece_forward_is_the_model(kind):
    model = tiny_bert(kind)
    ids = torch.tensor([2, 7, 9, 11, 13, 3])
    wf = ex.word_piece_forward(model, ids)
    x = wf.embed(ids)
    assert x.shape == (1, 6, 16)
    with torch.no_grad():
        torch.testing.assert_close(wf.forward(x), model(input_ids=ids[None]).logits)
        # a batch of different embeddings gives different rows, and the hook is gone afterwards
        two = wf.forward(torch.cat([x, wf.embed(torch.tensor([2, 0, 0, 0, 0, 3]))]))
    assert not torch.allclose(two[0], two[1])
    assert not ex._word_embeddings(model)._forward_hooks


def test_integrated_gradients_on_word_pieces_equal_captum_and_are_complete():
    model = tiny_bert()
    ids = torch.tensor([2, 7, 9, 11, 13, 3])
    wf = ex.word_piece_forward(model, ids)
    x, base = wf.embed(ids), wf.embed(torch.tensor([2, 0, 0, 0, 0, 3]))
    ours = ex.integrated_gradients(wf.forward, x, base, target=1, steps=40)
    theirs = IntegratedGradients(wf.forward).attribute(x, base, target=1, n_steps=40)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-6)
    with torch.no_grad():
        gap = float(wf.forward(x)[0, 1] - wf.forward(base)[0, 1])
    assert float(ours.sum()) == pytest.approx(gap, rel=0.01)
    assert (ours[0, [0, -1]] == 0).all()  # [CLS] and [SEP] equal their baseline


def test_attention_weights():
    model = tiny_bert()
    before = model.encoder.config._attn_implementation
    ids = torch.tensor([2, 7, 9, 3, 0, 0])
    mask = torch.tensor([1, 1, 1, 1, 0, 0])
    weights = ex.attention_weights(model, ids, mask)
    assert weights.shape == (2, 2, 6, 6)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 6))
    assert weights[..., 4:].abs().max() < 1e-6  # padding gets no attention
    assert model.encoder.config._attn_implementation == before  # the model is left as it was


def test_word_piece_forward_bad_input():
    model = tiny_bert()
    with pytest.raises(ValueError, match="attention_mask"):
        ex.word_piece_forward(model, torch.tensor([2, 7, 3]), torch.tensor([1, 1]))
    wf = ex.word_piece_forward(model, torch.tensor([2, 7, 3]))
    with pytest.raises(ValueError, match="shape \\(m, 3, d\\)"):
        wf.forward(torch.zeros(1, 4, 16))
    with pytest.raises(ValueError, match="length 2"):
        wf.embed(torch.tensor([2, 3]))
    with pytest.raises(TypeError, match="BERT-style"):
        ex.word_piece_forward(mlp(), torch.tensor([1]))


def test_plot_token_scores():
    tokens = ["[CLS]", "stocks", "fall", "as", "oil", "prices", "soar", "[SEP]"] * 3
    ax = ex.plot_token_scores(tokens, np.linspace(-1, 1, len(tokens)), title="demo", width=30)
    assert [t.get_text() for t in ax.texts] == tokens
    assert len({round(t.get_position()[1]) for t in ax.texts}) > 1  # wrapped onto several lines
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="one score per token"):
        ex.plot_token_scores(tokens, [0.1])
