"""Tests of bigmodel_lib.economics: parameter counts, FLOPs, memory, GPU-hours, cost, sizing."""

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoModel, BertConfig, GPT2Config

from bigmodel_lib.economics import (
    GPU,
    GPUS,
    KNOWN_MODELS,
    activation_memory,
    chinchilla_loss,
    chinchilla_optimal,
    count_parameters,
    get_gpu,
    gpu_hours,
    training_cost,
    training_flops,
    training_memory,
    transformer_params,
    wall_clock_days,
)

BERT_LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096)
GPT2_XL = dict(n_embd=1600, n_layer=48, n_head=25)
GPT3 = dict(n_embd=12288, n_layer=96, n_head=96, n_positions=2048)  # vocab 50257 by default

# Published exact counts of the base models (Hugging Face's BertModel / GPT2Model).
EXACT = {
    "bert-base": (BertConfig(), 109_482_240),
    "bert-large": (BertConfig(**BERT_LARGE), 335_141_888),
    "gpt2": (GPT2Config(), 124_439_808),
    "gpt2-xl": (GPT2Config(**GPT2_XL), 1_557_611_200),
}


def closed_form(config):
    """transformer_params with the sizes read from a BERT or GPT-2 config."""
    if isinstance(config, BertConfig):
        return transformer_params(
            config.num_hidden_layers, config.hidden_size, config.vocab_size,
            config.max_position_embeddings, d_ff=config.intermediate_size,
            n_token_types=config.type_vocab_size, pooler=True)
    return transformer_params(config.n_layer, config.n_embd, config.vocab_size, config.n_positions)


# --------------------------------------------------------------------------- parameters

@pytest.mark.parametrize("name", list(EXACT))
def test_count_parameters_of_configs_matches_published_counts(name):
    config, expected = EXACT[name]
    assert count_parameters(config) == expected


def test_count_parameters_of_config_equals_a_real_instantiated_model():
    config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=128, vocab_size=500)
    torch.manual_seed(0)
    real = AutoModel.from_config(config)  # on the CPU, with real storage
    assert count_parameters(config) == sum(p.numel() for p in real.parameters())


def test_count_parameters_builds_on_meta_so_gpt3_costs_no_memory():
    # 175e9 fp32 parameters would need 700 GB; on the meta device this takes well under 1 s.
    n = count_parameters(GPT2Config(**GPT3))
    assert abs(n - 175e9) / 175e9 < 0.01
    assert n == transformer_params(96, 12288, 50257, 2048)


def test_count_parameters_of_a_module_skips_frozen_and_counts_shared_once():
    embed = torch.nn.Embedding(10, 4)
    head = torch.nn.Linear(4, 10, bias=True)
    head.weight = embed.weight  # tied, as in GPT-2's output layer
    frozen = torch.nn.Linear(4, 4)
    frozen.requires_grad_(False)
    model = torch.nn.ModuleList([embed, head, frozen])
    assert count_parameters(model) == 10 * 4 + 10


def test_count_parameters_rejects_other_objects():
    with pytest.raises(TypeError, match="torch.nn.Module or a transformers config"):
        count_parameters("bert-base-uncased")
    with pytest.raises(TypeError):
        count_parameters(12)


@pytest.mark.parametrize("name", list(EXACT))
def test_transformer_params_is_exact_for_bert_and_gpt2(name):
    # Stated tolerance: none. The closed form counts every weight, bias and norm.
    config, expected = EXACT[name]
    assert closed_form(config) == expected


def test_transformer_params_for_gpt3_is_175_billion_within_half_a_percent():
    n = transformer_params(96, 12288, 50257, 2048)
    assert abs(n - 175e9) / 175e9 < 0.005
    # 12*L*d^2 dominates: the rule of thumb alone is within 1% of the full count.
    assert abs(12 * 96 * 12288**2 - n) / n < 0.01


