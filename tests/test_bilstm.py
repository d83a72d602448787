
import numpy as np
import pytest
import torch
from torch import nn

from bigmodel_lib.bilstm import (
    BiLSTMClassifier,
    length_mask,
    lengths_from_padding,
    lstm_cell,
    masked_max,
    masked_mean,
)
from bigmodel_lib.text import (
    pad_sequences,
)


def model_for_test(pooling="max", **kwargs):
    torch.manual_seed(0)
    return BiLSTMClassifier(40, 4, embed_dim=8, hidden_dim=6, pooling=pooling, **kwargs).eval()


def random_batch(n=6, max_len=9, vocab=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, max_len + 1, (n,), generator=g)
    seqs = [torch.randint(2, vocab, (int(k),), generator=g).tolist() for k in lengths]
    return seqs, *pad_sequences(seqs)


def test_masked_pooling_matches_pooling_each_sequence_alone():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(5, 7, 3, generator=g)
    lengths = torch.tensor([7, 1, 3, 5, 2])
    mask = length_mask(lengths, 7)
    assert mask.tolist()[2] == [True] * 3 + [False] * 4
    expected_mean = torch.stack([h[b, :n].mean(0) for b, n in enumerate(lengths)])
    expected_max = torch.stack([h[b, :n].amax(0) for b, n in enumerate(lengths)])
    torch.testing.assert_close(masked_mean(h, mask), expected_mean)
    torch.testing.assert_close(masked_max(h, mask), expected_max)
    h_noisy = h.masked_fill(~mask.unsqueeze(-1), 1e6)  # padding values must not leak in
    torch.testing.assert_close(masked_max(h_noisy, mask), expected_max)
    torch.testing.assert_close(masked_mean(h_noisy, mask), expected_mean)


