"""Dynamic padding, length buckets, the warm-up schedule, freezing, ordered prediction."""

import numpy as np
import pytest
import torch

from bigmodel_lib.finetune import (
    CPU_DEFAULTS,
    FinetuneConfig,
    TokenizedTexts,
    auto_amp,
    finetune,
    freeze,
    length_sorted_batches,
    pad_batch,
    predict_texts,
    set_dropout,
    text_loader,
    tokenize,
    warmup_linear,
)


class TinyTokenizer:
    """Whitespace 'tokenizer' with [CLS]=1, [SEP]=2, pad=0, words -> 3 + len(word)."""

    pad_token_id = 0

    def __call__(self, texts, truncation, max_length, **kwargs):
        ids = []
        for text in texts:
            row = [1] + [3 + len(w) for w in text.split()] + [2]
            if truncation and len(row) > max_length:
                row = row[: max_length - 1] + [2]
            ids.append(row)
        return {"input_ids": ids}


def test_tokenize_truncates_keeps_sep_and_does_not_pad():
    data = tokenize(TinyTokenizer(), ["a bb ccc dddd eeeee", "x"], [1, 0], max_length=4)
    assert data.input_ids == [[1, 4, 5, 2], [1, 4, 2]]
    assert data.labels == [1, 0] and data.lengths.tolist() == [4, 3]


@pytest.mark.parametrize("texts, max_length, error, match", [
    ("one string", 8, TypeError, "list of strings"),
    ([], 8, ValueError, "no texts"),
    (["a"], 2, ValueError, "max_length"),
])
def test_tokenize_rejects_bad_input(texts, max_length, error, match):
    with pytest.raises(error, match=match):
        tokenize(TinyTokenizer(), texts, max_length=max_length)


def test_labels_must_pair_with_texts():
    with pytest.raises(ValueError, match="pair up"):
        TokenizedTexts([[1, 2], [1, 2]], [0])


def test_pad_batch_pads_to_longest_rounded_up():
    inputs, labels = pad_batch([([1, 5, 2], 3), ([1, 2], 1)], pad_id=0, multiple_of=4)
    assert inputs["input_ids"].tolist() == [[1, 5, 2, 0], [1, 2, 0, 0]]
    assert inputs["attention_mask"].tolist() == [[1, 1, 1, 0], [1, 1, 0, 0]]
    assert labels.tolist() == [3, 1]
    inputs, _ = pad_batch([([1, 5, 2], 0)], multiple_of=1)
    assert inputs["input_ids"].shape == (1, 3)


def test_length_sorted_batches_are_longest_first():
    assert length_sorted_batches([3, 9, 1, 7, 5], 2) == [[1, 3], [4, 0], [2]]
    with pytest.raises(ValueError, match="batch_size"):
        length_sorted_batches([1, 2], 0)


def test_training_batches_are_bucketed_and_cover_every_text_once():
    rng = np.random.default_rng(0)
    ids = [[1] * n for n in rng.integers(3, 120, size=1000)]
    data = TokenizedTexts(ids, [0] * 1000)
    loader = text_loader(data, 16, seed=3, multiple_of=1)
    batches = list(loader.batch_sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    lengths = data.lengths
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    random_spread = np.mean([np.ptp(lengths[rng.permutation(1000)[:16]]) for _ in range(50)])
    assert spread < random_spread / 4  # buckets are near-uniform in length
    padding = [int((inputs["attention_mask"] == 0).sum()) for inputs, _ in loader]
    assert sum(padding) < 0.1 * lengths.sum()


def test_text_loader_batches_are_dicts_and_labels():
    data = tokenize(TinyTokenizer(), ["a b", "c", "d e f"], [0, 1, 2], max_length=8)
    for bucket in (True, False):
        seen = []
        for inputs, labels in text_loader(data, 2, bucket=bucket, multiple_of=1):
            assert set(inputs) == {"input_ids", "attention_mask"}
            assert inputs["input_ids"].shape[0] == labels.shape[0]
            seen += labels.tolist()
        assert sorted(seen) == [0, 1, 2]
    with pytest.raises(TypeError, match="TokenizedTexts"):
        text_loader([[1, 2]], 2)


def test_warmup_linear_matches_the_formula():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.5)
    scheduler = warmup_linear(optimizer, total_steps=10, warmup=0.2)
    lrs = []
    for _ in range(10):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [0.5 * f for f in (0.5, 1.0, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8)]
    np.testing.assert_allclose(lrs, expected)
    assert optimizer.param_groups[0]["lr"] == 0.0


def test_warmup_linear_with_an_exhausted_time_budget_reaches_zero():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.5)
    scheduler = warmup_linear(optimizer, total_steps=1000, warmup=0, time_budget_s=1e-9)
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] == 0.0


@pytest.mark.parametrize("kwargs, match", [
    (dict(total_steps=0), "total_steps"),
    (dict(total_steps=10, warmup=1.0), "warm-up fraction"),
    (dict(total_steps=10, warmup=10), "warmup"),
    (dict(total_steps=10, time_budget_s=0), "time_budget_s"),
])
def test_warmup_linear_rejects_bad_settings(kwargs, match):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match=match):
        warmup_linear(optimizer, **kwargs)


