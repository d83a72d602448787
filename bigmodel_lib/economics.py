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
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import torch

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24.0

# ---------------------------------------------------------------------------------------
# Validation: every number a learner types in goes through one of these.


def _positive(name: str, value: Any) -> float:
    """``value`` as a float, if it is a finite number > 0; otherwise a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive, finite number, got {value!r}")
    return value


def _positive_int(name: str, value: Any, *, allow_zero: bool = False) -> int:
    """``value`` as an int, if it is a whole number > 0 (or >= 0); otherwise a ValueError."""
    kind = "a non-negative" if allow_zero else "a positive"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    if not float(value).is_integer() or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {kind} integer, got {value!r}")
    return int(value)


def _utilization(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(
            f"utilization must be a fraction in (0, 1] (e.g. 0.4 for 40% of peak), got {value!r}"
        )
    return float(value)


def _choice(name: str, value: Any, allowed: dict) -> str:
    key = value.lower() if isinstance(value, str) else value
    if key not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}")
    return key


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
    raise TypeError(
        "count_parameters needs a torch.nn.Module or a transformers config "
        f"(e.g. BertConfig()), got {type(model_or_config).__name__}"
    )


def transformer_params(
    n_layers: int,
    d_model: int,
    vocab_size: int,
    n_ctx: int,
    *,
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
    The number of attention heads does not change the count (they split d).
    An output layer tied to the token embeddings adds nothing.

    Exact for BERT (``n_token_types=2, pooler=True``) and GPT-2 (the defaults).
    """
    L = _positive_int("n_layers", n_layers)
    d = _positive_int("d_model", d_model)
    V = _positive_int("vocab_size", vocab_size)
    T = _positive_int("n_ctx", n_ctx)
    f = 4 * d if d_ff is None else _positive_int("d_ff", d_ff)
    types = _positive_int("n_token_types", n_token_types, allow_zero=True)
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
    N = _positive("n_params", n_params)
    D = _positive("n_tokens", n_tokens)
    flops = 6.0 * N * D
    shape = (n_layers, n_ctx, d_model)
    if any(v is not None for v in shape):
        if any(v is None for v in shape):
            raise ValueError(
                "the attention term needs all of n_layers, n_ctx and d_model (or none of them)"
            )
        L = _positive_int("n_layers", n_layers)
        T = _positive_int("n_ctx", n_ctx)
        d = _positive_int("d_model", d_model)
        flops += 12.0 * L * T * d * D
    return flops


# ---------------------------------------------------------------------------------------
# Memory

BYTES_PER_VALUE = {"fp32": 4, "bf16": 2, "fp16": 2}
"""Bytes of one number stored in each precision the course uses for training."""

OPTIMIZER_STATE_BYTES = {"sgd": 0, "momentum": 4, "adam": 8, "adamw": 8}
"""Bytes of optimizer state per parameter, kept in fp32: none for plain SGD, one velocity
for momentum, two moments (m and v) for Adam and AdamW."""


def training_memory(
    n_params: float,
    precision: str = "bf16",
    optimizer: str = "adam",
    *,
    master_weights: bool | None = None,
) -> dict[str, int]:
    """Bytes held during training for weights, gradients, optimizer state and master copies.

    Returns ``{"weights", "gradients", "optimizer_states", "master_weights", "total"}`` in
    bytes. ``precision`` (``"fp32"``, ``"bf16"``, ``"fp16"``) is how weights and gradients are
    stored; optimizer state is fp32 (``OPTIMIZER_STATE_BYTES``). Mixed precision
    (``"bf16"``/``"fp16"``, ``master_weights`` True by default) also keeps an fp32 master copy
    of the weights for the update: 2 + 2 + 4 + 8 = 16 bytes per parameter with Adam, the
    same 16 as fp32 Adam (4 + 4 + 8). ``master_weights=False`` is pure 16-bit training.

    Activations are not included: they depend on batch size and sequence length, not on N
    (see ``activation_memory``). Nor are temporary buffers and fragmentation, so real usage
    is higher.
    """
    N = _positive("n_params", n_params)
    precision = _choice("precision", precision, BYTES_PER_VALUE)
    optimizer = _choice("optimizer", optimizer, OPTIMIZER_STATE_BYTES)
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
    memory = {name: int(round(value)) for name, value in parts.items()}
    memory["total"] = sum(memory.values())
    return memory


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
    L = _positive_int("n_layers", n_layers)
    h = _positive_int("d_model", d_model)
    a = _positive_int("n_heads", n_heads)
    s = _positive_int("seq_len", seq_len)
    b = _positive_int("batch_size", batch_size)
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
    if isinstance(gpu, numbers.Real) and not isinstance(gpu, bool):
        return _positive("peak FLOP/s", gpu)
    return get_gpu(gpu).peak_flops


