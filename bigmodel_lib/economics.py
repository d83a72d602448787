"""What a big model costs: parameters, compute, memory, GPU-hours, dollars (chapter 01).

The arithmetic behind "capital decides who can build big models":

- ``count_parameters``: the exact count of a torch module or of a transformers config
  (built on the ``meta`` device, so a 175-billion-parameter config costs no memory);
- ``transformer_params``: the closed form, about 12·L·d² plus embeddings;
- ``training_flops``: about 6·N·D floating-point operations to train N parameters on D tokens;
- ``training_memory`` and ``activation_memory``: bytes for weights, gradients, optimizer
  state, master copies, and activations;
- ``gpu_hours``, ``wall_clock_days`` and ``training_cost``: from peak FLOP/s, utilisation
  and a price per GPU-hour (prices are inputs: they move every quarter);
- ``chinchilla_optimal`` and ``chinchilla_loss``: compute-optimal sizing, D ≈ 20·N.

GPU presets (``GPUS``) give dense 16-bit tensor-core peak FLOP/s from NVIDIA's datasheets;
``KNOWN_MODELS`` lists published parameter and token counts of real models, with sources.
A bad input (a size <= 0, a utilisation outside (0, 1], an unknown precision) raises a
ValueError saying what is allowed; a wrong type raises ``ArgumentTypeError``, which is both a
ValueError and a TypeError.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from bigmodel_lib import _args

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0

# ---------------------------------------------------------------------------------------
# Validation: every number a learner types in goes through one of these.


# Counts (layers, tokens, GPUs) may be written as floats (12.0, 3e11); amounts are positive reals.
_COUNT = dict(minimum=1, whole_floats=True, expected="a positive integer")
_POSITIVE = dict(above=0, expected="a positive, finite number")


def _finite(what: str, value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{what} overflows a float ({value!r}): the inputs are too large")
    return value


def _utilization(value: Any) -> float:
    return _args.real("utilization", value, above=0, maximum=1,
                      expected="a fraction in (0, 1] (e.g. 0.4 for 40% of peak)")


def _choice(name: str, value: Any, allowed: dict, synonyms: dict | None = None) -> str:
    key = value.strip().lower() if isinstance(value, str) else value
    if isinstance(key, Hashable):
        key = (synonyms or {}).get(key, key)
    if not isinstance(key, Hashable) or key not in allowed:
        message = f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}"
        if synonyms:
            examples = [repr(k) for k in synonyms if isinstance(k, str)][:4]
            message += f" (or a synonym such as {', '.join(examples)})"
        raise ValueError(message)
    return key


def _synonyms(**names: tuple[str, ...]):
    """Accept other spellings of keyword arguments (``utilisation=`` for ``utilization=``)."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for name, others in names.items():
                for other in others:
                    if other in kwargs:
                        if name in kwargs:
                            raise TypeError(f"{func.__name__}() got both {name}= and {other}=")
                        kwargs[name] = kwargs.pop(other)
            return func(*args, **kwargs)

        return wrapper

    return decorate


# ---------------------------------------------------------------------------------------
# Parameters


def count_parameters(model_or_config: Any) -> int:
    """The exact number of trainable parameters of a torch module or a transformers config.

    A module: the parameters with ``requires_grad``; a tensor shared by two layers (tied
    embeddings) counts once, as ``module.parameters()`` yields it once.

    A transformers config (``BertConfig()``, ``GPT2Config(n_layer=48, ...)``): the base model
    that ``AutoModel.from_config(config)`` builds (no task head), instantiated on the
    ``meta`` device: tensors with shapes but no storage, so no memory is spent and nothing
    is downloaded, even for a 175-billion-parameter config. ``BertConfig()`` gives 109,482,240.
    """
    if isinstance(model_or_config, torch.nn.Module):
        return sum(p.numel() for p in model_or_config.parameters() if p.requires_grad)
    try:
        from transformers import AutoModel, PretrainedConfig
    except ImportError as err:  # pragma: no cover - transformers is a dependency
        raise ImportError("counting a config needs the transformers package") from err
    if isinstance(model_or_config, PretrainedConfig):
        with torch.device("meta"):
            model = AutoModel.from_config(model_or_config)
        return count_parameters(model)
    raise _args.ArgumentTypeError(
        "count_parameters needs a torch.nn.Module or a transformers config "
        f"(e.g. BertConfig()), got {type(model_or_config).__name__}"
    )