def test_lstm_cell_matches_torch():
    torch.manual_seed(2)
    cell = nn.LSTMCell(5, 3)
    x, h, c = torch.randn(4, 5), torch.randn(4, 3), torch.randn(4, 3)
    expected_h, expected_c = cell(x, (h, c))
    got_h, got_c = lstm_cell(x, h, c, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    torch.testing.assert_close(got_h, expected_h)
    torch.testing.assert_close(got_c, expected_c)


def test_lstm_cell_unrolled_matches_a_bidirectional_lstm():
    torch.manual_seed(3)
    lstm = nn.LSTM(5, 3, batch_first=True, bidirectional=True)
    x = torch.randn(2, 6, 5)
    expected, _ = lstm(x)
    for suffix, steps, half in (("", range(6), slice(0, 3)),
                                ("_reverse", reversed(range(6)), slice(3, 6))):
        weights = [getattr(lstm, f"{n}_l0{suffix}") for n in
                   ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        h = c = torch.zeros(2, 3)
        for t in steps:
            h, c = lstm_cell(x[:, t], h, c, *weights)
            torch.testing.assert_close(h, expected[:, t, half])


def test_lengths_from_padding():
    ids = torch.tensor([[5, 6, 7, 0], [3, 0, 0, 0], [1, 0, 4, 0], [0, 0, 0, 0]])
    assert lengths_from_padding(ids).tolist() == [3, 1, 3, 0]


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
def test_more_padding_gives_the_same_output(pooling):
    model = model_for_test(pooling)
    sentence = [5, 9, 13, 2, 7]
    short, _ = pad_sequences([sentence])
    long, _ = pad_sequences([sentence + [0] * 20])  # the same sentence, 20 pads after it
    with torch.no_grad():
        a = model(short)
        b = model(long)
        c = model(long, torch.tensor([5]))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
def test_batch_output_equals_each_sentence_alone(pooling):
    model = model_for_test(pooling, num_layers=2)
    seqs, ids, lengths = random_batch()
    with torch.no_grad():
        batch = model(ids, lengths)
        alone = torch.cat([model(torch.tensor([s])) for s in seqs])
    torch.testing.assert_close(batch, alone)


def test_encoder_matches_torch_lstm_run_on_each_unpadded_sentence():
    model = model_for_test("mean")
    seqs, ids, lengths = random_batch(seed=3)
    with torch.no_grad():
        got = model.encode(ids, lengths)
        expected = []
        for s in seqs:
            out, _ = model.lstm(model.embedding(torch.tensor([s])))  # no padding at all
            expected.append(out[0].mean(0))
    torch.testing.assert_close(got, torch.stack(expected))


def test_without_packing_padding_changes_the_backward_direction():
    """Why the model packs: a plain LSTM reads the pads, and its output moves."""
    model = model_for_test()
    sentence = torch.tensor([[5, 9, 13]])
    padded = torch.tensor([[5, 9, 13, 0, 0, 0]])
    with torch.no_grad():
        out_short, _ = model.lstm(model.embedding(sentence))
        out_long, _ = model.lstm(model.embedding(padded))
    hidden = model.lstm.hidden_size
    torch.testing.assert_close(out_short[0, :, :hidden], out_long[0, :3, :hidden])  # forward
    assert not torch.allclose(out_short[0, :, hidden:], out_long[0, :3, hidden:])  # backward


def test_trains_and_gradients_reach_every_parameter():
    model = model_for_test()
    model.train()
    _, ids, lengths = random_batch(n=8)
    loss = nn.functional.cross_entropy(model(ids, lengths), torch.arange(8) % 4)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert torch.all(model.embedding.weight.grad[0] == 0)  # <pad> never learns
    assert torch.all(model.embedding.weight[0] == 0)


def test_empty_texts_are_read_as_one_pad_token():
    model = model_for_test()
    with torch.no_grad():
        empty = model(torch.zeros(2, 0, dtype=torch.long))
        one_pad = model(torch.zeros(2, 1, dtype=torch.long), torch.tensor([1, 1]))
    torch.testing.assert_close(empty, one_pad)


@pytest.mark.parametrize(("args", "error", "message"), [
    ((torch.tensor([[1.0, 2.0]]),), TypeError, "integer tensor of token ids"),
    ((torch.tensor([1, 2]),), ValueError, r"shape \(batch, time\)"),
    ((torch.tensor([[1, 40]]),), ValueError, r"token ids must lie in 0\.\.39"),
    ((torch.tensor([[1, 2]]), torch.tensor([3])), ValueError, r"lengths must lie in 0\.\.2"),
    ((torch.tensor([[1, 2]]), torch.tensor([1, 2])), ValueError, r"lengths must have shape \(1,\)"),
])
def test_bad_inputs(args, error, message):
    with pytest.raises(error, match=message):
        model_for_test()(*args)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"pooling": "sum"}, "pooling must be one of max, mean, last"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"hidden_dim": 0}, "hidden_dim must be a positive integer"),
    ({"pad_id": 40}, "pad_id 40 must be a token id"),
    ({"dropout": "0.1"}, r"dropout must be in \[0, 1\), got '0.1' \(a str\)"),
    ({"dropout": True}, r"dropout must be in \[0, 1\), got True \(a bool\)"),
    ({"num_classes": True}, r"num_classes must be a positive integer, got True \(a bool\)"),
    ({"embed_dim": 64.0}, "embed_dim must be a positive integer"),
])
def test_bad_settings(kwargs, message):
    kwargs = {"num_classes": 4, **kwargs}
    with pytest.raises(ValueError, match=message):
        BiLSTMClassifier(40, **kwargs)


def test_numpy_integers_are_accepted_as_sizes():
    model = BiLSTMClassifier(np.int64(40), np.int32(4), np.int64(8), hidden_dim=np.int16(8))
    assert model.head.out_features == 4


# ================================ independent review (was tests/test_review_text.py)
# Review of issue 10's text pipeline and BiLSTM as an independent tester: tokenizer,
# vocabulary, padding / truncation, the length-aware batcher and the masked BiLSTM.


# ------------------------------------------------------------------ the BiLSTM


def make_model(pooling="max", **kwargs):
    torch.manual_seed(0)
    return BiLSTMClassifier(30, 4, 8, 6, pooling=pooling, **kwargs).eval()