def tiny_bert(num_labels=3):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=num_labels)
    torch.manual_seed(0)
    return BertForSequenceClassification(config)


def test_freeze_embeddings_and_lower_layers():
    model = tiny_bert()
    total = sum(p.numel() for p in model.parameters())
    embeddings = sum(p.numel() for p in model.bert.embeddings.parameters())
    layer = sum(p.numel() for p in model.bert.encoder.layer[0].parameters())
    assert freeze(model, embeddings=True, layers=0) == total - embeddings
    assert freeze(model, embeddings=True, layers=2) == total - embeddings - 2 * layer
    assert not model.bert.encoder.layer[1].attention.self.query.weight.requires_grad
    assert model.bert.encoder.layer[2].attention.self.query.weight.requires_grad
    assert freeze(model, embeddings=False, layers=0) == total  # undoes earlier freezing
    with pytest.raises(ValueError, match="layers"):
        freeze(model, layers=4)
    with pytest.raises(TypeError, match="BERT-style"):
        freeze(torch.nn.Linear(2, 2))


def test_predict_texts_returns_logits_in_the_original_order():
    model = tiny_bert()
    rng = np.random.default_rng(1)
    ids = [[1] + rng.integers(3, 50, size=n).tolist() + [2] for n in rng.integers(1, 20, size=23)]
    data = TokenizedTexts(ids, None)
    model.train()
    got = predict_texts(model, data, batch_size=4)  # evaluation mode inside (no dropout)
    assert model.training  # and the mode it found is restored
    model.eval()
    with torch.no_grad():
        one_by_one = torch.cat([model(input_ids=torch.tensor([row])).logits for row in ids])
    torch.testing.assert_close(got, one_by_one, atol=1e-5, rtol=1e-4)


def test_amp_on_resolves_only_auto():
    assert FinetuneConfig(amp="auto").amp_on("cpu") == auto_amp("cpu")
    assert FinetuneConfig(amp=None).amp_on("cpu") is None
    assert FinetuneConfig(amp="bf16").amp_on("cpu") == "bf16"


def test_config_validation():
    assert CPU_DEFAULTS.amp == "auto"
    with pytest.raises(ValueError, match="max_train"):
        FinetuneConfig(max_train=0)
    with pytest.raises(ValueError, match="lr"):
        FinetuneConfig(lr=-1e-4)
    with pytest.raises(ValueError, match="amp"):
        FinetuneConfig(amp="fp8")
    with pytest.raises(ValueError, match="batch_size"):
        FinetuneConfig(batch_size=0)


def test_set_dropout_makes_training_mode_deterministic():
    model = tiny_bert().train()
    ids = torch.tensor([[1, 5, 7, 9, 2]])
    with torch.no_grad():
        assert not torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)
    assert set_dropout(model, 0.0) > 3
    assert all(m.p == 0.0 for m in model.modules() if isinstance(m, torch.nn.Dropout))
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, model(input_ids=ids).logits)
    with pytest.raises(ValueError, match="dropout"):
        set_dropout(model, 1.0)
    with pytest.raises(ValueError, match="dropout"):
        FinetuneConfig(dropout=-0.1)


def test_eval_length_is_at_least_the_training_length():
    assert FinetuneConfig(max_length=48, eval_max_length=64).eval_length == 64
    assert FinetuneConfig(max_length=96, eval_max_length=64).eval_length == 96
    assert FinetuneConfig(max_length=40).eval_length == 40
    assert CPU_DEFAULTS.eval_length >= CPU_DEFAULTS.max_length
    with pytest.raises(ValueError, match="eval_max_length"):
        FinetuneConfig(eval_max_length=2)
    with pytest.raises(ValueError, match="time_budget_s"):
        FinetuneConfig(time_budget_s=0)


def toy_texts(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, size=n).tolist()
    texts = [" ".join(["a" * (1 + y)] * int(rng.integers(2, 9))) for y in labels]
    return texts, labels


def test_finetune_learns_a_toy_task_and_counts_examples():
    model = tiny_bert()
    texts, labels = toy_texts(240)
    config = FinetuneConfig(max_length=16, batch_size=8, epochs=3, lr=3e-3, amp=None,
                            freeze_embeddings=False, dropout=0.0)
    history = finetune(model, TinyTokenizer(), texts, labels, config, live_plot=False,
                       progress=False)
    assert history.examples_seen == 720 and history.epochs == 3
    logits = predict_texts(model, tokenize(TinyTokenizer(), texts, max_length=16))
    assert (logits.argmax(1).numpy() == np.array(labels)).mean() > 0.6  # chance: 1/3


def test_finetune_stops_at_the_time_budget():
    texts, labels = toy_texts(200)
    config = FinetuneConfig(max_length=16, batch_size=8, amp=None, time_budget_s=1e-6)
    history = finetune(tiny_bert(), TinyTokenizer(), texts, labels, config, live_plot=False,
                       progress=False)
    assert history.examples_seen == 8 and history.stopped_early
    assert "time budget" in history.stop_reason
