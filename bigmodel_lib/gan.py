"""A tiny GAN that learns a 1-D mixture of Gaussians (chapter 02).

The generator G turns noise z ~ N(0, I) into a number; the discriminator D gives
the logit of "this number is real". They take turns:

1. D step: raise D on real samples, lower it on G(z) (G frozen: the fakes are detached);
2. G step: move G(z) to where D says "real", using ``gan_generator_loss`` on D's
   logits for the *generated* samples.

Small enough to train in seconds on a CPU; the losses live in ``bigmodel_lib.losses``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from bigmodel_lib import _args
from bigmodel_lib.losses import gan_discriminator_loss, gan_generator_loss

__all__ = ["gan_step", "make_discriminator", "make_generator", "sample_mixture", "train_gan"]


def sample_mixture(
    n: int,
    means: Sequence[float] = (-2.0, 2.0),
    stds: Sequence[float] = (0.4, 0.4),
    weights: Sequence[float] | None = None,
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``n`` draws from a 1-D mixture of Gaussians, as a float32 tensor of shape (n, 1).

    Each draw picks component k with probability ``weights[k]`` (equal by default),
    then returns ``means[k] + stds[k] * noise``.
    """
    n = _args.integer("n", n, minimum=1, expected="a positive integer")
    if len(means) == 0 or len(means) != len(stds):
        raise ValueError(
            f"means and stds need one entry per component, got {len(means)} and {len(stds)}"
        )
    if any(s <= 0 for s in stds):
        raise ValueError(f"standard deviations must be positive, got {list(stds)}")
    weights = [1.0] * len(means) if weights is None else list(weights)
    if len(weights) != len(means) or any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError(
            f"weights must be {len(means)} non-negative numbers with a positive sum, got {weights}"
        )
    component = torch.multinomial(torch.tensor(weights, dtype=torch.float32), n,
                                  replacement=True, generator=generator)
    noise = torch.randn(n, generator=generator)
    mu = torch.tensor(means, dtype=torch.float32)[component]
    sigma = torch.tensor(stds, dtype=torch.float32)[component]
    return (mu + sigma * noise).unsqueeze(1)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


def make_generator(noise_dim: int = 4, hidden: int = 32, layers: int = 2) -> nn.Sequential:
    """G: noise (B, noise_dim) -> samples (B, 1); an MLP with LeakyReLU."""
    if noise_dim < 1 or hidden < 1 or layers < 1:
        raise ValueError(
            f"noise_dim, hidden and layers must be >= 1, got {noise_dim}, {hidden}, {layers}"
        )
    return _mlp([noise_dim] + [hidden] * layers + [1])


def make_discriminator(hidden: int = 32, layers: int = 2) -> nn.Sequential:
    """D: samples (B, 1) -> logits (B, 1) of "real"; D(x) = sigmoid(logit)."""
    if hidden < 1 or layers < 1:
        raise ValueError(f"hidden and layers must be >= 1, got {hidden}, {layers}")
    return _mlp([1] + [hidden] * layers + [1])


def _noise_dim(generator: nn.Module) -> int:
    first = next((m for m in generator.modules() if isinstance(m, nn.Linear)), None)
    if first is None:
        raise ValueError("cannot tell the generator's noise size: it has no nn.Linear layer")
    return first.in_features


def gan_step(
    generator: nn.Module,
    discriminator: nn.Module,
    real: torch.Tensor,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    *,
    non_saturating: bool = True,
) -> dict[str, float]:
    """One round of the game on a batch of real samples; returns the losses and mean D's.

    Returns ``d_loss``, ``g_loss``, ``d_real`` (mean D on real data, D's step) and
    ``d_fake`` (mean D(G(z)) seen by the generator's step).
    """
    z = torch.randn(real.shape[0], _noise_dim(generator), device=real.device)
    fake = generator(z)

    # 1. discriminator: real -> 1, fake -> 0. detach(): this step must not move G.
    real_logits = discriminator(real)
    d_loss = gan_discriminator_loss(real_logits, discriminator(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()

    # 2. generator: its loss is over GENERATED samples G(z), judged by the updated D.
    fake_logits = discriminator(fake)
    g_loss = gan_generator_loss(fake_logits, non_saturating=non_saturating)
    opt_g.zero_grad()
    g_loss.backward()  # also fills D's .grad, which opt_d.zero_grad() clears next round
    opt_g.step()

    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(real_logits).mean().item(),
        "d_fake": torch.sigmoid(fake_logits).mean().item(),
    }


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    sample_real: Callable[[int], torch.Tensor],
    *,
    steps: int = 2000,
    batch_size: int = 256,
    lr: float = 2e-3,
    betas: tuple[float, float] = (0.5, 0.999),
    non_saturating: bool = True,
    log_every: int = 20,
    live_plot=None,
    on_log: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, list[float]]:
    """Train G and D with Adam for ``steps`` rounds of ``gan_step``; return the history.

    ``sample_real(n)`` returns n real samples of shape (n, 1). Every ``log_every``
    steps the losses (averaged since the last log) go to ``live_plot.update`` and
    ``on_log(step, values)``. History keys: step, d_loss, g_loss, d_real, d_fake.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    if not isinstance(log_every, int) or log_every < 1:
        raise ValueError(f"log_every must be a positive integer, got {log_every!r}")
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr, betas=betas)
    keys = ("step", "d_loss", "g_loss", "d_real", "d_fake")
    history: dict[str, list[float]] = {key: [] for key in keys}
    running: dict[str, float] = {}
    for step in range(1, steps + 1):
        values = gan_step(generator, discriminator, sample_real(batch_size), opt_g, opt_d,
                          non_saturating=non_saturating)
        for key, value in values.items():
            running[key] = running.get(key, 0.0) + value
        if step % log_every == 0 or step == steps:
            count = log_every if step % log_every == 0 else step % log_every
            mean = {key: total / count for key, total in running.items()}
            running = {}
            history["step"].append(step)
            for key, value in mean.items():
                history[key].append(value)
            if live_plot is not None:
                live_plot.update(step, d_loss=mean["d_loss"], g_loss=mean["g_loss"])
            if on_log is not None:
                on_log(step, mean)
    return history
