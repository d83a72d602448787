"""Optimizers written from their update equations (chapter 03).

Each optimizer is a ``torch.optim.Optimizer`` subclass, so it works in any torch
training loop, with learning-rate schedulers and ``state_dict()`` checkpoints. The
``step`` methods read like the equations of chapter 03, one line per equation, with
in-place tensor operations so they stay fast. Tests check that they match
``torch.optim`` step for step.

Notation: parameters θ, gradient g, learning rate η, weight decay λ, step t.

- ``SGD``:   b ← μ·b + (1 − τ)·g  (momentum μ, dampening τ),  θ ← θ − η·b
- ``Adam``:  m ← β₁·m + (1 − β₁)·g,  v ← β₂·v + (1 − β₂)·g²,
             m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ),  θ ← θ − η·m̂ / (√v̂ + ε)
- ``AdamW``: Adam, but weight decay shrinks θ directly (θ ← θ − η·λ·θ) instead of
             being added to the gradient.

``optimize_2d`` runs any of them on a function of two variables and returns the
path, for the pictures of chapter 03; ``plot_paths`` draws such paths on contours.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from bigmodel_lib import _args

__all__ = ["SGD", "Adam", "AdamW", "OPTIMIZERS", "optimize_2d", "plot_paths"]


def _check_lr(lr: Any) -> None:
    _args.real("lr", lr, above=0, expected="a number > 0 (the learning rate)")


def _check_weight_decay(weight_decay: Any) -> None:
    _args.real("weight_decay", weight_decay, minimum=0)


def _check_betas(betas: Any) -> None:
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), each in [0, 1); got {betas!r}")
    for index, beta in enumerate(betas):
        _args.real(f"betas[{index}]", beta, minimum=0, below=1,
                   expected=f"in [0, 1) (betas={tuple(betas)})")


def _check_eps(eps: Any) -> None:
    _args.real("eps", eps, above=0, expected="a number > 0 (it keeps the division finite)")


def _gradient(p: torch.Tensor, optimizer: str) -> torch.Tensor:
    grad = p.grad
    if grad.is_sparse:
        raise TypeError(f"{optimizer} does not support sparse gradients "
                        "(they come from e.g. nn.Embedding(sparse=True))")
    return grad


class _Validated(torch.optim.Optimizer):
    """Checks every parameter group's hyperparameters when the group is added."""

    def _validate(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        merged = {**self.defaults, **param_group}
        self._validate(merged)
        super().add_param_group(param_group)


class SGD(_Validated):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay.

    Per parameter, with gradient g (plus λ·θ when ``weight_decay`` = λ > 0)::

        b ← g                      on the first step (momentum buffer)
        b ← μ·b + (1 − τ)·g        afterwards (μ = momentum, τ = dampening)
        d = g + μ·b  (Nesterov)  or  d = b  (classical momentum)  or  d = g  (μ = 0)
        θ ← θ − η·d

    Matches ``torch.optim.SGD``. See chapter 03.

    Args:
        params: an iterable of tensors or of parameter-group dicts.
        lr: learning rate η > 0 (no default: there is no good universal one for SGD).
        momentum: μ in [0, 1).
        dampening: τ in [0, 1]: how much of the new gradient the buffer ignores.
        weight_decay: λ >= 0, added to the gradient as λ·θ (the gradient of λ/2·‖θ‖²).
        nesterov: look-ahead momentum; needs momentum > 0 and dampening = 0.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_lr(group["lr"])
        _args.real("momentum", group["momentum"], minimum=0, below=1, expected="in [0, 1)")
        _args.real("dampening", group["dampening"], minimum=0, maximum=1, expected="in [0, 1]")
        _check_weight_decay(group["weight_decay"])
        _args.flag("nesterov", group["nesterov"])
        if group["nesterov"] and (group["momentum"] == 0 or group["dampening"] != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']}, dampening={group['dampening']}"
            )

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu, tau = group["lr"], group["momentum"], group["dampening"]
            wd = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, "SGD")
                if wd != 0:
                    g = g.add(p, alpha=wd)                       # g ← g + λ·θ
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        b = state["momentum_buffer"] = g.clone()  # b₁ = g₁
                    else:
                        b = state["momentum_buffer"]
                        b.mul_(mu).add_(g, alpha=1 - tau)          # b ← μ·b + (1 − τ)·g
                    g = g.add(b, alpha=mu) if group["nesterov"] else b  # d = g + μ·b  or  d = b
                p.add_(g, alpha=-lr)                               # θ ← θ − η·d
        return loss


