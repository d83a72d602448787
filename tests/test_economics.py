"""Tests of bigmodel_lib.economics: parameter counts, FLOPs, memory, GPU-hours, cost, sizing."""

import math

import numpy as np
import pytest
import torch
import transformers
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoModel, BertConfig, GPT2Config, LlamaConfig

from bigmodel_lib import economics
from bigmodel_lib._args import ArgumentTypeError
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


# ================================ independent review (was tests/test_review_economics.py)
# Review of bigmodel_lib.economics as an independent tester would call it from issue 4's text.
#
# The issue names the functions and a few figures, not every argument's name or type, so these
# tests call them the ways its text suggests: positionally and by keyword, with ints, floats
# and NumPy scalars, with configs of several model types, and with every bad input it names.


BERT_BASE = 109_482_240  # the issue's figure


# --------------------------------------------------------------------------- count_parameters

SMALL_CONFIGS = {
    "bert": lambda: transformers.BertConfig(hidden_size=32, num_hidden_layers=2,
                                            num_attention_heads=4, intermediate_size=64,
                                            vocab_size=300),
    "gpt2": lambda: transformers.GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=300,
                                            n_positions=64, bos_token_id=0, eos_token_id=0),
    "llama": lambda: transformers.LlamaConfig(hidden_size=64, intermediate_size=172,
                                              num_hidden_layers=2, num_attention_heads=4,
                                              num_key_value_heads=2, vocab_size=500),
    "llama-tied": lambda: transformers.LlamaConfig(hidden_size=64, intermediate_size=172,
                                                   num_hidden_layers=2, num_attention_heads=4,
                                                   vocab_size=500, tie_word_embeddings=True),
    "mistral": lambda: transformers.MistralConfig(hidden_size=64, intermediate_size=128,
                                                  num_hidden_layers=2, num_attention_heads=4,
                                                  num_key_value_heads=2, vocab_size=300),
    "t5 (shared embeddings)": lambda: transformers.T5Config(d_model=32, d_ff=64, num_layers=2,
                                                            num_heads=4, d_kv=8, vocab_size=300),
    "bart": lambda: transformers.BartConfig(d_model=32, encoder_layers=1, decoder_layers=1,
                                            encoder_attention_heads=4,
                                            decoder_attention_heads=4, encoder_ffn_dim=64,
                                            decoder_ffn_dim=64, vocab_size=300),
    "distilbert": lambda: transformers.DistilBertConfig(dim=32, n_layers=2, n_heads=4,
                                                        hidden_dim=64, vocab_size=300),
    "vit": lambda: transformers.ViTConfig(hidden_size=32, num_hidden_layers=2,
                                          num_attention_heads=4, intermediate_size=64,
                                          image_size=32, patch_size=8),
}


@pytest.mark.parametrize("name", list(SMALL_CONFIGS))
def test_count_parameters_of_any_automodel_config_equals_the_built_model(name):
    config = SMALL_CONFIGS[name]()
    torch.manual_seed(0)
    built = AutoModel.from_config(config)  # real storage, on the CPU
    n = count_parameters(config)
    assert n == sum(p.numel() for p in built.parameters())
    assert type(n) is int


def test_count_parameters_accepts_the_issue_keyword_and_an_auto_config():
    assert count_parameters(model_or_config=BertConfig()) == BERT_BASE
    assert count_parameters(transformers.AutoConfig.for_model("bert")) == BERT_BASE


def test_count_parameters_of_llama_7b_config_on_meta():
    # Llama 2 7B has 6,738,415,616 parameters with its untied 32000 x 4096 output layer;
    # AutoModel builds the base model without it.
    assert count_parameters(LlamaConfig()) == 6_738_415_616 - 32000 * 4096
    assert torch.empty(1).device.type == "cpu"  # the meta device did not leak out