@_synonyms(n_heads=("num_heads", "n_head", "num_attention_heads"),
           d_ff=("intermediate_size", "ffn_dim", "d_mlp", "d_hidden"))
def transformer_params(
    n_layers: int,
    d_model: int,
    vocab_size: int,
    n_ctx: int,
    *,
    n_heads: int | None = None,
    d_ff: int | None = None,
    n_token_types: int = 0,
    pooler: bool = False,
) -> int:
    """Closed-form parameter count of a BERT/GPT-style transformer (the base model, no head).

    Each of the ``n_layers`` blocks holds, with ``d = d_model`` and ``d_ff = 4d`` by default:

    - attention: Q, K, V and output projections, 4·d² weights + 4·d biases;
    - MLP: d·d_ff + d_ff·d weights + d_ff + d biases (8·d² + 5·d when d_ff = 4d);
    - two layer norms, 2·d each.

    That is 12·d² + 13·d per block when d_ff = 4d: the famous 12·L·d². Outside the blocks:
    token embeddings (vocab_size·d), learned position embeddings (n_ctx·d), token-type
    embeddings (n_token_types·d, 2 for BERT), one more layer norm (2·d: after the
    embeddings in BERT, at the end in GPT-2) and, with ``pooler``, BERT's d² + d pooler.
    The number of attention heads does not change the count (they split d): ``n_heads``
    is accepted and checked (it must divide d_model), nothing more.
    An output layer tied to the token embeddings adds nothing.

    Exact for BERT (``n_token_types=2, pooler=True``) and GPT-2 (the defaults).
    """
    L = _args.integer("n_layers", n_layers, **_COUNT)
    d = _args.integer("d_model", d_model, **_COUNT)
    V = _args.integer("vocab_size", vocab_size, **_COUNT)
    T = _args.integer("n_ctx", n_ctx, **_COUNT)
    f = 4 * d if d_ff is None else _args.integer("d_ff", d_ff, **_COUNT)
    if n_heads is not None and d % _args.integer("n_heads", n_heads, **_COUNT):
        raise ValueError(f"n_heads must divide d_model: {n_heads} heads cannot split {d}")
    types = _args.integer("n_token_types", n_token_types, minimum=0, whole_floats=True,
                          expected="a non-negative integer")
    attention = 4 * d * d + 4 * d
    mlp = 2 * d * f + f + d
    norms = 2 * (2 * d)
    embeddings = (V + T + types) * d + 2 * d
    return L * (attention + mlp + norms) + embeddings + (d * d + d if pooler else 0)


# ---------------------------------------------------------------------------------------
# Compute