BATCH = [[5, 6, 7, 8], [9], [10, 11]]


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
def test_output_does_not_depend_on_padding(pooling):
    model = make_model(pooling)
    ids, lengths = pad_sequences(BATCH)
    out = model(ids, lengths)
    wide = torch.cat([ids, torch.zeros(3, 7, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(wide, lengths), out)
    torch.testing.assert_close(model(wide), out)  # lengths inferred from the padding
    for row, seq in enumerate(BATCH):  # each text alone, without any padding
        torch.testing.assert_close(model(torch.tensor([seq]))[0], out[row])


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
def test_batch_of_one_and_sequences_of_length_one(pooling):
    model = make_model(pooling)
    single = model(torch.tensor([[7]]))
    assert single.shape == (1, 4) and torch.isfinite(single).all()
    torch.testing.assert_close(model(torch.tensor([[7, 0, 0, 0]])), single)
    torch.testing.assert_close(model(torch.tensor([[7, 9, 9]]), torch.tensor([1])), single)


@pytest.mark.parametrize("pooling", ["max", "mean", "last"])
def test_an_all_padding_row_is_read_as_an_empty_text_and_leaves_other_rows_alone(pooling):
    model = make_model(pooling)
    ids, lengths = pad_sequences([[5, 6, 7], []])
    out = model(ids, lengths)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], model(torch.tensor([[5, 6, 7]]))[0])
    torch.testing.assert_close(out[1], model(torch.tensor([[0]]))[0])
    # length 0 means empty, whatever ids the row holds
    torch.testing.assert_close(model(torch.tensor([[5, 6, 7]]), torch.tensor([0]))[0], out[1])


def test_gradients_reach_every_parameter_but_the_padding_vector():
    torch.manual_seed(0)
    model = BiLSTMClassifier(30, 4, 8, 6, num_layers=2, dropout=0.1)
    ids, lengths = pad_sequences(BATCH)
    loss = torch.nn.functional.cross_entropy(model(ids, lengths), torch.tensor([0, 1, 2]))
    loss.backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert param.grad.abs().sum() > 0, name
    assert model.embedding.weight.grad[0].abs().sum() == 0  # <pad> never learns


def test_a_few_steps_fit_a_tiny_task():
    torch.manual_seed(0)
    seqs = [[2, 3, 2], [3, 2], [2, 2, 2, 3], [4, 5], [5, 4, 5, 5], [4, 4]]
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    ids, lengths = pad_sequences(seqs)
    model = BiLSTMClassifier(6, 2, 8, 8, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(ids, lengths), labels)
        first = loss.item() if first is None else first
        loss.backward()
        opt.step()
    assert loss.item() < first / 5
    assert torch.equal(model.eval()(ids, lengths).argmax(1), labels)


@pytest.mark.parametrize(("ids", "lengths", "error"), [
    (torch.tensor([[1.0, 2.0]]), None, TypeError),
    ([[1, 2]], None, TypeError),
    (torch.tensor([1, 2]), None, ValueError),
    (torch.zeros(0, 3, dtype=torch.long), None, ValueError),
    (torch.tensor([[1, 30]]), None, ValueError),
    (torch.tensor([[1, -1]]), None, ValueError),
    (torch.tensor([[1, 2]]), torch.tensor([3]), ValueError),
    (torch.tensor([[1, 2]]), torch.tensor([-1]), ValueError),
    (torch.tensor([[1, 2]]), torch.tensor([2, 2]), ValueError),
    (torch.tensor([[1, 2]]), torch.tensor([1.5]), TypeError),
])
def test_bad_model_inputs(ids, lengths, error):
    with pytest.raises(error):
        make_model()(ids, lengths)


@pytest.mark.parametrize("kwargs", [{"vocab_size": 0}, {"num_classes": 0}, {"embed_dim": 2.5},
                                    {"dropout": 1.0}, {"pooling": "sum"}, {"pad_id": 30}])
def test_bad_model_settings(kwargs):
    settings = {"vocab_size": 30, "num_classes": 4, **kwargs}
    with pytest.raises(ValueError):
        BiLSTMClassifier(**settings)