def test_count_parameters_of_a_module_with_frozen_and_tied_parameters():
    torch.manual_seed(0)
    model = AutoModel.from_config(SMALL_CONFIGS["bert"]())
    everything = sum(p.numel() for p in model.parameters())
    frozen = sum(p.numel() for p in model.embeddings.parameters())
    model.embeddings.requires_grad_(False)
    assert count_parameters(model) == everything - frozen
    model.requires_grad_(False)
    assert count_parameters(model) == 0

    lm = transformers.GPT2LMHeadModel(SMALL_CONFIGS["gpt2"]())  # head tied to wte
    assert lm.lm_head.weight is lm.transformer.wte.weight
    assert count_parameters(lm) == count_parameters(lm.transformer)
    assert count_parameters(torch.nn.Module()) == 0


def test_count_parameters_does_not_change_the_module():
    layer = torch.nn.Linear(3, 4)
    before = [p.detach().clone() for p in layer.parameters()]
    assert count_parameters(layer) == 16
    assert all(torch.equal(a, b) for a, b in zip(before, layer.parameters(), strict=True))
    assert all(p.requires_grad for p in layer.parameters())


@pytest.mark.parametrize("bad", ["bert-base-uncased", None, 12, BertConfig, {"hidden_size": 8},
                                 torch.nn.Parameter(torch.ones(3))])
def test_count_parameters_rejects_other_objects_as_type_and_value_errors(bad):
    for kind in (TypeError, ValueError):
        with pytest.raises(kind, match="torch.nn.Module or a transformers config"):
            count_parameters(bad)


# --------------------------------------------------------------------------- transformer_params

def test_transformer_params_calling_conventions_agree():
    expected = transformer_params(12, 768, 30522, 512)
    assert type(expected) is int
    assert transformer_params(n_layers=12, d_model=768, vocab_size=30522, n_ctx=512) == expected
    assert transformer_params(np.int64(12), np.int32(768), np.int64(30522), 512) == expected
    assert transformer_params(12.0, 768.0, 30522.0, np.float64(512)) == expected
    assert type(transformer_params(np.int64(12), 768, 30522, 512)) is int


def test_transformer_params_bert_base_closed_form_is_the_issue_figure():
    assert transformer_params(12, 768, 30522, 512, d_ff=3072, n_token_types=2,
                              pooler=True) == BERT_BASE
    # Without BERT's token types and pooler the plain estimate is still within 1%.
    assert abs(transformer_params(12, 768, 30522, 512) - BERT_BASE) / BERT_BASE < 0.01


def test_transformer_params_gpt3_with_the_issue_shape_including_heads():
    # "96 layers, d_model 12288, 96 heads, context 2048, vocab 50257"
    n = transformer_params(n_layers=96, d_model=12288, n_heads=96, n_ctx=2048, vocab_size=50257)
    assert n == transformer_params(96, 12288, 50257, 2048)
    assert abs(n - 175e9) / 175e9 < 0.01
    assert n == count_parameters(GPT2Config(n_layer=96, n_embd=12288, n_head=96,
                                            n_positions=2048))
    # The head count never changes the count; synonyms of the keyword work too.
    assert transformer_params(96, 12288, 50257, 2048, num_heads=48) == n
    assert transformer_params(2, 64, 100, 16, intermediate_size=128) == transformer_params(
        2, 64, 100, 16, d_ff=128)


@pytest.mark.parametrize("kwargs", [dict(n_heads=0), dict(n_heads=-4), dict(n_heads=7),
                                    dict(n_heads=2.5), dict(n_heads="8")])
def test_transformer_params_rejects_bad_head_counts(kwargs):
    with pytest.raises(ValueError, match="n_heads must"):
        transformer_params(2, 64, 100, 16, **kwargs)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), None, [12], 1e400,
                                 np.nan, False])
def test_transformer_params_rejects_non_finite_and_non_numbers(bad):
    with pytest.raises(ValueError, match="n_layers must be a positive integer"):
        transformer_params(bad, 768, 30522, 512)