def training_flops(
    n_params: float,
    n_tokens: float,
    *,
    n_layers: int | None = None,
    n_ctx: int | None = None,
    d_model: int | None = None,
) -> float:
    """Floating-point operations to train ``n_params`` parameters on ``n_tokens`` tokens: ≈ 6·N·D.

    Per token, each weight takes part in one multiply-add (2 FLOPs) in the forward pass and
    two in the backward pass (one for the gradient of the input, one for the weight's own
    gradient): 2 + 4 = 6 FLOPs per parameter per token.

    What the rule omits:

    - attention scores: Q·Kᵀ and the weighted sum of V cost 4·n_ctx·d_model FLOPs per token
      per layer forward, 12·n_layers·n_ctx·d_model with the backward pass, as full matrix
      products (what torch counts; kernels that skip the masked half of causal attention
      do half). Give ``n_layers, n_ctx, d_model`` to add this term (2.8% for GPT-3);
    - the projection onto the vocabulary when it is tied to the embeddings (compute with
      no extra parameters), while embedding look-ups cost nothing: for small models, count
      N without the embeddings;
    - activation recomputation (checkpointing re-runs the forward pass: ≈ 8·N·D in all);
    - element-wise work (layer norms, softmax, GELU, the optimizer update): small next to the
      matrix products;
    - wasted work: padding, restarts after failures, and the experiments before the final
      run, which can cost several times the run itself.
    """
    N = _args.real("n_params", n_params, **_POSITIVE)
    D = _args.real("n_tokens", n_tokens, **_POSITIVE)
    flops = 6.0 * N * D
    shape = (n_layers, n_ctx, d_model)
    if any(v is not None for v in shape):
        if any(v is None for v in shape):
            raise ValueError(
                "the attention term needs all of n_layers, n_ctx and d_model (or none of them)"
            )
        L = _args.integer("n_layers", n_layers, **_COUNT)
        T = _args.integer("n_ctx", n_ctx, **_COUNT)
        d = _args.integer("d_model", d_model, **_COUNT)
        flops += 12.0 * L * T * d * D
    return _finite("training_flops", flops)


# ---------------------------------------------------------------------------------------
# Memory

BYTES_PER_VALUE = {"fp32": 4, "bf16": 2, "fp16": 2}
"""Bytes of one number stored in each precision the course uses for training."""

OPTIMIZER_STATE_BYTES = {"sgd": 0, "momentum": 4, "adam": 8, "adamw": 8}
"""Bytes of optimizer state per parameter, kept in fp32: none for plain SGD, one velocity
for momentum, two moments (m and v) for Adam and AdamW."""

# Other names for the same precisions: "mixed" (16-bit weights with fp32 master copies, the
# default for bf16/fp16), PyTorch's dtype names and dtypes, PyTorch Lightning's strings.
PRECISION_SYNONYMS: dict[Any, str] = {
    "mixed": "bf16", "float32": "fp32", "float16": "fp16", "bfloat16": "bf16",
    "mixed-precision": "bf16", "mixed_precision": "bf16", "amp": "bf16",
    "bf16-mixed": "bf16", "bf16_mixed": "bf16", "16-mixed": "fp16", "fp16-mixed": "fp16",
    "fp16_mixed": "fp16", "16": "fp16", "half": "fp16", "32": "fp32", "32-true": "fp32",
    "float": "fp32", "single": "fp32",
    torch.float32: "fp32", torch.float16: "fp16", torch.bfloat16: "bf16",
}
OPTIMIZER_SYNONYMS = {"sgd_momentum": "momentum", "sgdm": "momentum", "sgd-momentum": "momentum",
                      "adam_w": "adamw", "adam-w": "adamw"}


