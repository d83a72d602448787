"""Smaller and faster models for inference: int8 quantization and distillation (chapter 10).

**Dynamic int8 quantization** of linear layers, from the formula:

- each weight row (one output unit) is stored as int8 with its own scale,
  s_w = max|w| / 127,  w_q = round(w / s_w) ∈ [−127, 127]  (4x smaller than float32);
- each input row is quantized the same way *at run time* ("dynamic": its scale comes
  from the data it sees), s_x = max|x| / 127,  x_q = round(x / s_x);
- the product is computed in integers, x_q · w_qᵀ (int8 × int8 → int32: ``torch._int_mm``),
  and scaled back: y ≈ s_x · s_w · (x_q · w_qᵀ) + b.

Why not ``torch.ao.quantization.quantize_dynamic``? In torch 2.13 it is deprecated
(a DeprecationWarning on every call, pointing to the separate torchao package), and
so are the quantized tensors (``torch.qint8``) behind it. ``torch._int_mm`` (the int8
matrix product) is a plain torch operation and warns nothing.

**Knowledge distillation** (Hinton et al., 2015): a small student learns from a large
teacher's *soft targets*, the teacher's probabilities at temperature T, which say how
similar the classes are ("this Business story looks a bit like Sci/Tech"), not only
which one is right: ``distillation_loss``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["quantize_rows", "Int8DynamicLinear", "quantize_dynamic_int8", "model_size_bytes",
           "distillation_loss"]


def quantize_rows(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 quantization of each row of a 2-D tensor: ``(x_q, scale)``.

    ``scale`` has shape (rows, 1), scale = max|row| / 127 (a row of zeros gets scale 1),
    and ``x ≈ x_q * scale`` with an error of at most scale / 2 per entry.
    """
    if x.dim() != 2:
        raise ValueError(f"quantize_rows needs a 2-D tensor (rows, columns), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"quantize_rows needs floating-point values, got {x.dtype}")
    x = x.float()
    top = x.abs().amax(dim=1, keepdim=True)
    scale = torch.where(top > 0, top / 127.0, torch.ones_like(top))
    return torch.round(x / scale).clamp_(-127, 127).to(torch.int8), scale


class Int8DynamicLinear(nn.Module):
    """A linear layer with int8 weights (one scale per output) and dynamically quantized
    inputs (one scale per row), computed with an int8 × int8 → int32 product.

    Build it with ``Int8DynamicLinear.from_linear(linear)``. Inputs of any float dtype
    and any leading shape (..., in_features); the output is float32.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        # stored (out, in) row-major and used transposed: the layout torch._int_mm is fastest with
        self.register_buffer("weight_q", torch.zeros(out_features, in_features, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(out_features))
        self.register_buffer("bias", torch.zeros(out_features) if bias else None)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> Int8DynamicLinear:
        """The int8 version of a trained ``nn.Linear``."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"from_linear needs an nn.Linear, got {type(linear).__name__}")
        layer = cls(linear.in_features, linear.out_features, linear.bias is not None)
        with torch.no_grad():
            q, scale = quantize_rows(linear.weight.detach().cpu())
            layer.weight_q.copy_(q)
            layer.weight_scale.copy_(scale.squeeze(1))
            if linear.bias is not None:
                layer.bias.copy_(linear.bias.detach().float())
        return layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"expected inputs with {self.in_features} features in the last "
                             f"dimension, got shape {tuple(x.shape)}")
        rows = x.reshape(-1, self.in_features)
        x_q, x_scale = quantize_rows(rows)                     # x ≈ x_q · s_x (per row)
        acc = torch._int_mm(x_q, self.weight_q.t())           # x_q · w_qᵀ in int32
        y = acc.float() * x_scale * self.weight_scale         # y ≈ s_x · s_w · (x_q · w_qᵀ)
        if self.bias is not None:
            y = y + self.bias
        return y.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, weights=int8 per-row, inputs=int8 per-row (dynamic)")


def quantize_dynamic_int8(model: nn.Module, *, inplace: bool = False,
                          skip: tuple[str, ...] = ()) -> nn.Module:
    """``model`` with every ``nn.Linear`` replaced by ``Int8DynamicLinear`` (CPU, eval mode).

    ``skip`` names modules to keep in float (e.g. ``("classifier",)``: a tiny head
    gains nothing). Returns a copy unless ``inplace``. The model is for inference:
    the int8 layers have no gradients.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    model = model if inplace else copy.deepcopy(model)
    model.cpu().eval()
    replaced = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            if isinstance(child, nn.Linear) and not any(full == s or full.endswith("." + s)
                                                        for s in skip):
                setattr(module, child_name, Int8DynamicLinear.from_linear(child))
                replaced += 1
    if replaced == 0:
        raise ValueError(f"{type(model).__name__} has no nn.Linear layers to quantize")
    return model


def model_size_bytes(model: nn.Module) -> int:
    """Bytes of every parameter and buffer (what saving the weights takes)."""
    tensors = {id(t): t for t in [*model.parameters(), *model.buffers()]}
    return sum(t.numel() * t.element_size() for t in tensors.values())


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor,
                      labels: torch.Tensor | None = None, *, temperature: float = 2.0,
                      alpha: float = 0.5) -> torch.Tensor:
    """Hinton's distillation loss: α·T²·KL(p_T^teacher ‖ p_T^student) + (1 − α)·CE(student, labels).

    p_T = softmax(logits / T): T > 1 softens both distributions so the small
    probabilities (which classes look alike) carry signal; T² keeps the soft term's
    gradients on the scale of the hard one's. ``alpha=1`` (or ``labels=None``): soft
    targets only. The teacher's logits are treated as constants.
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError(f"student and teacher logits must both be (batch, classes), got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if labels is None and alpha < 1:
        raise ValueError("labels are needed when alpha < 1 (the hard-label part of the loss)")
    t = temperature
    soft = F.kl_div(F.log_softmax(student_logits.float() / t, dim=-1),
                    F.log_softmax(teacher_logits.detach().float() / t, dim=-1),
                    reduction="batchmean", log_target=True) * t * t
    if alpha == 1:
        return soft
    hard = F.cross_entropy(student_logits.float(), labels)
    return alpha * soft + (1 - alpha) * hard