def test_transformer_params_wrong_types_are_also_type_errors():
    with pytest.raises(TypeError, match="d_model must be a positive integer"):
        transformer_params(12, "768", 30522, 512)
    with pytest.raises(ArgumentTypeError):
        transformer_params(12, 768, None, 512)


# --------------------------------------------------------------------------- training_flops

@pytest.mark.parametrize("n_params, n_tokens", [
    (175e9, 300e9), (175_000_000_000, 300_000_000_000), (np.float64(175e9), np.int64(300 * 10**9)),
    (np.float32(175e9), 300e9), (torch.tensor(175e9, dtype=torch.float64), np.array(300e9)),
])
def test_training_flops_of_gpt3_within_5_percent_whatever_the_number_type(n_params, n_tokens):
    flops = training_flops(n_params, n_tokens)
    assert type(flops) is float
    assert abs(flops - 3.14e23) / 3.14e23 < 0.05
    assert training_flops(n_params=n_params, n_tokens=n_tokens) == flops


def test_training_flops_is_six_n_d_and_linear_in_each():
    assert training_flops(1, 1) == 6.0
    assert training_flops(2e9, 1e9) == training_flops(1e9, 2e9) == 2 * training_flops(1e9, 1e9)


@pytest.mark.parametrize("args", [(0, 1), (1, 0), (-1, 1), (1, -1), (float("nan"), 1),
                                  (1, float("inf")), (True, 1e9), (1e9, None),
                                  (torch.ones(2), 1e9), (1e308, 1e308)])
def test_training_flops_rejects_bad_inputs_and_overflow(args):
    with pytest.raises(ValueError, match="n_params|n_tokens|overflows"):
        training_flops(*args)


def test_training_flops_docstring_says_what_6nd_omits():
    doc = training_flops.__doc__.lower()
    for idea in ("omits", "attention", "recomput", "multiply-add", "backward"):
        assert idea in doc, idea


# --------------------------------------------------------------------------- training_memory

@pytest.mark.parametrize("precision", ["mixed", "bf16", "fp16", "BF16", "bfloat16", "float16",
                                       "amp", "bf16-mixed", "16-mixed", torch.bfloat16,
                                       torch.float16])
def test_mixed_precision_adam_is_16_bytes_per_parameter_under_any_spelling(precision):
    memory = training_memory(1e9, precision, "adam")
    assert memory["total"] == 16 * 10**9
    assert memory["weights"] == memory["gradients"] == 2 * 10**9
    assert memory["master_weights"] == 4 * 10**9 and memory["optimizer_states"] == 8 * 10**9
    assert training_memory(n_params=1e9, precision=precision, optimizer="Adam") == memory


def test_training_memory_result_is_a_dict_that_acts_as_its_total():
    memory = training_memory(7e9, "mixed", "adam")
    assert memory == 16 * 7e9 and memory / 7e9 == 16 and float(memory) == 112e9
    assert memory == pytest.approx(112e9) and math.isclose(memory, 112e9)
    assert memory > 100e9 and memory < training_memory(8e9) and memory != 1
    assert memory.total == memory["total"] == memory["total_bytes"]
    assert memory["optimizer"] == memory["optimizer_states"] and memory["master"] == 28e9
    assert memory["bytes_per_param"] == memory.bytes_per_param == 16
    assert set(memory) == {"weights", "gradients", "optimizer_states", "master_weights", "total"}
    assert sum(v for k, v in memory.items() if k != "total") == memory["total"]
    assert f"{memory / 1e9:.0f} GB" == "112 GB" and f"{memory:,}" == "112,000,000,000"
    with pytest.raises(KeyError, match="the parts are"):
        memory["activations"]


