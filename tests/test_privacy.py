"""bigmodel_lib.privacy against Opacus (per-sample gradients, clipping, accounting) and by hand."""

import copy
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule, PrivacyEngine
from opacus.optimizers import DPOptimizer
from sklearn.metrics import roc_auc_score, roc_curve
from torch import nn

from bigmodel_lib import privacy as pv

pytestmark = [
    pytest.mark.usefixtures("one_thread"),
    # Opacus's hooks warn that no input requires a gradient (true, and harmless here).
    pytest.mark.filterwarnings("ignore:Full backward hook is firing:UserWarning"),
    pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha:UserWarning"),
    pytest.mark.filterwarnings("ignore:Secure RNG turned off:UserWarning"),
]


def small_model(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(dtype)


def batch(seed=0, n=16, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 5, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def opacus_grad_samples(model, x, y):
    gsm = GradSampleModule(copy.deepcopy(model), loss_reduction="sum")
    F.cross_entropy(gsm(x), y, reduction="sum").backward()
    return [p.grad_sample for p in gsm.parameters() if p.requires_grad]


# ---------------------------------------------------------------- per-sample gradients
@pytest.mark.parametrize("seed", range(3))
def test_per_sample_grads_equal_opacus(seed):
    model = small_model(seed)
    x, y = batch(seed)
    ours = pv.per_sample_grads(model, F.cross_entropy, x, y)
    assert list(ours) == [name for name, _ in model.named_parameters()]
    for got, expected in zip(ours.values(), opacus_grad_samples(model, x, y), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_per_sample_grads_equal_opacus_in_float32_and_with_a_frozen_layer():
    model = small_model(dtype=torch.float32)
    model[0].requires_grad_(False)
    x, y = batch(dtype=torch.float32)
    ours = pv.per_sample_grads(model, F.cross_entropy, x, y)
    assert list(ours) == ["2.weight", "2.bias"]
    for got, expected in zip(ours.values(), opacus_grad_samples(model, x, y), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_per_sample_grads_are_each_examples_own_gradient():
    model = small_model()
    x, y = batch(n=4)
    ours = pv.per_sample_grads(model, F.cross_entropy, x, y)
    for i in range(4):
        model.zero_grad()
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            torch.testing.assert_close(ours[name][i], p.grad, atol=1e-12, rtol=0)


# ---------------------------------------------------------------- DP-SGD step
@pytest.mark.parametrize("max_grad_norm", [0.5, 1.8, 100.0])  # all, some, none clipped
def test_noiseless_step_equals_opacus(max_grad_norm):
    model = small_model()
    x, y = batch()
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    step = pv.dp_sgd_step(ours, F.cross_entropy, x, y, max_grad_norm=max_grad_norm, noise_multiplier=0.0, lr=0.5)
    gsm = GradSampleModule(theirs)
    optimizer = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=0.5), noise_multiplier=0.0,
                            max_grad_norm=max_grad_norm, expected_batch_size=len(x))
    optimizer.zero_grad()
    F.cross_entropy(gsm(x), y).backward()
    optimizer.step()
    moved = 0.0
    for a, b, start in zip(ours.parameters(), theirs.parameters(), model.parameters(), strict=True):
        # Opacus divides by (norm + 1e-6) when clipping; that is the only difference
        torch.testing.assert_close(a, b, atol=1e-8, rtol=1e-6)
        moved += float((a - start).detach().abs().sum())
    assert moved > 1e-3
    expected_share = {0.5: 1.0, 100.0: 0.0}.get(max_grad_norm)
    if expected_share is None:  # C = 1.8 clips some examples and not others
        assert 0 < step.clipped_fraction < 1
    else:
        assert step.clipped_fraction == expected_share


def test_noiseless_step_with_an_optimizer_and_expected_batch_size_equals_opacus():
    model = small_model(1)
    x, y = batch(1, n=10)
    ours, theirs = copy.deepcopy(model), copy.deepcopy(model)
    opt = torch.optim.SGD(ours.parameters(), lr=0.2, momentum=0.9)
    gsm = GradSampleModule(theirs)
    dp_opt = DPOptimizer(torch.optim.SGD(gsm.parameters(), lr=0.2, momentum=0.9), noise_multiplier=0.0,
                         max_grad_norm=0.2, expected_batch_size=16)
    for _ in range(3):
        opt.zero_grad()
        pv.dp_sgd_step(ours, F.cross_entropy, x, y, max_grad_norm=0.2, noise_multiplier=0.0, optimizer=opt,
                       batch_size=16)
        dp_opt.zero_grad()
        F.cross_entropy(gsm(x), y).backward()
        dp_opt.step()
    for a, b in zip(ours.parameters(), theirs.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-8, rtol=1e-6)


def test_clipped_per_sample_gradients_have_norm_at_most_c():
    model = small_model()
    x, y = batch()
    step = pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=0.1, noise_multiplier=0.0)
    # every example clipped to exactly C: the mean gradient has norm <= C
    norm = math.sqrt(sum(float(g.pow(2).sum()) for g in step.grads.values()))
    assert step.clipped_fraction == 1.0 and norm <= 0.1 + 1e-12
    for name, p in model.named_parameters():  # .grad holds the private gradient
        torch.testing.assert_close(p.grad, step.grads[name])


def test_noise_has_the_stated_standard_deviation():
    torch.manual_seed(0)
    model = nn.Linear(200, 50)  # 10,050 noisy numbers per step
    x, y = torch.randn(8, 200), torch.randint(0, 50, (8,))
    sigma, c, b = 1.3, 0.5, 8
    clean = pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=c, noise_multiplier=0.0).grads
    noisy = pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=c, noise_multiplier=sigma,
                           generator=torch.Generator().manual_seed(1234)).grads
    noise = torch.cat([(noisy[k] - clean[k]).flatten() for k in clean]).double() * b  # undo the average
    n = noise.numel()
    # sample std of n normals: relative standard error about 1/sqrt(2n) = 0.7%; allow 4 of them
    assert abs(float(noise.std()) / (sigma * c) - 1) < 4 / math.sqrt(2 * n)
    assert abs(float(noise.mean())) < 4 * sigma * c / math.sqrt(n)
    # the same seed gives the same noise; another seed another
    again = pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=c, noise_multiplier=sigma,
                           generator=torch.Generator().manual_seed(1234)).grads
    other = pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=c, noise_multiplier=sigma,
                           generator=torch.Generator().manual_seed(99)).grads
    assert all(torch.equal(noisy[k], again[k]) for k in noisy)
    assert not torch.equal(noisy["weight"], other["weight"])