class TrainingMemory(dict):
    """What ``training_memory`` returns: bytes per part, and their total.

    A dict ``{"weights", "gradients", "optimizer_states", "master_weights", "total"}`` that
    also stands for its total in arithmetic and comparisons: ``memory["total"] / 1e9``
    and ``memory / 1e9`` are both gigabytes. Other spellings of the parts work as keys
    (``"optimizer"``, ``"master"``, ``"grads"``, ...), and ``"bytes_per_param"`` gives
    ``total / n_params``.
    """

    _KEYS = {"params": "weights", "parameters": "weights", "grads": "gradients",
             "optimizer": "optimizer_states", "optimizer_state": "optimizer_states",
             "master": "master_weights", "master_copy": "master_weights",
             "master_copies": "master_weights", "total_bytes": "total", "bytes": "total"}

    def __init__(self, parts: dict[str, int], n_params: float) -> None:
        super().__init__(parts)
        self["total"] = sum(parts.values())
        self.n_params = n_params

    @property
    def total(self) -> int:
        return self["total"]

    @property
    def bytes_per_param(self) -> float:
        return self.total / self.n_params

    def __missing__(self, key: Any) -> Any:
        name = key.strip().lower() if isinstance(key, str) else key
        if name in ("bytes_per_param", "bytes_per_parameter", "per_param"):
            return self.bytes_per_param
        if name in self._KEYS:
            return self[self._KEYS[name]]
        if name in self:
            return self[name]
        raise KeyError(f"{key!r}: the parts are {', '.join(map(repr, self))}")

    @staticmethod
    def _value(other: Any) -> Any:
        return other.total if isinstance(other, TrainingMemory) else other

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dict):
            return dict.__eq__(self, other)
        if isinstance(other, numbers.Number):
            return self.total == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None  # type: ignore[assignment]

    def __lt__(self, other: Any) -> bool:
        return self.total < self._value(other)

    def __le__(self, other: Any) -> bool:
        return self.total <= self._value(other)

    def __gt__(self, other: Any) -> bool:
        return self.total > self._value(other)

    def __ge__(self, other: Any) -> bool:
        return self.total >= self._value(other)

    def __int__(self) -> int:
        return self.total

    def __float__(self) -> float:
        return float(self.total)

    def __add__(self, other: Any) -> Any:
        return self.total + self._value(other)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return self.total - self._value(other)

    def __rsub__(self, other: Any) -> Any:
        return other - self.total

    def __mul__(self, other: Any) -> Any:
        return self.total * other

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        return self.total / self._value(other)

    def __rtruediv__(self, other: Any) -> Any:
        return other / self.total

    def __floordiv__(self, other: Any) -> Any:
        return self.total // self._value(other)

    def __format__(self, spec: str) -> str:
        return format(self.total, spec) if spec else dict.__repr__(self)


@_synonyms(master_weights=("mixed_precision", "master_copy", "master_copies"))
def training_memory(
    n_params: float,
    precision: str = "bf16",
    optimizer: str = "adam",
    *,
    master_weights: bool | None = None,
) -> TrainingMemory:
    """Bytes held during training for weights, gradients, optimizer state and master copies.

    Returns ``{"weights", "gradients", "optimizer_states", "master_weights", "total"}`` in
    bytes (a ``TrainingMemory``: a dict that also acts as its total, so
    ``training_memory(1e9) == 16e9``). ``precision`` (``"fp32"``, ``"bf16"``, ``"fp16"``;
    ``"mixed"``, ``"float16"``, ``torch.bfloat16`` and the other ``PRECISION_SYNONYMS`` too)
    is how weights and gradients are stored; optimizer state is fp32
    (``OPTIMIZER_STATE_BYTES``). Mixed precision (``"bf16"``/``"fp16"``, ``master_weights``
    True by default) also keeps an fp32 master copy of the weights for the update:
    2 + 2 + 4 + 8 = 16 bytes per parameter with Adam, the same 16 as fp32 Adam
    (4 + 4 + 8). ``master_weights=False`` is pure 16-bit training (12 bytes with Adam).

    Activations are not included: they depend on batch size and sequence length, not on N
    (see ``activation_memory``). Nor are temporary buffers and fragmentation, so real usage
    is higher.
    """
    N = _args.real("n_params", n_params, **_POSITIVE)
    precision = _choice("precision", precision, BYTES_PER_VALUE, PRECISION_SYNONYMS)
    optimizer = _choice("optimizer", optimizer, OPTIMIZER_STATE_BYTES, OPTIMIZER_SYNONYMS)
    if master_weights not in (None, True, False):
        raise _args.ArgumentTypeError(f"master_weights must be True, False or None, got {master_weights!r}")
    if master_weights is None:
        master_weights = precision != "fp32"
    if master_weights and precision == "fp32":
        raise ValueError(
            "master_weights only applies to bf16/fp16: fp32 weights are the master copy"
        )
    per_value = BYTES_PER_VALUE[precision]
    parts = {
        "weights": per_value * N,
        "gradients": per_value * N,
        "optimizer_states": OPTIMIZER_STATE_BYTES[optimizer] * N,
        "master_weights": (4 * N) if master_weights else 0.0,
    }
    return TrainingMemory({name: int(round(value)) for name, value in parts.items()}, N)


