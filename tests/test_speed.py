"""bigmodel_lib.speed: activation checkpointing keeps gradients, accumulation equals a big batch,
the memory counter, and the benchmark command's arguments."""

import copy

import pytest
import torch
from torch import nn

from bigmodel_lib import speed
from bigmodel_lib.speed import accumulated_step, activation_bytes, set_checkpointing, time_per_call

pytestmark = pytest.mark.usefixtures("one_thread")


def tiny_bert(dropout=0.1):
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=3, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=32, num_labels=3,
                        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    torch.manual_seed(0)
    return BertForSequenceClassification(config)


def batch(n=6, length=12):
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(1, 50, (n, length), generator=gen)
    mask = torch.ones_like(ids)
    mask[0, 8:] = 0
    return {"input_ids": ids, "attention_mask": mask}, torch.randint(0, 3, (n,), generator=gen)


def grads_after_one_backward(model, inputs, labels):
    torch.manual_seed(5)  # the same dropout masks for both runs
    model.zero_grad()
    nn.functional.cross_entropy(model(**inputs).logits, labels).backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def test_checkpointing_gives_the_same_gradients_with_dropout_on():
    plain = tiny_bert()
    ckpt = copy.deepcopy(plain)
    assert set_checkpointing(ckpt) == 3
    assert type(ckpt.bert.encoder.layer[0]).__name__.startswith("Checkpointed")
    assert ckpt.state_dict().keys() == plain.state_dict().keys()  # names unchanged
    inputs, labels = batch()
    expected = grads_after_one_backward(plain, inputs, labels)
    got = grads_after_one_backward(ckpt, inputs, labels)
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], rtol=1e-6, atol=1e-6, msg=name)


def test_checkpointing_keeps_fewer_activations_and_can_be_turned_off():
    model = tiny_bert(dropout=0.0)
    inputs, labels = batch(8, 24)

    def kept():
        n, out = activation_bytes(lambda: model(**inputs).logits.sum())
        out.backward()
        return n

    without = kept()
    set_checkpointing(model, True)
    with_ckpt = kept()
    assert with_ckpt < 0.6 * without
    set_checkpointing(model, False)
    assert type(model.bert.encoder.layer[0]).__name__ == "BertLayer"
    assert kept() == without
    model.eval()  # no checkpointing outside training: nothing to save
    set_checkpointing(model, True)
    with torch.no_grad():
        assert activation_bytes(lambda: model(**inputs))[0] == 0


def test_activation_bytes_counts_what_autograd_saves():
    x = torch.randn(10, 20, requires_grad=True)
    w = torch.randn(20, 30, requires_grad=True)
    n, out = activation_bytes(lambda: torch.tanh(x @ w).sum())  # saves x, w and tanh's output
    assert n == (10 * 20 + 20 * 30 + 10 * 30) * 4
    out.backward()
    assert x.grad is not None


@pytest.mark.parametrize("k", [1, 3, 4])
def test_accumulated_step_equals_one_big_batch(k):
    # 10 rows in k micro-batches (sizes 4,3,3 for k=3: a last one of a different size)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
    big = copy.deepcopy(model)
    x = torch.randn(10, 5, dtype=torch.float64)
    y = torch.randint(0, 3, (10,))
    opt_a = torch.optim.SGD(model.parameters(), lr=0.5)
    opt_b = torch.optim.SGD(big.parameters(), lr=0.5)
    loss = accumulated_step(model, x, y, opt_a, k)
    opt_b.zero_grad()
    big_loss = nn.functional.cross_entropy(big(x), y)
    big_loss.backward()
    opt_b.step()
    assert loss == pytest.approx(big_loss.item(), rel=1e-12)
    for p, q in zip(model.parameters(), big.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-6)


def test_accumulated_step_rejects_bad_k():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for k in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="accumulate must be a positive integer"):
            accumulated_step(model, torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), opt, k)
    with pytest.raises(ValueError, match="at least that many"):
        accumulated_step(model, torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), opt, 3)


def test_time_per_call_and_bad_repeats():
    calls = []
    assert time_per_call(lambda: calls.append(1), repeats=3, warmup=2) >= 0
    assert len(calls) == 5
    with pytest.raises(ValueError, match="repeats"):
        time_per_call(lambda: None, repeats=0)


def test_ddp_worker_runs_in_one_process():
    assert speed.ddp_examples_per_s(0, 1, steps=2, batch_per_rank=8, width=16, device="cpu") > 0


def test_bench_speed_command_rejects_bad_arguments(capsys):
    from bigmodel_lib.bench import main

    assert main(["speed", "--batch", "2"]) == 2
    assert "--batch must be >= 4" in capsys.readouterr().err
    assert main(["speed", "--processes", "0"]) == 2
    with pytest.raises(SystemExit):
        main(["speed", "--help"])
    assert "Speed ratio of each chapter 10 technique" in capsys.readouterr().out


def test_format_speed_prints_every_row():
    result = {"device": "cpu", "machine": {"cores": 2, "threads": 2, "load_average_1min": 1.0,
                                           "load_average_1min_end": 1.5, "cpu_bf16_native": False,
                                           "torch": "2"},
              "rows": [{"technique": "bf16 training step", "baseline": "fp32", "baseline_s": 0.2,
                        "technique_s": 0.1, "speed_ratio": 2.0},
                       {"technique": "DDP 2 processes (gloo)", "baseline": "1 process",
                        "baseline_examples_per_s": 100.0, "technique_examples_per_s": 150.0,
                        "speed_ratio": 1.5}]}
    text = speed.format_speed(result)
    assert "2.00x" in text and "200 ms -> 100 ms" in text and "100 -> 150 examples/s" in text
    assert "2 cores" in text and "load 1.0 -> 1.5" in text