def test_an_empty_poisson_batch_takes_a_noise_only_step():
    model = small_model()
    x, y = batch(n=0)
    step = pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=1.0, noise_multiplier=1.0, batch_size=4,
                          generator=torch.Generator().manual_seed(0))
    assert step.per_sample_norms.numel() == 0 and step.clipped_fraction == 0.0
    assert all(g.abs().sum() > 0 for g in step.grads.values())


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, message", [
    (dict(max_grad_norm=1.0, noise_multiplier=-0.1), "noise_multiplier"),
    (dict(max_grad_norm=0.0, noise_multiplier=1.0), "max_grad_norm"),
    (dict(max_grad_norm=-1.0, noise_multiplier=1.0), "max_grad_norm"),
    (dict(max_grad_norm=float("nan"), noise_multiplier=1.0), "max_grad_norm"),
    (dict(max_grad_norm=1.0, noise_multiplier=1.0, lr=0.1, optimizer="sgd"), "not both"),
    (dict(max_grad_norm=1.0, noise_multiplier=1.0, batch_size=0), "batch_size"),
])
def test_dp_sgd_step_refuses_bad_settings(kwargs, message):
    x, y = batch()
    with pytest.raises(ValueError, match=message):
        pv.dp_sgd_step(small_model(), F.cross_entropy, x, y, **kwargs)


@pytest.mark.parametrize("norm", [nn.BatchNorm1d(8), nn.SyncBatchNorm(8)])
def test_batch_norm_is_a_clear_error(norm):
    model = nn.Sequential(nn.Linear(5, 8), norm, nn.Linear(8, 3)).double()
    x, y = batch()
    with pytest.raises(ValueError, match="batch norm.*GroupNorm or nn.LayerNorm"):
        pv.per_sample_grads(model, F.cross_entropy, x, y)
    with pytest.raises(ValueError, match="batch-norm layer \\(1: "):
        pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=1.0, noise_multiplier=1.0)
    # the fix the message names works
    fixed = nn.Sequential(nn.Linear(5, 8), nn.GroupNorm(2, 8), nn.Linear(8, 3)).double()
    assert pv.per_sample_grads(fixed, F.cross_entropy, x, y)["1.weight"].shape == (16, 8)


def test_other_bad_inputs():
    model = small_model()
    x, y = batch()
    with pytest.raises(ValueError, match="16 examples but y has 15"):
        pv.per_sample_grads(model, F.cross_entropy, x, y[:15])
    with pytest.raises(ValueError, match="one number"):
        pv.per_sample_grads(model, lambda out, t: F.cross_entropy(out, t, reduction="none"), x, y)
    with pytest.raises(TypeError, match="torch tensors"):
        pv.per_sample_grads(model, F.cross_entropy, x.numpy(), y)
    with pytest.raises(ValueError, match="empty"):
        pv.dp_sgd_step(model, F.cross_entropy, x[:0], y[:0], max_grad_norm=1.0, noise_multiplier=1.0)
    model.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        pv.per_sample_grads(model, F.cross_entropy, x, y)


