"""Explanations, checked: integrated gradients from scratch (chapter 11).

``integrated_gradients`` attributes a model's output ``F(x)`` to the features of ``x``
(Sundararajan, Taly & Yan 2017): for each feature ``j``, with a baseline ``x'``,

    IG_j(x) = (x_j - x'_j) * integral_0^1 dF(x' + a (x - x')) / dx_j  da,

the integral done by a quadrature rule of ``steps`` points. By the fundamental theorem of
calculus for path integrals the attributions add up to ``F(x) - F(x')`` (*completeness*),
which is how the notebook checks them; ``tests/test_explain.py`` compares them with captum.

For a text encoder the features are the word-piece embeddings: ``word_piece_forward``
turns a BERT-style classifier into a function of the embeddings of one text, and
``attention_weights`` returns what its attention heads looked at, for comparison.
``plot_token_scores`` draws word pieces coloured by a score (the chapter's widget).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

__all__ = [
    "METHODS",
    "WordPieceForward",
    "attention_weights",
    "integrated_gradients",
    "path_points",
    "plot_token_scores",
    "word_piece_forward",
]

METHODS = ("gausslegendre", "riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle")


def path_points(steps: int, method: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Points ``a_k`` in [0, 1] and weights ``w_k`` with ``sum_k w_k f(a_k) ~ integral_0^1 f(a) da``.

    ``riemann_*``: equal steps of ``1/steps`` (left ends, right ends, midpoints), or the
    trapezoid rule on ``steps`` evenly spaced points including 0 and 1;
    ``gausslegendre``: Gauss-Legendre quadrature, exact for polynomials of degree
    ``2 steps - 1`` (captum's default). The same rules as captum's ``approximation_methods``.
    """
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n = int(steps)
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return 0.5 * (nodes + 1.0), 0.5 * weights
    if method == "riemann_trapezoid":
        if n < 2:
            raise ValueError("the trapezoid rule needs steps >= 2 (both ends of the path)")
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, n), weights
    offset = {"riemann_left": 0.0, "riemann_middle": 0.5, "riemann_right": 1.0}[method]
    return (np.arange(n) + offset) / n, np.full(n, 1.0 / n)


def _targets(target: Any, batch: int) -> torch.Tensor | None:
    if target is None:
        return None
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        return torch.full((batch,), int(target), dtype=torch.long)
    t = torch.as_tensor(target, dtype=torch.long).reshape(-1)
    if len(t) != batch:
        raise ValueError(f"target must be one class index, or one per example ({batch}), got {len(t)}")
    return t


def _selected(output: torch.Tensor, target: torch.Tensor | None, what: str) -> torch.Tensor:
    """The one number per row that is being explained."""
    if target is None:
        if output.dim() == 2 and output.shape[1] == 1:
            return output[:, 0]
        if output.dim() != 1:
            raise ValueError(f"{what} returned shape {tuple(output.shape)}: name the output to explain "
                             "with target= (a class index)")
        return output
    if output.dim() != 2:
        raise ValueError(f"{what} must return (batch, classes) scores when target is given, "
                         f"got shape {tuple(output.shape)}")
    if (target < 0).any() or (target >= output.shape[1]).any():
        raise ValueError(f"target must be in 0..{output.shape[1] - 1}, got {target.tolist()}")
    return output.gather(1, target.to(output.device)[:, None])[:, 0]