def gpu_hours(flops: float, gpu: str | GPU | float, utilization: float) -> float:
    """GPU-hours to perform ``flops`` on ``gpu`` running at ``utilization`` of its peak.

    hours = C / (peak FLOP/s · utilization · 3600). ``gpu`` is a preset name from ``GPUS``
    (dense 16-bit peak), a ``GPU``, or a peak in FLOP/s. ``utilization`` (model FLOPs
    utilisation, MFU) in (0, 1]: large training runs reach about 0.3-0.5.
    """
    C = _positive("flops", flops)
    return C / (_peak_flops(gpu) * _utilization(utilization) * SECONDS_PER_HOUR)


def wall_clock_days(flops: float, gpu: str | GPU | float, utilization: float, n_gpus: int) -> float:
    """Calendar days for ``n_gpus`` GPUs working together (perfect scaling assumed)."""
    return gpu_hours(flops, gpu, utilization) / _positive_int("n_gpus", n_gpus) / HOURS_PER_DAY


def training_cost(
    flops: float, gpu: str | GPU | float, utilization: float, price_per_gpu_hour: float
) -> float:
    """Dollars (or whatever currency the price is in): GPU-hours times the price of one.

    The price is an input: rental prices differ between providers by 3x and fall as
    hardware ages; buying hardware has its own arithmetic (power, staff, depreciation).
    """
    return gpu_hours(flops, gpu, utilization) * _positive("price_per_gpu_hour", price_per_gpu_hour)


# ---------------------------------------------------------------------------------------
# Compute-optimal sizing

CHINCHILLA_TOKENS_PER_PARAM = 20.0


def chinchilla_optimal(
    compute_flops: float, tokens_per_param: float = CHINCHILLA_TOKENS_PER_PARAM
) -> tuple[float, float]:
    """The compute-optimal (n_params, n_tokens) for a budget of ``compute_flops``.

    Hoffmann et al. (2022, "Chinchilla") found that parameters and tokens should grow
    together, about 20 tokens per parameter. With C = 6·N·D and D = r·N:
    N = sqrt(C / (6·r)), D = r·N. Chinchilla's own budget (5.76e23 FLOPs) gives about
    70B parameters and 1.4T tokens, which is the model they trained.
    """
    C = _positive("compute_flops", compute_flops)
    r = _positive("tokens_per_param", tokens_per_param)
    n_params = math.sqrt(C / (6.0 * r))
    return n_params, r * n_params


# Besiroglu et al. (2024), "Chinchilla Scaling: A replication attempt", refit of
# Hoffmann et al.'s approach 3 (the published fit's optimum disagreed with their own runs).
CHINCHILLA_LOSS_FIT = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def chinchilla_loss(n_params: float, n_tokens: float) -> float:
    """Predicted pretraining loss L(N, D) = E + A / N^alpha + B / D^beta (nats per token).

    E is the loss no model removes; the other two terms shrink with more parameters and
    more data. Constants: ``CHINCHILLA_LOSS_FIT``. Useful to see the trade-off at a fixed
    budget, not to predict any particular model's loss.
    """
    N = _positive("n_params", n_params)
    D = _positive("n_tokens", n_tokens)
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