# ---------------------------------------------------------------- accounting
def test_epsilon_equals_opacus_privacy_engine_after_training():
    torch.manual_seed(0)
    n, batch_size, sigma, delta = 200, 20, 1.1, 1e-5
    data = torch.utils.data.TensorDataset(torch.randn(n, 5), torch.randint(0, 3, (n,)))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size)
    model = nn.Sequential(nn.Linear(5, 3))
    engine = PrivacyEngine(accountant="rdp")
    model, optimizer, loader = engine.make_private(
        module=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), data_loader=loader,
        noise_multiplier=sigma, max_grad_norm=1.0, poisson_sampling=True)
    steps = 0
    for _ in range(2):
        for xb, yb in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(xb), yb).backward()
            optimizer.step()
            steps += 1
    assert steps == 2 * n // batch_size
    expected = engine.get_epsilon(delta)
    assert pv.dp_epsilon(sigma, batch_size / n, steps, delta) == pytest.approx(expected, rel=1e-12)


def test_epsilon_behaves():
    eps = [pv.dp_epsilon(s, 0.01, 1000, 1e-5) for s in (0.7, 1.0, 2.0, 4.0)]
    assert all(a > b for a, b in zip(eps, eps[1:], strict=False))  # more noise, less epsilon
    assert pv.dp_epsilon(1.0, 0.01, 2000, 1e-5) > pv.dp_epsilon(1.0, 0.01, 1000, 1e-5)  # more steps
    assert pv.dp_epsilon(0.0, 0.01, 1000, 1e-5) == math.inf
    # PRV is the tighter accountant
    assert pv.dp_epsilon(1.0, 0.01, 1000, 1e-5, accountant="prv") < pv.dp_epsilon(1.0, 0.01, 1000, 1e-5)


@pytest.mark.parametrize("target", [0.5, 2.0, 8.0])
def test_noise_multiplier_for_a_target_epsilon_round_trips(target):
    sigma = pv.dp_noise_multiplier(target, 0.02, 500, 1e-5)
    got = pv.dp_epsilon(sigma, 0.02, 500, 1e-5)
    assert got <= target and got == pytest.approx(target, abs=0.02)


@pytest.mark.parametrize("args, message", [
    ((-1.0, 0.01, 100, 1e-5), "noise_multiplier"),
    ((1.0, 0.0, 100, 1e-5), "sample_rate"),
    ((1.0, 1.5, 100, 1e-5), "sample_rate"),
    ((1.0, 0.01, 0, 1e-5), "steps"),
    ((1.0, 0.01, 2.5, 1e-5), "steps"),
    ((1.0, 0.01, 100, 0.0), "delta"),
    ((1.0, 0.01, 100, 1.0), "delta"),
])
def test_accounting_refuses_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        pv.dp_epsilon(*args)
    with pytest.raises(ValueError):
        pv.dp_noise_multiplier(*((0.0,) + args[1:]))


# ---------------------------------------------------------------- membership inference
@pytest.mark.parametrize("seed", range(5))
def test_membership_auc_and_advantage_equal_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    members = rng.exponential(0.5, int(rng.integers(5, 60)))
    others = rng.exponential(1.0, int(rng.integers(5, 60)))
    if seed % 2:
        members, others = np.round(members, 1), np.round(others, 1)  # ties
    truth = np.r_[np.ones(len(members)), np.zeros(len(others))]
    scores = -np.r_[members, others]
    assert pv.membership_auc(members, others) == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(truth, scores)
    assert pv.membership_advantage(torch.tensor(members), others) == pytest.approx(np.max(tpr - fpr), abs=1e-12)