ACTIVATION_RECOMPUTE = ("none", "selective", "full")


def activation_memory(
    n_layers: int,
    d_model: int,
    n_heads: int,
    seq_len: int,
    batch_size: int,
    *,
    recompute: str = "none",
) -> int:
    """Bytes of activations a transformer keeps for the backward pass (16-bit activations).

    Korthikanti et al. (2022), "Reducing Activation Recomputation in Large Transformer
    Models", without tensor or sequence parallelism. Per layer, with s = seq_len,
    b = batch_size, h = d_model, a = n_heads:

    - ``"none"``: s·b·h·(34 + 5·a·s/h): 34·s·b·h for the matrices' inputs, dropout masks and
      layer norms, plus 5·a·s²·b for the attention scores, softmax and its dropout;
    - ``"selective"``: 34·s·b·h (recompute only the attention scores);
    - ``"full"``: 2·s·b·h (keep each layer's input, recompute the rest: ≈ 8·N·D FLOPs).

    Unlike weights, activations grow with batch size and (quadratically) with sequence length.
    """
    L = _args.integer("n_layers", n_layers, **_COUNT)
    h = _args.integer("d_model", d_model, **_COUNT)
    a = _args.integer("n_heads", n_heads, **_COUNT)
    s = _args.integer("seq_len", seq_len, **_COUNT)
    b = _args.integer("batch_size", batch_size, **_COUNT)
    if recompute not in ACTIVATION_RECOMPUTE:
        allowed = ", ".join(map(repr, ACTIVATION_RECOMPUTE))
        raise ValueError(f"unknown recompute {recompute!r}; allowed: {allowed}")
    if recompute == "full":
        per_layer = 2 * s * b * h
    elif recompute == "selective":
        per_layer = 34 * s * b * h
    else:
        per_layer = 34 * s * b * h + 5 * a * s * s * b
    return L * per_layer


# ---------------------------------------------------------------------------------------
# GPUs, time and money


@dataclass(frozen=True)
class GPU:
    """A GPU preset: dense (not sparse) 16-bit tensor-core peak, memory, and where it is from."""

    name: str
    peak_flops: float  # dense FP16/BF16 tensor-core FLOP/s
    memory_gb: float  # as marketed
    year: int  # first shipped
    source: str


GPUS: dict[str, GPU] = {
    "T4": GPU("T4", 65e12, 16, 2018,
              "NVIDIA T4 datasheet: 65 TFLOPS mixed-precision FP16/FP32 (no bf16)"),
    "V100": GPU("V100", 125e12, 32, 2017,
                "NVIDIA V100 SXM2 datasheet: 125 TFLOPS tensor performance (fp16; no bf16)"),
    "A100": GPU("A100", 312e12, 80, 2020,
                "NVIDIA A100 80GB SXM datasheet: 312 TFLOPS BF16 (624 with sparsity)"),
    "H100": GPU("H100", 989e12, 80, 2022,
                "NVIDIA H100 SXM datasheet: 1,979 TFLOPS BF16 with sparsity, 989 dense"),
    "H200": GPU("H200", 989e12, 141, 2024,
                "NVIDIA H200 SXM datasheet: 1,979 TFLOPS BF16 with sparsity, 989 dense"),
}
"""Peak dense 16-bit FLOP/s of common training GPUs (datasheets as of 2024; specs do not move)."""