def test_transformer_params_defaults_and_options():
    base = transformer_params(2, 8, 10, 4)
    d = 8
    assert base == 2 * (12 * d * d + 13 * d) + (10 + 4) * d + 2 * d
    assert transformer_params(2, 8, 10, 4, d_ff=32) == base  # 4*d is the default
    assert transformer_params(2, 8, 10, 4, n_token_types=2) == base + 2 * d
    assert transformer_params(2, 8, 10, 4, pooler=True) == base + d * d + d


@pytest.mark.parametrize("kwargs", [
    dict(n_layers=0), dict(n_layers=-1), dict(d_model=0), dict(vocab_size=-5),
    dict(n_ctx=0), dict(n_layers=2.5), dict(d_model="768"), dict(n_layers=True),
    dict(d_ff=0), dict(n_token_types=-1),
])
def test_transformer_params_rejects_bad_sizes(kwargs):
    args = dict(n_layers=2, d_model=8, vocab_size=10, n_ctx=4) | kwargs
    with pytest.raises(ValueError, match="must be a (positive|non-negative) integer"):
        transformer_params(**args)


# --------------------------------------------------------------------------- compute

def test_training_flops_of_gpt3_within_5_percent_of_the_paper():
    flops = training_flops(175e9, 300e9)
    assert abs(flops - 3.14e23) / 3.14e23 < 0.05


@pytest.mark.parametrize("model", [m for m in KNOWN_MODELS if m.reported_flops])
def test_training_flops_agrees_with_every_reported_budget(model):
    flops = training_flops(model.n_params, model.n_tokens)
    assert abs(flops - model.reported_flops) / model.reported_flops < 0.05