def test_membership_extremes():
    assert pv.membership_auc([0.01, 0.02], [1.0, 2.0, 3.0]) == 1.0
    assert pv.membership_advantage([0.01, 0.02], [1.0, 2.0, 3.0]) == 1.0
    assert pv.membership_auc([1.0, 1.0], [1.0, 1.0]) == 0.5
    rng = np.random.default_rng(0)
    same = rng.exponential(1.0, (2, 4000))
    assert abs(pv.membership_auc(*same) - 0.5) < 0.03
    with pytest.raises(ValueError, match="empty"):
        pv.membership_auc([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        pv.membership_auc([0.1, float("nan")], [1.0])


# ---------------------------------------------------------------- de-identification: text
def test_pseudonymize_text_finds_each_kind():
    text = ("Mail ada.lovelace@example.org or call +44 20 7946 0958 / (555) 123-4567; see "
            "https://example.org/u/ada?x=1. Ada Lovelace met Charles Babbage and Ada again on 2024-05-01, "
            "when shares rose 2.4 billion, 12.5 percent, in 1843.")
    out, mapping = pv.pseudonymize_text(text, names=["Ada", "Ada Lovelace", "Charles Babbage"])
    assert out == ("Mail [EMAIL_1] or call [PHONE_1] / [PHONE_2]; see [URL_1]. [NAME_1] met [NAME_2] and "
                   "[NAME_3] again on 2024-05-01, when shares rose 2.4 billion, 12.5 percent, in 1843.")
    assert mapping == {"https://example.org/u/ada?x=1": "[URL_1]", "ada.lovelace@example.org": "[EMAIL_1]",
                       "+44 20 7946 0958": "[PHONE_1]", "(555) 123-4567": "[PHONE_2]",
                       "Ada Lovelace": "[NAME_1]", "Charles Babbage": "[NAME_2]", "Ada": "[NAME_3]"}


def test_pseudonymize_text_is_consistent_and_reversible_with_the_mapping():
    first, mapping = pv.pseudonymize_text("Bob wrote to bob@example.com", names=["Bob"])
    second, mapping = pv.pseudonymize_text("bob@example.com thanked Bob and Bobby", names=["Bob"], mapping=mapping)
    assert first == "[NAME_1] wrote to [EMAIL_1]"
    assert second == "[EMAIL_1] thanked [NAME_1] and Bobby"  # whole words only
    restored = second
    for value, token in mapping.items():
        restored = restored.replace(token, value)
    assert restored == "bob@example.com thanked Bob and Bobby"


def test_pseudonymize_text_leaves_ordinary_text_alone():
    text = "Top clubs spend 2.4 billion; Oil at 48.50 dollars, up 3 percent since 2004-05-01."
    assert pv.pseudonymize_text(text) == (text, {})
    with pytest.raises(TypeError):
        pv.pseudonymize_text(None)
    with pytest.raises(TypeError, match="list of names"):
        pv.pseudonymize_text("Ada", names="Ada")


# ---------------------------------------------------------------- de-identification: tables
@pytest.fixture
def people():
    return pd.DataFrame({
        "name": ["Ann", "Ben", "Cy", "Di", "Ed", "Flo"],
        "age": [31, 37, 38, 52, 55, 71],
        "sex": ["F", "M", "M", "F", "F", "M"],
        "country": ["US", "US", "US", "Mexico", "Canada", "US"],
        "income": [1, 0, 1, 0, 1, 0],
    })


def test_k_anonymity_generalize_and_suppress(people):
    table = pv.drop_identifiers(people, ["name"])
    assert list(table.columns) == ["age", "sex", "country", "income"] and "name" in people
    assert pv.k_anonymity(table, ["age", "sex"]) == 1
    coarse = pv.generalize(table, {"age": 20, "country": {"US": "US"}})
    assert coarse["age"].tolist() == ["20-39", "20-39", "20-39", "40-59", "40-59", "60-79"]
    assert coarse["country"].tolist() == ["US", "US", "US", "other", "other", "US"]
    assert pv.k_anonymity(coarse, ["age"]) == 1  # the one person in their seventies
    assert pv.k_anonymity(coarse, ["age", "country"]) == 1
    assert pv.k_anonymity(pv.generalize(table, {"age": 50}), ["age"]) == 3
    kept = pv.suppress_small_groups(coarse, ["age", "country"], 2)
    assert len(kept) == 5 and pv.k_anonymity(kept, ["age", "country"]) >= 2
    assert pv.k_anonymity(pv.generalize(table, {"sex": lambda s: "*"}), ["sex"]) == 6
    assert pv.generalize(table, {"age": 2.5})["age"].iloc[0] == "[30, 32.5)"


def test_table_helpers_refuse_bad_input(people):
    with pytest.raises(KeyError, match="zip"):
        pv.drop_identifiers(people, ["zip"])
    with pytest.raises(KeyError, match="zip"):
        pv.k_anonymity(people, ["zip"])
    with pytest.raises(ValueError, match="not numeric"):
        pv.generalize(people, {"sex": 10})
    with pytest.raises(ValueError, match="> 0"):
        pv.generalize(people, {"age": 0})
    with pytest.raises(ValueError, match="k must be"):
        pv.suppress_small_groups(people, ["age"], 0)
    with pytest.raises(ValueError, match="empty"):
        pv.k_anonymity(people.iloc[:0], ["age"])
    with pytest.raises(TypeError, match="DataFrame"):
        pv.k_anonymity(people.to_dict(), ["age"])


def test_no_warnings_from_the_happy_path():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = small_model()
        x, y = batch()
        pv.dp_sgd_step(model, F.cross_entropy, x, y, max_grad_norm=1.0, noise_multiplier=1.0, lr=0.1)