def get_gpu(gpu: str | GPU) -> GPU:
    """A preset by name (``"A100"``, case-insensitive) or a ``GPU`` given as is."""
    if isinstance(gpu, GPU):
        return gpu
    if isinstance(gpu, str):
        for name, preset in GPUS.items():
            if name.lower() == gpu.strip().lower():
                return preset
    raise ValueError(
        f"unknown GPU {gpu!r}; allowed: {', '.join(map(repr, GPUS))}, a GPU(...), "
        "or a peak FLOP/s number"
    )


def _peak_flops(gpu: str | GPU | float) -> float:
    if isinstance(gpu, str | GPU):
        return get_gpu(gpu).peak_flops
    kind = f"a GPU name ({', '.join(map(repr, GPUS))}), a GPU(...), or a positive number"
    return _args.real("peak FLOP/s", _args.real("gpu", gpu, finite=False, expected=kind), **_POSITIVE)


# Other spellings of the arguments of gpu_hours, wall_clock_days and training_cost.
_COST_SYNONYMS = dict(
    flops=("total_flops", "training_flops", "compute", "compute_flops", "n_flops"),
    gpu=("peak_flops", "peak_flops_per_second", "peak_flops_per_gpu", "gpu_peak_flops",
         "peak_flop_per_second", "flops_per_second", "peak"),
    utilization=("utilisation", "mfu"),
    price_per_gpu_hour=("price", "price_per_hour", "usd_per_gpu_hour", "dollars_per_gpu_hour",
                        "cost_per_gpu_hour", "gpu_hour_price"),
    n_gpus=("num_gpus", "gpus"),
)


@_synonyms(**_COST_SYNONYMS)
def gpu_hours(flops: float, gpu: str | GPU | float, utilization: float) -> float:
    """GPU-hours to perform ``flops`` on ``gpu`` running at ``utilization`` of its peak.

    hours = C / (peak FLOP/s · utilization · 3600). ``gpu`` is a preset name from ``GPUS``
    (dense 16-bit peak), a ``GPU``, or a peak in FLOP/s (``peak_flops=`` works too).
    ``utilization`` (model FLOPs utilisation, MFU; ``utilisation=`` works too) in (0, 1]:
    large training runs reach about 0.3-0.5.
    """
    C = _args.real("flops", flops, **_POSITIVE)
    return _finite("gpu_hours", C / (_peak_flops(gpu) * _utilization(utilization) * SECONDS_PER_HOUR))


@_synonyms(**_COST_SYNONYMS)
def wall_clock_days(flops: float, gpu: str | GPU | float, utilization: float, n_gpus: int) -> float:
    """Calendar days for ``n_gpus`` GPUs working together (perfect scaling assumed)."""
    return gpu_hours(flops, gpu, utilization) / _args.integer("n_gpus", n_gpus, **_COUNT) / HOURS_PER_DAY


@_synonyms(**_COST_SYNONYMS)
def training_cost(
    flops: float, gpu: str | GPU | float, utilization: float, price_per_gpu_hour: float
) -> float:
    """Dollars (or whatever currency the price is in): GPU-hours times the price of one.

    cost = C / (peak FLOP/s · utilization · 3600) · price, with the arguments of
    ``gpu_hours`` (and ``price=`` for ``price_per_gpu_hour=``).

    The price is an input: rental prices differ between providers by 3x and fall as
    hardware ages; buying hardware has its own arithmetic (power, staff, depreciation).
    """
    price = _args.real("price_per_gpu_hour", price_per_gpu_hour, **_POSITIVE)
    return _finite("training_cost", gpu_hours(flops, gpu, utilization) * price)


# ---------------------------------------------------------------------------------------
# Compute-optimal sizing

CHINCHILLA_TOKENS_PER_PARAM = 20.0


class ComputeOptimal(NamedTuple):
    """A compute-optimal size: unpack it (``n, d = chinchilla_optimal(c)``) or read its fields."""

    n_params: float
    n_tokens: float

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            if key not in self._fields:
                raise KeyError(f"{key!r}: the fields are {', '.join(map(repr, self._fields))}")
            return getattr(self, key)
        return tuple.__getitem__(self, key)