def test_training_flops_matches_torch_flop_counter_exactly():
    """Forward + backward of a tiny GPT-2, counted by torch: 6 FLOPs per matmul weight per
    token plus the attention term, to the FLOP."""
    config = GPT2Config(n_layer=2, n_embd=64, n_head=4, n_positions=32, vocab_size=100,
                        bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = AutoModel.from_config(config)
    matmul_weights = sum(p.numel() for name, p in model.named_parameters()
                         if name.endswith("weight") and p.dim() == 2 and name.startswith("h."))
    batch, seq = 3, 32
    ids = torch.randint(0, 100, (batch, seq))
    counter = FlopCounterMode(display=False)
    with counter:
        model(input_ids=ids).last_hidden_state.sum().backward()
    expected = training_flops(matmul_weights, batch * seq, n_layers=2, n_ctx=seq, d_model=64)
    assert counter.get_total_flops() == expected


def test_training_flops_attention_term_needs_all_three_sizes():
    base = training_flops(1e9, 1e9)
    assert training_flops(1e9, 1e9, n_layers=2, n_ctx=8, d_model=4) == base + 12 * 2 * 8 * 4 * 1e9
    with pytest.raises(ValueError, match="n_layers, n_ctx and d_model"):
        training_flops(1e9, 1e9, n_layers=2)


@pytest.mark.parametrize("args", [(0, 1e9), (-1e9, 1e9), (1e9, 0), (1e9, -3),
                                  (float("nan"), 1e9), (1e9, float("inf")), ("7e9", 1e9)])
def test_training_flops_rejects_bad_sizes(args):
    with pytest.raises(ValueError, match="must be a positive"):
        training_flops(*args)


# --------------------------------------------------------------------------- memory

def test_mixed_precision_adam_is_16_bytes_per_parameter():
    memory = training_memory(1_000, "bf16", "adam")
    assert memory == {"weights": 2000, "gradients": 2000, "optimizer_states": 8000,
                      "master_weights": 4000, "total": 16000}
    assert training_memory(7e9, "fp16", "adamw")["total"] == 16 * 7e9
    assert training_memory(7e9, "fp32", "adam")["total"] == 16 * 7e9
    assert training_memory(7e9, "bf16", "adam", master_weights=False)["total"] == 12 * 7e9
    assert training_memory(7e9, "fp32", "sgd")["total"] == 8 * 7e9
    assert training_memory(7e9, "BF16", "Adam") == training_memory(7e9, "bf16", "adam")


def _torch_training_bytes(optimizer_factory):
    """Bytes torch actually holds after one step: parameters, gradients, optimizer state."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 30), torch.nn.ReLU(), torch.nn.Linear(30, 5))
    optimizer = optimizer_factory(model.parameters())
    model(torch.randn(8, 20)).pow(2).mean().backward()
    optimizer.step()
    params = list(model.parameters())
    held = sum(p.numel() * p.element_size() for p in params)
    held += sum(p.grad.numel() * p.grad.element_size() for p in params)
    for p in params:  # per-parameter state tensors (not Adam's scalar step counter)
        for value in optimizer.state[p].values():
            if torch.is_tensor(value) and value.shape == p.shape:
                held += value.numel() * value.element_size()
    return count_parameters(model), held


@pytest.mark.parametrize("name, factory", [
    ("adam", lambda ps: torch.optim.Adam(ps, lr=1e-3)),
    ("adamw", lambda ps: torch.optim.AdamW(ps, lr=1e-3)),
    ("momentum", lambda ps: torch.optim.SGD(ps, lr=1e-3, momentum=0.9)),
    ("sgd", lambda ps: torch.optim.SGD(ps, lr=1e-3)),
])
def test_fp32_training_memory_matches_what_torch_holds(name, factory):
    n, held = _torch_training_bytes(factory)
    assert training_memory(n, "fp32", name)["total"] == held


@pytest.mark.parametrize("kwargs, match", [
    (dict(precision="fp64"), "allowed: 'fp32', 'bf16', 'fp16'"),
    (dict(precision="int8"), "unknown precision"),
    (dict(optimizer="lion"), "allowed: 'sgd', 'momentum', 'adam', 'adamw'"),
    (dict(precision="fp32", master_weights=True), "master_weights only applies"),
    (dict(n_params=0), "n_params must be a positive"),
    (dict(n_params=-7e9), "n_params must be a positive"),
])
def test_training_memory_rejects_bad_inputs(kwargs, match):
    args = dict(n_params=7e9, precision="bf16", optimizer="adam") | kwargs
    with pytest.raises(ValueError, match=match):
        training_memory(**args)


def test_activation_memory_follows_korthikanti_et_al():
    L, h, a, s, b = 4, 256, 8, 128, 2
    # Their per-layer inventory in bytes (16-bit activations, 1-byte dropout masks):
    attention = 11 * s * b * h + 5 * a * s * s * b  # QKV input, Q K, scores, softmax, V, ...
    mlp = 19 * s * b * h
    norms = 4 * s * b * h
    assert activation_memory(L, h, a, s, b) == L * (attention + mlp + norms)
    assert activation_memory(L, h, a, s, b, recompute="selective") == L * 34 * s * b * h
    assert activation_memory(L, h, a, s, b, recompute="full") == L * 2 * s * b * h
    # Linear in batch size, more than linear in sequence length.
    assert activation_memory(L, h, a, s, 2 * b) == 2 * activation_memory(L, h, a, s, b)
    assert activation_memory(L, h, a, 2 * s, b) > 2 * activation_memory(L, h, a, s, b)
    with pytest.raises(ValueError, match="allowed: 'none', 'selective', 'full'"):
        activation_memory(L, h, a, s, b, recompute="some")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        activation_memory(L, h, a, s, 0)


# --------------------------------------------------------------------------- time and money

def test_gpu_hours_is_flops_over_sustained_throughput():
    flops = 3.14e23
    hours = gpu_hours(flops, "A100", 0.5)
    assert hours == pytest.approx(flops / (312e12 * 0.5) / 3600, rel=1e-12)
    assert gpu_hours(flops, 312e12, 0.5) == pytest.approx(hours, rel=1e-12)
    assert gpu_hours(flops, GPUS["A100"], 0.5) == pytest.approx(hours, rel=1e-12)
    assert gpu_hours(flops, "a100", 0.5) == pytest.approx(hours, rel=1e-12)
    # Twice the utilisation or a GPU twice as fast halves the hours.
    assert gpu_hours(flops, "A100", 1.0) == pytest.approx(hours / 2, rel=1e-12)


def test_gpt3_on_1024_a100s_takes_34_days_as_narayanan_et_al_estimate():
    # Narayanan et al. 2021: 140 TFLOP/s per A100 sustained, 8*N*D with recomputation.
    flops = training_flops(175e9, 300e9) * 8 / 6
    days = wall_clock_days(flops, "A100", 140e12 / 312e12, n_gpus=1024)
    assert abs(days - 34) / 34 < 0.02


def test_training_cost_is_hours_times_price():
    flops = training_flops(7e9, 1.4e11)
    assert training_cost(flops, "H100", 0.4, 2.5) == pytest.approx(
        gpu_hours(flops, "H100", 0.4) * 2.5, rel=1e-12)
    assert training_cost(flops, "H100", 0.4, 5.0) == pytest.approx(
        2 * training_cost(flops, "H100", 0.4, 2.5), rel=1e-12)


@pytest.mark.parametrize("utilization", [0, -0.1, 1.01, 40, float("nan"), "0.4", True])
def test_utilization_outside_0_1_is_rejected(utilization):
    with pytest.raises(ValueError, match=r"utilization must be a fraction in \(0, 1\]"):
        gpu_hours(1e20, "A100", utilization)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        training_cost(1e20, "A100", utilization, 2.0)


def test_time_and_money_reject_bad_inputs():
    with pytest.raises(ValueError, match="unknown GPU 'TPU'; allowed: 'T4', 'V100'"):
        gpu_hours(1e20, "TPU", 0.4)
    with pytest.raises(ValueError, match="peak FLOP/s must be a positive"):
        gpu_hours(1e20, -1e12, 0.4)
    with pytest.raises(ValueError, match="flops must be a positive"):
        gpu_hours(0, "A100", 0.4)
    with pytest.raises(ValueError, match="price_per_gpu_hour must be a positive"):
        training_cost(1e20, "A100", 0.4, 0)
    with pytest.raises(ValueError, match="n_gpus must be a positive integer"):
        wall_clock_days(1e20, "A100", 0.4, 0)


def test_gpu_presets_are_dense_16_bit_peaks_with_sources():
    assert GPUS["A100"].peak_flops == 312e12
    assert GPUS["H100"].peak_flops == 989e12  # not the 1,979 "with sparsity"
    for name, gpu in GPUS.items():
        assert get_gpu(name) is gpu
        assert gpu.source and gpu.memory_gb > 0 and 2015 < gpu.year < 2030
    custom = GPU("mine", 100e12, 24, 2024, "made up")
    assert get_gpu(custom) is custom


# --------------------------------------------------------------------------- sizing

def test_chinchilla_optimal_satisfies_both_rules():
    for budget in (1e20, 3.14e23, 1e25):
        n, d = chinchilla_optimal(budget)
        assert 6 * n * d == pytest.approx(budget, rel=1e-12)
        assert d / n == pytest.approx(20, rel=1e-12)
    n, d = chinchilla_optimal(1e22, tokens_per_param=100)
    assert d / n == pytest.approx(100) and 6 * n * d == pytest.approx(1e22)


def test_chinchilla_optimal_recovers_chinchilla_itself():
    n, d = chinchilla_optimal(5.76e23)  # Gopher's budget, on which Chinchilla was trained
    assert abs(n - 70e9) / 70e9 < 0.02
    assert abs(d - 1.4e12) / 1.4e12 < 0.02


def test_chinchilla_loss_valley_at_a_fixed_budget_is_near_20_tokens_per_parameter():
    budget = 5.76e23
    sizes = [10 ** (9 + k / 200) for k in range(601)]  # 1B .. 1T parameters
    losses = [chinchilla_loss(n, budget / (6 * n)) for n in sizes]
    best = sizes[losses.index(min(losses))]
    assert 15 < budget / (6 * best) / best < 25
    assert chinchilla_loss(1e9, 1e12) > chinchilla_loss(1e10, 1e12) > 1.8172


@pytest.mark.parametrize("call", [
    lambda: chinchilla_optimal(0), lambda: chinchilla_optimal(-1e23),
    lambda: chinchilla_optimal(1e23, tokens_per_param=0), lambda: chinchilla_loss(0, 1e9),
])
def test_sizing_rejects_non_positive_inputs(call):
    with pytest.raises(ValueError, match="must be a positive"):
        call()


def test_known_models_are_plausible():
    names = [m.name for m in KNOWN_MODELS]
    assert len(names) == len(set(names))
    for m in KNOWN_MODELS:
        assert m.n_params > 1e8 and m.n_tokens > 1e10 and m.source
    assert math.isclose(next(m for m in KNOWN_MODELS if m.name == "GPT-3").n_params, 175e9)


# ---------------------------------------------------------------- too large or too small for a float (issue 22)
from bigmodel_lib import economics as _econ  # noqa: E402

HUGE_INT = 10**400  # a Python integer beyond a float's range


@pytest.mark.parametrize("call", [
    lambda: _econ.training_memory(1e308),
    lambda: _econ.training_memory(1e308, "fp32"),
    lambda: _econ.training_memory(5e307, "bf16", "adam"),
    lambda: _econ.training_memory(HUGE_INT),
    lambda: _econ.training_flops(HUGE_INT, 1e12),
    lambda: _econ.training_flops(1e9, HUGE_INT),
    lambda: _econ.training_flops(1e300, 1e300),
    lambda: _econ.gpu_hours(HUGE_INT, "H100", 0.4),
    lambda: _econ.gpu_hours(1e20, 5e-324, 0.4),  # peak x utilization x 3600 underflows to 0
    lambda: _econ.gpu_hours(1e20, 1e307, 0.4),  # ... or overflows
    lambda: _econ.gpu_hours(5e-324, "H100", 0.4),  # a result that underflows to 0
    lambda: _econ.wall_clock_days(1e20, "H100", 0.4, HUGE_INT),
    lambda: _econ.training_cost(1e25, "H100", 0.4, HUGE_INT),
    lambda: _econ.training_cost(1e300, "T4", 0.01, 1e300),
    lambda: _econ.chinchilla_optimal(HUGE_INT),
    lambda: _econ.chinchilla_optimal(1e300, 5e-324),
    lambda: _econ.chinchilla_loss(HUGE_INT, 1e12),
])
def test_numbers_beyond_a_float_are_clear_errors_not_overflow(call):
    with pytest.raises(ValueError, match="too large|too small|overflows|beyond a float") as info:
        call()
    assert not isinstance(info.value, OverflowError | ZeroDivisionError)


def test_training_memory_1e308_names_the_argument():
    with pytest.raises(ValueError, match=r"n_params=1e\+308 is too large.*16 bytes per parameter"):
        _econ.training_memory(1e308)
    assert _econ.training_memory(1e300)["total"] == pytest.approx(16e300)  # large, still finite


def test_large_but_finite_inputs_still_work():
    assert _econ.wall_clock_days(1e20, "H100", 0.4, 8) == pytest.approx(
        1e20 / (989e12 * 0.4 * 3600) / 8 / 24, rel=1e-12)
    assert _econ.chinchilla_optimal(1e300).n_params == pytest.approx((1e300 / 120) ** 0.5)