def test_training_memory_other_precisions_and_optimizers():
    n = 10**6
    assert training_memory(n, "fp32", "adam") == 16 * n  # 4 + 4 + 8
    assert training_memory(n, "float32", "adamw") == 16 * n
    assert training_memory(n, torch.float32, "sgd") == 8 * n  # 4 + 4
    assert training_memory(n, "fp32", "momentum") == 12 * n
    assert training_memory(n, "fp16", "sgd") == 8 * n  # 2 + 2 + 4 master
    assert training_memory(n, "bf16", "adam", master_weights=False) == 12 * n
    assert training_memory(n, "bf16", "adam", mixed_precision=False) == 12 * n
    assert training_memory(np.int64(n), "bf16", "adam") == 16 * n
    assert type(training_memory(n)["total"]) is int


@pytest.mark.parametrize("precision", ["fp64", "int8", "fp8", "", "banana", None, 16.5,
                                       ["bf16"], torch.int8])
def test_unknown_precision_says_what_is_allowed(precision):
    with pytest.raises(ValueError, match="unknown precision .*allowed: 'fp32', 'bf16', 'fp16'"):
        training_memory(1e9, precision)


@pytest.mark.parametrize("kwargs, match", [
    (dict(optimizer="lion"), "unknown optimizer"), (dict(n_params=0), "n_params"),
    (dict(n_params=-1e9), "n_params"), (dict(n_params=float("nan")), "n_params"),
    (dict(n_params="1e9"), "n_params"), (dict(n_params=True), "n_params"),
    (dict(master_weights="yes"), "master_weights"),
])
def test_training_memory_rejects_bad_inputs_independent(kwargs, match):
    with pytest.raises(ValueError, match=match):
        training_memory(**(dict(n_params=1e9) | kwargs))


def test_training_memory_docstring_discusses_activations_and_16_bytes():
    doc = training_memory.__doc__.lower()
    assert "activation" in doc and "16" in doc and "master" in doc


# --------------------------------------------------------------------------- gpu_hours, cost

C, PEAK, U, PRICE = 3.14e23, 312e12, 0.4, 2.0
HOURS = C / (PEAK * U * 3600)


@pytest.mark.parametrize("call", [
    lambda: gpu_hours(C, PEAK, U),
    lambda: gpu_hours(C, "A100", U),
    lambda: gpu_hours(flops=C, gpu=PEAK, utilization=U),
    lambda: gpu_hours(flops=C, peak_flops=PEAK, utilization=U),
    lambda: gpu_hours(C, peak_flops=PEAK, utilisation=U),
    lambda: gpu_hours(np.float64(C), np.float64(PEAK), np.float32(U)),
    lambda: gpu_hours(int(C), int(PEAK), U),
    lambda: gpu_hours(total_flops=C, peak_flops_per_second=PEAK, mfu=U),
])
def test_gpu_hours_under_the_calling_conventions_a_reader_would_use(call):
    hours = call()
    assert type(hours) is float
    assert hours == pytest.approx(HOURS, rel=1e-6)


@pytest.mark.parametrize("call", [
    lambda: training_cost(C, PEAK, U, PRICE),
    lambda: training_cost(flops=C, peak_flops=PEAK, utilization=U, price_per_gpu_hour=PRICE),
    lambda: training_cost(C, "a100", utilisation=U, price=PRICE),
    lambda: training_cost(C, PEAK, U, np.float64(PRICE)),
    lambda: training_cost(C, PEAK, U, 2),
])
def test_training_cost_under_the_calling_conventions_a_reader_would_use(call):
    cost = call()
    assert type(cost) is float
    assert cost == pytest.approx(HOURS * PRICE, rel=1e-6)


def test_full_utilisation_is_allowed_and_is_the_fastest():
    assert gpu_hours(C, PEAK, 1) == pytest.approx(C / PEAK / 3600)
    assert gpu_hours(C, PEAK, 1.0) < gpu_hours(C, PEAK, 0.5)
    assert wall_clock_days(C, PEAK, U, n_gpus=np.int64(1000)) == pytest.approx(HOURS / 1000 / 24)
    assert wall_clock_days(C, peak_flops=PEAK, utilisation=U, num_gpus=1000) == pytest.approx(
        HOURS / 1000 / 24)