@_synonyms(compute_flops=("compute", "flops", "budget", "compute_budget", "training_flops"),
           tokens_per_param=("tokens_per_parameter", "ratio"))
def chinchilla_optimal(
    compute_flops: float, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM
) -> ComputeOptimal:
    """The compute-optimal (n_params, n_tokens) for a budget of ``compute_flops``.

    Hoffmann et al. (2022, "Chinchilla") found that parameters and tokens should grow
    together, about 20 tokens per parameter. With C = 6·N·D and D = r·N:
    N = sqrt(C / (6·r)), D = r·N. Chinchilla's own budget (5.76e23 FLOPs) gives about
    70B parameters and 1.4T tokens, which is the model they trained.
    """
    C = _args.real("compute_flops", compute_flops, **_POSITIVE)
    r = _args.real("tokens_per_param", tokens_per_param, **_POSITIVE)
    n_params = math.sqrt(C / (6.0 * r))
    return ComputeOptimal(n_params, r * n_params)




# Besiroglu et al. (2024), "Chinchilla Scaling: A replication attempt", refit of
# Hoffmann et al.'s approach 3 (the published fit's optimum disagreed with their own runs).
CHINCHILLA_LOSS_FIT = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def chinchilla_loss(n_params: float, n_tokens: float) -> float:
    """Predicted pretraining loss L(N, D) = E + A / N^alpha + B / D^beta (nats per token).

    E is the loss no model removes; the other two terms shrink with more parameters and
    more data. Constants: ``CHINCHILLA_LOSS_FIT``. Useful to see the trade-off at a fixed
    budget, not to predict any particular model's loss.
    """
    N = _args.real("n_params", n_params, **_POSITIVE)
    D = _args.real("n_tokens", n_tokens, **_POSITIVE)
    f = CHINCHILLA_LOSS_FIT
    return f["E"] + f["A"] / N ** f["alpha"] + f["B"] / D ** f["beta"]


# ---------------------------------------------------------------------------------------
# Real models


@dataclass(frozen=True)
class KnownModel:
    """A published model: parameters, training tokens and (when reported) training FLOPs."""

    name: str
    year: int
    n_params: float
    n_tokens: float
    reported_flops: float | None
    source: str


KNOWN_MODELS: tuple[KnownModel, ...] = (
    KnownModel("BERT-large", 2018, 340e6, 128e9, None,
               "Devlin et al. 2018: 1M steps of 128,000 tokens"),
    KnownModel("GPT-3", 2020, 175e9, 300e9, 3.14e23, "Brown et al. 2020, table D.1"),
    KnownModel("Gopher", 2021, 280e9, 300e9, None, "Rae et al. 2021, table 1"),
    KnownModel("Chinchilla", 2022, 70e9, 1.4e12, 5.76e23,
               "Hoffmann et al. 2022: Gopher's budget, 5.76e23 FLOPs"),
    KnownModel("PaLM", 2022, 540e9, 780e9, None, "Chowdhery et al. 2022"),
    KnownModel("LLaMA-7B", 2023, 6.7e9, 1.0e12, None, "Touvron et al. 2023, table 2"),
    KnownModel("LLaMA-65B", 2023, 65.2e9, 1.4e12, None, "Touvron et al. 2023, table 2"),
    KnownModel("Llama 2 70B", 2023, 70e9, 2.0e12, None, "Touvron et al. 2023b, table 1"),
    KnownModel("Llama 3 8B", 2024, 8e9, 15e12, None, "Meta 2024: over 15T tokens"),
    KnownModel("Llama 3.1 405B", 2024, 405e9, 15.6e12, 3.8e25,
               "Llama Team 2024, The Llama 3 Herd of Models"),
)
"""Published sizes of real models, for the chapter's compute plot (tokens as reported)."""