def integrated_gradients(
    forward: Callable[[torch.Tensor], torch.Tensor],
    inputs: torch.Tensor,
    baseline: torch.Tensor | float | None = None,
    *,
    target: int | Sequence[int] | torch.Tensor | None = None,
    steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
) -> torch.Tensor:
    """Integrated gradients of ``forward`` at ``inputs`` against ``baseline``, from scratch.

    Args:
        forward: maps a batch ``(m, *feature_shape)`` to scores ``(m, classes)`` (or ``(m,)``).
            Put a model in ``eval()`` mode first: dropout would make the path noisy.
        inputs: a batch ``(B, *feature_shape)``; each example is explained separately.
        baseline: the reference ``x'`` (same shape as ``inputs``, or one example's shape, or a
            number); default zeros. It should mean "no information": a black image, [PAD]s.
        target: the class whose score is explained (one index, or one per example); needed
            when ``forward`` returns more than one score per row.
        steps, method: the quadrature of the path integral (see ``path_points``).
        internal_batch_size: at most this many path points go through ``forward`` at once
            (memory); default all ``steps * B``.

    Returns:
        Attributions with the shape of ``inputs``. Their sum over the features of an example
        approximates ``F(x) - F(x')`` (completeness), better with more steps.
    """
    if not isinstance(inputs, torch.Tensor) or not inputs.is_floating_point():
        raise TypeError("inputs must be a floating-point tensor (a batch of examples); for token ids, "
                        "explain their embeddings (see word_piece_forward)")
    if inputs.dim() == 0:
        raise ValueError("inputs needs a batch dimension first")
    x = inputs.detach()
    if baseline is None:
        base = torch.zeros_like(x)
    else:
        base = torch.as_tensor(baseline, dtype=x.dtype, device=x.device)
        try:
            base = torch.broadcast_to(base, x.shape)
        except RuntimeError:
            raise ValueError(f"baseline of shape {tuple(base.shape)} does not fit inputs of shape "
                             f"{tuple(x.shape)}") from None
    alphas, weights = path_points(steps, method)
    if internal_batch_size is not None and (not isinstance(internal_batch_size, int) or internal_batch_size < 1):
        raise ValueError(f"internal_batch_size must be a positive integer, got {internal_batch_size!r}")
    batch = len(x)
    target = _targets(target, batch)
    per_chunk = len(alphas) if internal_batch_size is None else max(1, internal_batch_size // batch)
    delta = x - base
    total = torch.zeros_like(x)
    for start in range(0, len(alphas), per_chunk):
        a = torch.as_tensor(alphas[start:start + per_chunk], dtype=x.dtype, device=x.device)
        w = torch.as_tensor(weights[start:start + per_chunk], dtype=x.dtype, device=x.device)
        shape = (len(a),) + (1,) * x.dim()
        points = (base.unsqueeze(0) + a.view(shape) * delta.unsqueeze(0)).reshape(-1, *x.shape[1:])
        points.requires_grad_(True)
        with torch.enable_grad():
            out = forward(points)
            if not isinstance(out, torch.Tensor) or out.shape[0] != len(points):
                raise ValueError("forward must return one row of scores per input row")
            tiled = None if target is None else target.repeat(len(a))
            chosen = _selected(out, tiled, "forward")
            (grads,) = torch.autograd.grad(chosen.sum(), points)
        total += (w.view(shape) * grads.reshape(len(a), *x.shape)).sum(dim=0)
    return delta * total


# ---------------------------------------------------------------- text encoders
def _word_embeddings(model: nn.Module) -> nn.Embedding:
    from bigmodel_lib.finetune import encoder_of

    return encoder_of(model).embeddings.word_embeddings


class WordPieceForward(NamedTuple):
    """What ``word_piece_forward`` returns."""

    embed: Callable[[torch.Tensor], torch.Tensor]  # ids (T,) -> word-piece embeddings (1, T, d)
    forward: Callable[[torch.Tensor], torch.Tensor]  # embeddings (m, T, d) -> logits (m, K)


def word_piece_forward(model: nn.Module, input_ids: torch.Tensor,
                       attention_mask: torch.Tensor | None = None) -> WordPieceForward:
    """A BERT-style classifier as a function of the word-piece embeddings of one text.

    ``forward(E)`` runs ``model`` on ``input_ids`` but with the word-embedding table's output
    replaced by ``E`` (shape ``(m, T, d)``: m variants of the text, e.g. the points of an
    integrated-gradients path), so position and segment embeddings, LayerNorm and every
    layer run as usual. ``embed(ids)`` looks ids up in the table: ``embed(input_ids)`` is
    the point to explain, ``embed(baseline_ids)`` a baseline. Works for the course's
    ``MeanPoolClassifier`` and transformers' BERT-family classifiers.
    """
    ids = torch.as_tensor(input_ids).reshape(-1)
    table = _word_embeddings(model)
    device = table.weight.device
    ids = ids.to(device)
    mask = torch.ones_like(ids) if attention_mask is None else torch.as_tensor(attention_mask).reshape(-1).to(device)
    if mask.shape != ids.shape:
        raise ValueError(f"attention_mask has {mask.numel()} positions but input_ids has {ids.numel()}")

    def embed(token_ids: torch.Tensor) -> torch.Tensor:
        token_ids = torch.as_tensor(token_ids).reshape(1, -1).to(device)
        if token_ids.shape[1] != ids.numel():
            raise ValueError(f"ids of length {token_ids.shape[1]} where {ids.numel()} were expected")
        with torch.no_grad():
            return table(token_ids).detach()

    def forward(embeddings: torch.Tensor) -> torch.Tensor:
        if embeddings.dim() != 3 or embeddings.shape[1] != ids.numel():
            raise ValueError(f"embeddings must have shape (m, {ids.numel()}, d), got {tuple(embeddings.shape)}")
        m = embeddings.shape[0]
        handle = table.register_forward_hook(lambda module, args, output: embeddings)
        try:
            out = model(input_ids=ids.expand(m, -1), attention_mask=mask.expand(m, -1))
        finally:
            handle.remove()
        return out.logits if hasattr(out, "logits") else out

    return WordPieceForward(embed, forward)


@torch.no_grad()
def attention_weights(model: nn.Module, input_ids: torch.Tensor,
                      attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Every head's attention weights for one text: shape (layers, heads, T, T).

    Row ``q`` of a head's (T, T) matrix is how query position ``q`` spreads its attention
    over the positions (it sums to 1). Runs the encoder with ``output_attentions=True``
    under the eager attention implementation (fused kernels do not return the weights).
    """
    from bigmodel_lib.finetune import encoder_of

    encoder = encoder_of(model)
    ids = torch.as_tensor(input_ids).reshape(1, -1).to(encoder.embeddings.word_embeddings.weight.device)
    mask = (torch.ones_like(ids) if attention_mask is None
            else torch.as_tensor(attention_mask).reshape(1, -1).to(ids.device))
    config = encoder.config
    before = getattr(config, "_attn_implementation", None)
    setter = getattr(encoder, "set_attn_implementation", None)
    try:
        if setter is not None:
            setter("eager")
        else:
            config._attn_implementation = "eager"
        out = encoder(input_ids=ids, attention_mask=mask, output_attentions=True)
    finally:
        if before is not None:
            if setter is not None:
                setter(before)
            else:
                config._attn_implementation = before
    if not out.attentions or out.attentions[0] is None:
        raise RuntimeError("the encoder returned no attention weights")
    return torch.stack([a[0] for a in out.attentions]).cpu()


# ---------------------------------------------------------------- drawing
def plot_token_scores(tokens: Sequence[str], scores: Any, *, ax: Any = None, title: str = "",
                      width: int = 60, cmap: str = "RdBu_r") -> Any:
    """Word pieces as coloured boxes: red pushes towards the explained class, blue away.

    ``scores`` holds one number per token; colours are scaled by the largest ``|score|``.
    Tokens flow left to right and wrap after about ``width`` characters. Returns the axes.
    """
    import matplotlib.pyplot as plt

    s = np.asarray(scores.detach().cpu() if isinstance(scores, torch.Tensor) else scores, dtype=float)
    if s.shape != (len(tokens),):
        raise ValueError(f"one score per token needed: {len(tokens)} tokens, scores of shape {s.shape}")
    scale = float(np.abs(s).max()) or 1.0
    colours = plt.get_cmap(cmap)
    fontsize = 11
    if ax is None:
        rows = max(1, sum(len(t) + 1 for t in tokens) // width + 1)
        _, ax = plt.subplots(figsize=(0.1 * width + 0.5, 0.45 * rows + 0.6))
    # one x unit = one monospace character (about 0.6 em wide) at this axes' width
    axes_inches = ax.get_position().width * ax.figure.get_figwidth()
    fit = max(10, int(axes_inches / (0.6 * fontsize / 72)))
    width = min(width, fit - 1)
    lines, line, used = [], [], 0
    for token, score in zip(tokens, s, strict=True):
        if line and used + len(token) > width:
            lines.append(line)
            line, used = [], 0
        line.append((token, score))
        used += len(token) + 1
    lines.append(line)
    for row, items in enumerate(lines):
        x = 0
        for token, score in items:
            value = 0.5 + 0.5 * score / scale
            ax.text(x, -row, token, family="monospace", fontsize=fontsize, va="center",
                    bbox=dict(boxstyle="round,pad=0.25", facecolor=colours(value), edgecolor="none"),
                    color="white" if abs(value - 0.5) > 0.35 else "black")
            x += len(token) + 1
    ax.set(xlim=(-0.5, fit - 0.5), ylim=(-len(lines) + 0.4, 0.6))
    ax.axis("off")
    if title:
        ax.set_title(title, loc="left")
    return ax