class Adam(_Validated):
    """Adam: adaptive moment estimation, with bias correction (Kingma & Ba, 2015).

    Per parameter, at step t (starting at 1), with gradient g::

        g ← g + λ·θ                        (only when weight_decay = λ > 0: an L2 term)
        m ← β₁·m + (1 − β₁)·g              first moment: running mean of g
        v ← β₂·v + (1 − β₂)·g²             second moment: running mean of g²
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)   bias correction (m and v start at 0)
        θ ← θ − η·m̂ / (√v̂ + ε)

    Matches ``torch.optim.Adam``. Note that ``weight_decay`` here is an L2 penalty
    whose gradient then goes through the adaptive scaling; ``AdamW`` decouples it.
    See chapter 03.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_lr(group["lr"])
        _check_betas(group["betas"])
        _check_eps(group["eps"])
        _check_weight_decay(group["weight_decay"])

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        name = type(self).__name__
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            wd = group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, name)
                state = self.state[p]
                if not state:
                    # step is a tensor, as in torch.optim.Adam, so checkpoints load either way
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                t = float(state["step"])
                m, v = state["exp_avg"], state["exp_avg_sq"]
                if wd != 0 and self.decoupled_weight_decay:
                    p.mul_(1 - lr * wd)                              # θ ← θ − η·λ·θ  (AdamW)
                elif wd != 0:
                    g = g.add(p, alpha=wd)                           # g ← g + λ·θ    (Adam + L2)
                m.lerp_(g, 1 - beta1)                                # m ← β₁·m + (1 − β₁)·g
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)        # v ← β₂·v + (1 − β₂)·g²
                bias1, bias2 = 1 - beta1**t, 1 - beta2**t            # m̂ = m / bias1, v̂ = v / bias2
                # θ ← θ − η·m̂ / (√v̂ + ε), with the divisions grouped as torch.optim.Adam
                # groups them, so float32 runs round identically too
                denom = (v.sqrt() / bias2**0.5).add_(eps)            # √v̂ + ε
                p.addcdiv_(m, denom, value=-lr / bias1)              # θ ← θ − (η / bias1)·m / denom
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    The same moment estimates as ``Adam``, but weight decay is applied to the
    parameters directly, θ ← θ − η·λ·θ, before the Adam step, instead of being added
    to the gradient. So every weight shrinks at the same rate λ·η, whatever the size
    of its gradients. Matches ``torch.optim.AdamW``. See chapter 03 (and chapter 04).
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)


OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "gd": SGD,  # full-batch gradient descent is SGD on an exact gradient
    "sgd": SGD,
    "adam": Adam,
    "adamw": AdamW,
}


def optimize_2d(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    start: Iterable[float],
    optimizer: str | Callable[..., torch.optim.Optimizer] = "adam",
    steps: int = 100,
    **hyper: Any,
) -> np.ndarray:
    """Minimise ``fn(x, y)`` from ``start`` with an optimizer; return the path it took.

    Args:
        fn: a function of two scalar tensors returning a scalar tensor, written with
            operations that also work on NumPy arrays (``(1 - x)**2 + 100*(y - x**2)**2``),
            so the same function can draw the contours.
        start: the starting point (x₀, y₀).
        optimizer: "gd", "sgd", "adam", "adamw" (this module's classes) or any
            ``torch.optim.Optimizer`` class, e.g. ``torch.optim.RMSprop``.
        steps: how many optimizer steps to take (>= 0).
        **hyper: the optimizer's hyperparameters, e.g. ``lr=0.01, momentum=0.9``.

    Returns:
        A float64 array of shape (steps + 1, 2): row 0 is ``start``, row t the point
        after t steps. A diverging run shows up as inf / nan rows.
    """
    if isinstance(optimizer, str):
        key = optimizer.lower()
        if key not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)} "
                             "or pass an optimizer class")
        make = OPTIMIZERS[key]
    elif callable(optimizer):
        make = optimizer
    else:
        raise TypeError(f"optimizer must be a name or an optimizer class, got {optimizer!r}")
    if make is SGD and "lr" not in hyper:
        raise ValueError(f"{optimizer!r} needs a learning rate, e.g. optimize_2d(fn, start, "
                         f"{optimizer!r}, lr=0.01)")
    steps = _args.integer("steps", steps, minimum=0)
    point = np.asarray(start, dtype=np.float64)
    if point.shape != (2,) or not np.all(np.isfinite(point)):
        raise ValueError(f"start must be two finite numbers (x0, y0), got {start!r}")

    xy = torch.tensor(point, requires_grad=True)
    opt = make([xy], **hyper)
    path = np.empty((steps + 1, 2))
    path[0] = point
    for t in range(1, steps + 1):
        opt.zero_grad()
        loss = fn(xy[0], xy[1])
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise ValueError("fn(x, y) must return a scalar tensor (one number), "
                             f"got {type(loss).__name__} {getattr(loss, 'shape', '')}")
        loss.backward()
        opt.step()
        path[t] = xy.detach().numpy()
    return path


def plot_paths(
    fn: Callable[[Any, Any], Any],
    paths: dict[str, np.ndarray],
    *,
    xlim: tuple[float, float],
    ylim: tuple[float, float],
    minimum: tuple[float, float] | None = None,
    ax: Any = None,
    title: str = "optimizer paths",
    levels: int = 30,
    log_levels: bool = True,
) -> Any:
    """Draw ``fn``'s contours over ``xlim`` × ``ylim`` and each named path on top.

    ``fn`` is evaluated on a NumPy grid, so write it with operations NumPy and torch
    share. Contour levels are log-spaced by default (valleys span many decades).
    A circle marks where each path starts, a square where it ends; ``minimum`` marks
    the optimum with a star. Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.8))
    xs = np.linspace(*xlim, 300)
    ys = np.linspace(*ylim, 300)
    X, Y = np.meshgrid(xs, ys)
    Z = np.asarray(fn(X, Y), dtype=np.float64)
    if log_levels:
        span = max(float(Z.max() - Z.min()), 1e-12)
        Z = Z - Z.min() + 1e-6 * span  # log-spaced levels need values > 0; a shift keeps the shape
        ax.contour(X, Y, Z, levels=np.geomspace(1e-5 * span, span, levels),
                   norm=LogNorm(), cmap="viridis", linewidths=0.7)
    else:
        ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.7)
    for index, (name, path) in enumerate(paths.items()):
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], "-", color=f"C{index}", lw=1.5, label=name,
                marker="." if len(path) <= 60 else None, ms=4)
        ax.plot(path[0, 0], path[0, 1], "o", color=f"C{index}", ms=6)  # start
        ax.plot(path[-1, 0], path[-1, 1], "s", color=f"C{index}", ms=6, mec="k")  # end
    if minimum is not None:
        ax.plot(*minimum, "*", color="k", ms=14, label="minimum")
    ax.set(xlim=xlim, ylim=ylim, xlabel="x", ylabel="y", title=title)
    if paths or minimum is not None:
        ax.legend(loc="best", fontsize=8)
    return ax


