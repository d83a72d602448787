"""Regularization: L1 and L2 penalties and inverted dropout (chapter 04).

- ``l1_penalty(params)`` = Σ|w|   (pushes weights to exactly zero: sparsity)
- ``l2_penalty(params)`` = Σw²    (shrinks every weight towards zero; no ½ factor)
- ``dropout(x, p)`` zeroes each element with probability p during training and
  scales the survivors by 1/(1 − p), so the expected output equals the input;
  in evaluation it is the identity. ``Dropout(p)`` is the same as a module.

Weight decay and L2: with ``weight_decay=λ``, ``torch.optim.SGD`` (and this course's
``bigmodel_lib.optim.SGD``) adds λ·w to the gradient, which is the gradient of
(λ/2)·``l2_penalty``. So ``loss + (λ/2) * l2_penalty(params)`` under plain SGD is the
same as ``weight_decay=λ``. Under Adam it is not (see AdamW, chapters 03 and 04).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from bigmodel_lib import _args

__all__ = ["l1_penalty", "l2_penalty", "dropout", "Dropout"]


def _tensors(params: Iterable[torch.Tensor] | nn.Module | torch.Tensor, name: str) -> list[torch.Tensor]:
    """The tensors to penalise: a module's parameters, one tensor, or an iterable of tensors."""
    if isinstance(params, nn.Module):
        params = params.parameters()
    elif isinstance(params, torch.Tensor):
        params = [params]
    try:
        tensors = list(params)
    except TypeError:
        raise TypeError(f"{name} expects tensors (e.g. model.parameters()), got "
                        f"{type(params).__name__}") from None
    if not tensors:
        raise ValueError(f"{name} got no tensors; note that model.parameters() is a generator "
                         "that is empty after its first use: pass the model or a list")
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} expects tensors, got an element of type {type(t).__name__}")
        if t.dtype == torch.bool or t.is_complex():
            raise TypeError(f"{name} needs real-valued (float or integer) tensors, got dtype {t.dtype}")
    return tensors


def l1_penalty(params: Iterable[torch.Tensor] | nn.Module | torch.Tensor) -> torch.Tensor:
    """The L1 penalty Σ|w| over every element of every tensor in ``params`` (chapter 04).

    ``params`` may be a module, one tensor, or an iterable of tensors such as
    ``model.parameters()``. Returns a scalar tensor that keeps the autograd graph, so
    ``(loss + lam * l1_penalty(model)).backward()`` works; its gradient is sign(w)
    (0 at w = 0, as ``torch.abs`` defines it).
    """
    return sum(t.abs().sum() for t in _tensors(params, "l1_penalty"))


def l2_penalty(params: Iterable[torch.Tensor] | nn.Module | torch.Tensor) -> torch.Tensor:
    """The L2 penalty Σw² over every element of ``params``, *without* a factor ½ (chapter 04).

    Its gradient is 2w. Optimizers' ``weight_decay=λ`` adds λ·w to the gradient,
    which is the gradient of ``(λ / 2) * l2_penalty(params)``. Accepts the same
    inputs as ``l1_penalty`` and returns a scalar tensor that keeps the graph.
    """
    return sum(t.pow(2).sum() for t in _tensors(params, "l2_penalty"))


def dropout(
    x: torch.Tensor,
    p: float,
    training: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Inverted dropout (chapter 04).

    In training, each element of ``x`` is kept with probability 1 − p and scaled by
    1/(1 − p), or set to zero with probability p:

        y = x · mask / (1 − p),   mask ~ Bernoulli(1 − p) elementwise,

    so E[y] = x and nothing needs rescaling at evaluation time, where dropout is the
    identity (``training=False`` returns ``x`` itself, as does p = 0). p = 1 drops
    everything and returns zeros (no division by zero). ``generator`` makes the mask
    reproducible; it must live on ``x``'s device.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"dropout expects a tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"dropout needs a floating-point tensor, got dtype {x.dtype}")
    p = _args.real("p", p, minimum=0, maximum=1, expected="a dropout probability in [0, 1] (a number)")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * torch.zeros_like(x)  # keeps the graph: the gradient is zero everywhere
    # the mask is drawn as torch.nn.functional.dropout draws it on the CPU, so under the
    # same seed both zero the same elements
    mask = torch.empty_like(x).bernoulli_(1 - p, generator=generator)  # 1 = kept, probability 1 − p
    return x * mask.div_(1 - p)                                          # survivors scaled by 1/(1 − p)


class Dropout(nn.Module):
    """Inverted dropout as a module: active in ``model.train()``, identity in ``model.eval()``.

    ``Dropout(p)`` behaves like ``torch.nn.Dropout(p)``; see ``dropout`` (chapter 04).
    ``generator`` (optional) makes the masks reproducible.
    """

    def __init__(self, p: float = 0.5, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.p = _args.real("p", p, minimum=0, maximum=1, expected="a dropout probability in [0, 1] (a number)")
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, training=self.training, generator=self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