@pytest.mark.parametrize("utilization", [0, 0.0, -0.5, 1.000001, 2, 40, float("nan"),
                                         float("inf"), "0.4", True, None, np.float64(1.5)])
def test_utilisation_outside_0_1_is_a_value_error_saying_what_is_allowed(utilization):
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        gpu_hours(C, PEAK, utilization)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        training_cost(C, PEAK, utilization, PRICE)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        gpu_hours(C, PEAK, utilisation=utilization)


@pytest.mark.parametrize("call, match", [
    (lambda: gpu_hours(0, PEAK, U), "flops"),
    (lambda: gpu_hours(-C, PEAK, U), "flops"),
    (lambda: gpu_hours(float("inf"), PEAK, U), "flops"),
    (lambda: gpu_hours(C, 0, U), "peak FLOP/s"),
    (lambda: gpu_hours(C, -PEAK, U), "peak FLOP/s"),
    (lambda: gpu_hours(C, float("nan"), U), "peak FLOP/s"),
    (lambda: gpu_hours(C, True, U), "gpu must be a GPU name"),
    (lambda: gpu_hours(C, None, U), "gpu must be a GPU name"),
    (lambda: gpu_hours(C, "TPU", U), "unknown GPU 'TPU'; allowed"),
    (lambda: gpu_hours(1e308, 1e-300, U), "overflows"),
    (lambda: training_cost(C, PEAK, U, 0), "price_per_gpu_hour"),
    (lambda: training_cost(C, PEAK, U, -1), "price_per_gpu_hour"),
    (lambda: training_cost(C, PEAK, U, float("nan")), "price_per_gpu_hour"),
    (lambda: training_cost(C, PEAK, U, "2.0"), "price_per_gpu_hour"),
    (lambda: wall_clock_days(C, PEAK, U, 0), "n_gpus"),
    (lambda: wall_clock_days(C, PEAK, U, 2.5), "n_gpus"),
])
def test_time_and_money_reject_bad_inputs_with_the_name_of_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_an_argument_and_its_synonym_together_is_a_type_error():
    with pytest.raises(TypeError, match="both utilization= and utilisation="):
        gpu_hours(C, PEAK, utilization=U, utilisation=U)
    with pytest.raises(TypeError):
        gpu_hours(C, PEAK, U, peak_flops=PEAK)  # gpu given twice


# --------------------------------------------------------------------------- Chinchilla sizing

def test_chinchilla_sizing_is_20_tokens_per_parameter_under_6nd():
    for budget in (1e18, 5.76e23, np.float64(1e25), 10**24):
        result = chinchilla_optimal(budget)
        n, d = result  # unpacks like a tuple
        assert (result.n_params, result.n_tokens) == (n, d) == (result["n_params"], result[1])
        assert d == pytest.approx(20 * n) and 6 * n * d == pytest.approx(float(budget))
        assert training_flops(n, d) == pytest.approx(float(budget))
    assert chinchilla_optimal(compute=1e24) == chinchilla_optimal(compute_flops=1e24)
    n, d = chinchilla_optimal(1e24, tokens_per_param=10)
    assert d == pytest.approx(10 * n) and 6 * n * d == pytest.approx(1e24)


@pytest.mark.parametrize("args", [(0,), (-1e23,), (float("nan"),), (float("inf"),), (True,),
                                  ("1e23",), (1e23, 0), (1e23, -20)])
def test_chinchilla_sizing_rejects_bad_inputs(args):
    with pytest.raises(ValueError, match="must be a positive"):
        chinchilla_optimal(*args)


def test_every_public_function_has_a_docstring_naming_the_chapter():
    assert "chapter 01" in economics.__doc__
    for name in ("count_parameters", "transformer_params", "training_flops", "training_memory",
                 "gpu_hours", "training_cost", "chinchilla_optimal", "wall_clock_days"):
        assert getattr(economics, name).__doc__, name
