"""bigmodel_lib.gan: the mixture sampler, one round of the game, and a short training run."""

import copy

import pytest
import torch

from bigmodel_lib import gan

pytestmark = pytest.mark.usefixtures("one_thread")


def params(module):
    return [p.detach().clone() for p in module.parameters()]


def moved(before, module):
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


def test_sample_mixture_shape_and_component_statistics():
    g = torch.Generator().manual_seed(0)
    x = gan.sample_mixture(40_000, means=(-5.0, 5.0), stds=(0.5, 1.0), weights=(1, 3), generator=g)
    assert x.shape == (40_000, 1) and x.dtype == torch.float32
    left, right = x[x < 0], x[x > 0]
    assert abs(len(left) / len(x) - 0.25) < 0.01
    assert abs(left.mean().item() + 5) < 0.02 and abs(left.std().item() - 0.5) < 0.02
    assert abs(right.mean().item() - 5) < 0.03 and abs(right.std().item() - 1.0) < 0.03


def test_sample_mixture_is_reproducible_with_a_generator():
    a = gan.sample_mixture(10, generator=torch.Generator().manual_seed(3))
    b = gan.sample_mixture(10, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs,words", [
    (dict(n=0), "positive integer"),
    (dict(n=5, means=(0.0, 1.0), stds=(1.0,)), "one entry per component"),
    (dict(n=5, means=(0.0,), stds=(0.0,)), "positive"),
    (dict(n=5, means=(0.0, 1.0), stds=(1.0, 1.0), weights=(1.0, -1.0)), "non-negative"),
])
def test_sample_mixture_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        gan.sample_mixture(**kwargs)


def test_networks_map_noise_to_samples_to_logits():
    G, D = gan.make_generator(noise_dim=3, hidden=8), gan.make_discriminator(hidden=8)
    x = G(torch.randn(5, 3))
    assert x.shape == (5, 1) and D(x).shape == (5, 1)


def test_discriminator_step_leaves_the_generator_alone_and_vice_versa():
    torch.manual_seed(0)
    G, D = gan.make_generator(), gan.make_discriminator()
    real = gan.sample_mixture(64)
    g0, d0 = params(G), params(D)
    # the generator's optimizer does nothing: only D may move
    gan.gan_step(G, D, real, torch.optim.SGD(G.parameters(), lr=0.0),
                 torch.optim.SGD(D.parameters(), lr=0.1))
    assert moved(d0, D) and not moved(g0, G)
    # the discriminator's optimizer does nothing: G moves, through D's gradient
    d1 = params(D)
    out = gan.gan_step(G, D, real, torch.optim.SGD(G.parameters(), lr=0.1),
                       torch.optim.SGD(D.parameters(), lr=0.0))
    assert moved(g0, G) and not moved(d1, D)
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert 0 < out["d_real"] < 1 and 0 < out["d_fake"] < 1


def test_minimax_and_non_saturating_steps_differ_only_in_the_generator_loss():
    torch.manual_seed(0)
    G, D = gan.make_generator(), gan.make_discriminator()
    real = gan.sample_mixture(32)
    results = []
    for non_saturating in (True, False):
        g, d = copy.deepcopy(G), copy.deepcopy(D)
        torch.manual_seed(1)
        results.append(gan.gan_step(g, d, real, torch.optim.SGD(g.parameters(), lr=0.1),
                                    torch.optim.SGD(d.parameters(), lr=0.1),
                                    non_saturating=non_saturating))
    ns, mm = results
    assert ns["d_loss"] == mm["d_loss"]
    assert ns["g_loss"] > 0 > mm["g_loss"]  # -log D  vs  log(1 - D)


def test_train_gan_learns_a_gaussian_and_logs_every_few_steps():
    torch.manual_seed(0)
    G, D = gan.make_generator(hidden=16), gan.make_discriminator(hidden=16)
    g = torch.Generator().manual_seed(0)
    updates, logged = [], []

    class Plot:
        def update(self, step, **values):
            updates.append((step, sorted(values)))

    history = gan.train_gan(G, D, lambda n: gan.sample_mixture(n, (3.0,), (0.5,), generator=g),
                            steps=310, batch_size=128, lr=2e-3, log_every=100, live_plot=Plot(),
                            on_log=lambda step, values: logged.append(step))
    assert history["step"] == [100, 200, 300, 310]
    assert logged == history["step"] and updates[0] == (100, ["d_loss", "g_loss"])
    assert all(len(v) == 4 for v in history.values())
    with torch.no_grad():
        x = G(torch.randn(5000, 4))
    assert abs(x.mean().item() - 3.0) < 0.3  # starts near 0
    assert 0.2 < x.std().item() < 1.0


@pytest.mark.parametrize("kwargs,words", [
    (dict(steps=0), "steps"), (dict(batch_size=0), "batch_size"), (dict(lr=-1.0), "lr"),
    (dict(log_every=0), "log_every"),
])
def test_train_gan_rejects_bad_arguments(kwargs, words):
    with pytest.raises(ValueError, match=words):
        gan.train_gan(gan.make_generator(), gan.make_discriminator(), gan.sample_mixture, **kwargs)