# --------------------------------------------------------------------------- chapter 10
# AdaGrad and RMSProp: the two adaptive methods Adam grew out of (chapter 10 compares
# them with SGD and Adam on a chapter 03 surface).


class Adagrad(_Validated):
    """AdaGrad: each weight's step shrinks with the sum of its squared gradients (Duchi et al., 2011).

    Per parameter, at step t (starting at 1), with gradient g::

        g ← g + λ·θ                        (only when weight_decay = λ > 0)
        η_t = η / (1 + (t − 1)·δ)          (δ = lr_decay; 0 keeps η fixed)
        s ← s + g²                         sum of all squared gradients so far (starts at s₀)
        θ ← θ − η_t·g / (√s + ε)

    A weight with large gradients gets small steps and a rarely-updated one keeps large
    steps; but s only grows, so every step size decays towards zero (RMSProp fixes this).
    Matches ``torch.optim.Adagrad``. See chapter 10.

    Args:
        params: an iterable of tensors or of parameter-group dicts.
        lr: learning rate η > 0.
        lr_decay: δ >= 0.
        weight_decay: λ >= 0, added to the gradient as λ·θ.
        initial_accumulator_value: s₀ >= 0, the starting value of the sum.
        eps: ε > 0 (keeps the division finite).
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_lr(group["lr"])
        _args.real("lr_decay", group["lr_decay"], minimum=0)
        _check_weight_decay(group["weight_decay"])
        _args.real("initial_accumulator_value", group["initial_accumulator_value"], minimum=0)
        _check_eps(group["eps"])

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, decay, wd, eps = group["lr"], group["lr_decay"], group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, "Adagrad")
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["sum"] = torch.full_like(p, group["initial_accumulator_value"],
                                                   memory_format=torch.preserve_format)
                state["step"] += 1
                t = float(state["step"])
                if wd != 0:
                    g = g.add(p, alpha=wd)                       # g ← g + λ·θ
                lr_t = lr / (1 + (t - 1) * decay)                # η_t = η / (1 + (t − 1)·δ)
                s = state["sum"]
                s.addcmul_(g, g, value=1)                        # s ← s + g²
                p.addcdiv_(g, s.sqrt().add_(eps), value=-lr_t)   # θ ← θ − η_t·g / (√s + ε)
        return loss


class RMSprop(_Validated):
    """RMSProp: divide by a running root-mean-square of the gradients (Hinton, 2012).

    Per parameter, with gradient g::

        g ← g + λ·θ                        (only when weight_decay = λ > 0)
        v ← α·v + (1 − α)·g²               running mean of g² (AdaGrad's sum, but forgetting)
        m ← α·m + (1 − α)·g                (centered only: running mean of g)
        r = √(v − m²) + ε  (centered)  or  r = √v + ε
        b ← μ·b + g / r,  θ ← θ − η·b      (momentum μ > 0)   or   θ ← θ − η·g / r

    Matches ``torch.optim.RMSprop``. Adam is RMSProp with momentum on g instead of on
    g / r, plus bias correction. See chapter 10.

    Args:
        params: an iterable of tensors or of parameter-group dicts.
        lr: learning rate η > 0.
        alpha: α in [0, 1): how slowly the mean of g² forgets.
        eps: ε > 0.
        weight_decay: λ >= 0, added to the gradient as λ·θ.
        momentum: μ in [0, 1).
        centered: divide by the running standard deviation instead of the RMS.
    """

    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _validate(self, group: dict[str, Any]) -> None:
        _check_lr(group["lr"])
        _args.real("alpha", group["alpha"], minimum=0, below=1, expected="in [0, 1)")
        _check_eps(group["eps"])
        _check_weight_decay(group["weight_decay"])
        _args.real("momentum", group["momentum"], minimum=0, below=1, expected="in [0, 1)")
        _args.flag("centered", group["centered"])

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, mu = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = _gradient(p, "RMSprop")
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    if mu > 0:
                        state["momentum_buffer"] = torch.zeros_like(
                            p, memory_format=torch.preserve_format)
                    if group["centered"]:
                        state["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                if wd != 0:
                    g = g.add(p, alpha=wd)                               # g ← g + λ·θ
                v = state["square_avg"]
                v.mul_(alpha).addcmul_(g, g, value=1 - alpha)            # v ← α·v + (1 − α)·g²
                if group["centered"]:
                    m = state["grad_avg"]
                    m.lerp_(g, 1 - alpha)                                # m ← α·m + (1 − α)·g
                    r = v.addcmul(m, m, value=-1).sqrt_().add_(eps)      # r = √(v − m²) + ε
                else:
                    r = v.sqrt().add_(eps)                               # r = √v + ε
                if mu > 0:
                    b = state["momentum_buffer"]
                    b.mul_(mu).addcdiv_(g, r)                            # b ← μ·b + g / r
                    p.add_(b, alpha=-lr)                                 # θ ← θ − η·b
                else:
                    p.addcdiv_(g, r, value=-lr)                          # θ ← θ − η·g / r
        return loss


__all__ += ["Adagrad", "RMSprop"]
OPTIMIZERS.update({"adagrad": Adagrad, "rmsprop": RMSprop})
