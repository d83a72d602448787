"""The GPU profile's code paths, run without a GPU (issue 23, item 4).

What the ``gpu`` profile does differently and what is checked here, CUDA faked where
that is enough: the profile is chosen when CUDA is present and gives the GPU settings
(``pick``, ``network_allowed``); ``setup`` leaves CPU threads alone on a GPU; chapter
08's GPU choices (``bert-base-uncased``, ``GPU_DEFAULTS``, mixed precision resolved to
bf16 or fp16 by the GPU's support); ``bert-base-uncased``'s architecture built from a
local copy of its config (no download, no weights: on the meta device); the loading
branch for a hub id or folder (a small BERT saved in a temporary folder) and the GPU
recipe run end to end on it (on the CPU); and the fp16 + gradient-scaler choice.

What needs a real GPU (``tests/test_train.py::test_cuda_autocast_and_resume`` runs it
where CUDA is present): tensors on a CUDA device, autocast to float16 and the gradient
scaler scaling, unscaling and skipping steps, ``torch.cuda.is_bf16_supported`` itself,
and downloading bert-base-uncased and AG News.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

import bigmodel_lib as bml
from bigmodel_lib import env
from bigmodel_lib.finetune import CPU_DEFAULTS, GPU_DEFAULTS, auto_amp, finetune
from bigmodel_lib.models import load_pretrained_classifier

# bert-base-uncased's config.json as published (the fields that set its size).
BERT_BASE = {
    "architectures": ["BertForMaskedLM"], "model_type": "bert", "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512,
    "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0, "type_vocab_size": 2,
    "vocab_size": 30522,
}


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.delenv("BIGMODEL_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_cuda_selects_the_gpu_profile_and_its_settings(fake_cuda):
    assert env.get_profile() == "gpu"
    assert env.network_allowed()
    assert bml.pick(default="minilm", gpu="bert-base-uncased") == "bert-base-uncased"
    assert bml.pick(default=CPU_DEFAULTS, gpu=GPU_DEFAULTS) is GPU_DEFAULTS
    assert env.get_device().type == "cuda"


def test_setup_on_a_gpu_leaves_cpu_threads_alone(fake_cuda, capsys):
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2 if before == 1 else before)
        threads = torch.get_num_threads()
        assert bml.setup(seed=0, threads=1).type == "cuda"
        assert torch.get_num_threads() == threads
        assert "profile=gpu  device=cuda" in capsys.readouterr().out
    finally:
        torch.set_num_threads(before)


def test_setup_threads_on_the_cpu(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    before = torch.get_num_threads()
    try:
        bml.setup(seed=0, threads=1)
        assert torch.get_num_threads() == 1
        assert "threads=1" in capsys.readouterr().out
        bml.setup(seed=0, threads=10_000, quiet=True)  # never more than the machine's cores
        assert torch.get_num_threads() <= max(1, __import__("os").cpu_count() or 1)
    finally:
        torch.set_num_threads(before)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be a positive integer or None"):
            bml.setup(seed=0, threads=bad)


@pytest.mark.parametrize(("bf16", "expected"), [(True, "bf16"), (False, "fp16")])
def test_gpu_mixed_precision_follows_the_gpu(fake_cuda, monkeypatch, bf16, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    assert auto_amp("cuda") == expected
    assert GPU_DEFAULTS.amp_on(torch.device("cuda")) == expected
    assert replace(GPU_DEFAULTS, amp=None).amp_on("cuda") is None


def test_gpu_recipe_is_the_classic_one():
    assert GPU_DEFAULTS.max_train is None  # all of AG News
    assert GPU_DEFAULTS.time_budget_s is None and not GPU_DEFAULTS.freeze_embeddings
    assert GPU_DEFAULTS.lr == pytest.approx(5e-5) and GPU_DEFAULTS.max_length == 128


def test_bert_base_from_a_local_config_has_bert_base_size(tmp_path):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    (tmp_path / "config.json").write_text(json.dumps(BERT_BASE))
    config = AutoConfig.from_pretrained(str(tmp_path), local_files_only=True, num_labels=4)
    with torch.device("meta"):  # shapes only: no memory, no weights, no download
        model = AutoModelForSequenceClassification.from_config(config)
    encoder = sum(p.numel() for p in model.bert.parameters())
    assert encoder == 109_482_240  # bert-base-uncased's published 110M
    assert sum(p.numel() for p in model.classifier.parameters()) == 768 * 4 + 4


@pytest.fixture
def small_bert(tmp_path):
    """A small BERT saved like a hub model (config, weights, WordPiece vocabulary) in a folder."""
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "stocks", "rise", "team", "wins", "chip",
             "profit", "election", "vote", "match", "goal", "market", "new", "phone", "the", "a"]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(str(tmp_path))
    config = BertConfig(**{**BERT_BASE, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2,
                           "num_hidden_layers": 2, "vocab_size": len(words), "max_position_embeddings": 64})
    torch.manual_seed(0)
    BertForMaskedLM(config).save_pretrained(str(tmp_path))
    return tmp_path


def test_the_hub_loading_branch_and_the_gpu_recipe_on_a_local_bert(small_bert):
    model, tokenizer = load_pretrained_classifier(str(small_bert), num_labels=2)
    assert type(model).__name__ == "BertForSequenceClassification"  # pooling="cls" for hub models
    texts = ["stocks rise", "team wins match", "chip profit", "election vote", "market new phone", "goal"] * 4
    labels = [0, 1, 0, 1, 0, 1] * 4
    config = replace(GPU_DEFAULTS, max_train=16, batch_size=8, max_length=8, amp=None)
    history = finetune(model, tokenizer, texts, labels, config, device="cpu", seed=0, progress=False)
    assert history is not None
    logits = model(**tokenizer(["stocks rise"], return_tensors="pt")).logits
    assert logits.shape == (1, 2) and torch.isfinite(logits).all()


def test_fp16_is_refused_off_cuda_with_a_clear_message():
    """fp16 means autocast to float16 with a gradient scaler: a CUDA-only path, refused elsewhere."""
    from bigmodel_lib.train import fit

    model = torch.nn.Linear(3, 2)
    data = (torch.randn(8, 3), torch.randint(0, 2, (8,)))
    with pytest.raises(ValueError, match="needs a CUDA device"):
        fit(model, data, torch.nn.functional.cross_entropy, torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1, amp="fp16", device="cpu", progress=False)
