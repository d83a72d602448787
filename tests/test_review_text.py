"""Review of issue 10's text pipeline and BiLSTM as an independent tester: tokenizer,
vocabulary, padding / truncation, the length-aware batcher and the masked BiLSTM.
"""

import random

import pytest
import torch

from bigmodel_lib.bilstm import BiLSTMClassifier
from bigmodel_lib.text import (
    PAD,
    PAD_ID,
    UNK,
    UNK_ID,
    BucketBatchSampler,
    Vocabulary,
    encode_texts,
    make_loader,
    pad_sequences,
    tokenize,
)

# ------------------------------------------------------------------ tokenizer


@pytest.mark.parametrize(("text", "tokens"), [
    ("", []),
    ("   \t\n", []),
    ("Hello, World!", ["hello", ",", "world", "!"]),
    ("APPLE apple Apple", ["apple", "apple", "apple"]),
    ("Oil hit $46.50 a barrel", ["oil", "hit", "$", "46.50", "a", "barrel"]),
    ("1,000 fans; 3-2 win", ["1,000", "fans", ";", "3", "-", "2", "win"]),
    ("Iraq's leader won't go", ["iraq's", "leader", "won't", "go"]),
    ("Iraq\u2019s leader won\u2019t go", ["iraq's", "leader", "won't", "go"]),
    ("'quoted' words", ["'", "quoted", "'", "words"]),
    ("(AP) -- Reuters?!", ["(", "ap", ")", "-", "-", "reuters", "?", "!"]),
    ("Caf\u00e9 M\u00dcNCHEN", ["caf\u00e9", "m\u00fcnchen"]),
    ("3rd-quarter profit", ["3rd", "-", "quarter", "profit"]),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_options_and_types():
    assert tokenize("Hello, World!", lower=False) == ["Hello", ",", "World", "!"]
    assert tokenize("Hello, World! It's 2.5%", punctuation=False) == ["hello", "world", "it's",
                                                                     "2.5"]
    assert tokenize("!!! ...", punctuation=False) == []
    for bad in (None, 3, ["a", "list"], b"bytes"):
        with pytest.raises(TypeError):
            tokenize(bad)


def test_every_non_space_character_lands_in_some_token():
    text = "Wall St. Bears (Reuters) - $2.6bn; 10% of U.S.-led #1 e-mail_list \u2014 caf\u00e9!"
    assert "".join(tokenize(text, lower=False)) == text.replace(" ", "")


# ------------------------------------------------------------------ vocabulary


TEXTS = ["the cat sat", "the dog sat", "a cat ran", "the end"]


def test_special_ids_are_documented_constants():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS])
    assert (PAD_ID, UNK_ID) == (0, 1) and (PAD, UNK) == ("<pad>", "<unk>")
    assert vocab.pad_id == 0 and vocab.unk_id == 1
    assert vocab.itos[:2] == ["<pad>", "<unk>"]
    assert vocab.encode(["<pad>", "<unk>"]) == [0, 1]


def test_min_freq_keeps_tokens_seen_often_enough_most_frequent_first():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS], min_freq=2)
    assert vocab.itos == ["<pad>", "<unk>", "the", "cat", "sat"]
    assert vocab.encode(tokenize("The cat ate")) == [2, 3, UNK_ID]
    assert "dog" not in vocab and "cat" in vocab and len(vocab) == 5
    assert vocab.counts["dog"] == 1  # kept for statistics even when below min_freq
    everything = Vocabulary.build([tokenize(t) for t in TEXTS], min_freq=1)
    assert set(everything.itos[2:]) == {w for t in TEXTS for w in t.split()}


def test_vocabulary_ids_do_not_depend_on_the_order_of_the_texts():
    lists = [tokenize(t) for t in TEXTS * 3]
    vocab = Vocabulary.build(lists)
    for seed in range(3):
        shuffled = lists[:]
        random.Random(seed).shuffle(shuffled)
        assert Vocabulary.build(shuffled).itos == vocab.itos
    assert Vocabulary.build(iter(lists)).itos == vocab.itos  # a generator is fine


def test_max_size_counts_the_special_tokens():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS], max_size=4)
    assert len(vocab) == 4 and vocab.itos[:2] == ["<pad>", "<unk>"]
    assert len(Vocabulary.build([], min_freq=1)) == 2


def test_decode_inverts_encode_up_to_unknown_words():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS])
    ids = vocab.encode(tokenize("the zebra sat"))
    assert vocab.decode(ids) == ["the", "<unk>", "sat"]
    assert vocab.decode(torch.tensor(ids)) == ["the", "<unk>", "sat"]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([len(vocab)])


@pytest.mark.parametrize("kwargs", [{"min_freq": 0}, {"min_freq": 1.5}, {"min_freq": True},
                                    {"max_size": 1}, {"max_size": 3.5}])
def test_bad_vocabulary_settings(kwargs):
    with pytest.raises(ValueError):
        Vocabulary.build([["a"]], **kwargs)


def test_raw_strings_are_rejected_where_tokens_are_expected():
    vocab = Vocabulary.build([["a"]])
    with pytest.raises(TypeError):
        Vocabulary.build(["not", "tokenized"])
    with pytest.raises(TypeError):
        vocab.encode("a b")
    with pytest.raises(TypeError):
        encode_texts("one text, not a list", vocab)


def test_encode_texts_truncates_to_max_len():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS])
    out = encode_texts(["the cat sat", "", "dog"], vocab, max_len=2)
    assert out == [vocab.encode(["the", "cat"]), [], vocab.encode(["dog"])]
    with pytest.raises(ValueError, match="max_len"):
        encode_texts(["a"], vocab, max_len=0)


# ------------------------------------------------------------------ padding and truncation


def test_pad_sequences_pads_right_and_reports_lengths():
    ids, lengths = pad_sequences([[5, 6, 7], [8], []])
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [0, 0, 0]]
    assert lengths.tolist() == [3, 1, 0]
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    reference = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor([5, 6, 7]), torch.tensor([8]), torch.tensor([], dtype=torch.long)],
        batch_first=True, padding_value=0)
    assert torch.equal(ids, reference)


@pytest.mark.parametrize(("seqs", "max_len", "truncation", "ids", "lengths"), [
    ([[]], None, "post", [[0]], [0]),
    ([[], []], 3, "post", [[0], [0]], [0, 0]),
    ([[4, 5, 6]], 1, "post", [[4]], [1]),
    ([[4, 5, 6]], 1, "pre", [[6]], [1]),
    ([[4, 5, 6, 7, 8], [9]], 3, "post", [[4, 5, 6], [9, 0, 0]], [3, 1]),
    ([[4, 5, 6, 7, 8], [9]], 3, "pre", [[6, 7, 8], [9, 0, 0]], [3, 1]),
    ([[4, 5]], 10, "post", [[4, 5]], [2]),  # width is the longest sequence, not max_len
    ([[4, 5, 6]], 3, "post", [[4, 5, 6]], [3]),
])
def test_padding_and_truncation_edge_cases(seqs, max_len, truncation, ids, lengths):
    got_ids, got_lengths = pad_sequences(seqs, max_len=max_len, truncation=truncation)
    assert got_ids.tolist() == ids and got_lengths.tolist() == lengths


def test_pad_sequences_accepts_tensors_and_a_custom_pad_id():
    ids, lengths = pad_sequences([torch.tensor([3, 4]), torch.tensor([5])], pad_id=9)
    assert ids.tolist() == [[3, 4], [5, 9]] and lengths.tolist() == [2, 1]


@pytest.mark.parametrize(("args", "kwargs", "error"), [
    (([],), {}, ValueError),
    (([[1, 2]],), {"max_len": 0}, ValueError),
    (([[1, 2]],), {"max_len": -3}, ValueError),
    (([[1, 2]],), {"max_len": 1.5}, ValueError),
    (([[1, 2]],), {"truncation": "middle"}, ValueError),
    (([[1.5, 2.0]],), {}, TypeError),
    (([["a", "b"]],), {}, TypeError),
    (("some text",), {}, TypeError),
    (([1, 2, 3],), {}, TypeError),
    (([torch.tensor([0.5, 1.0])],), {}, TypeError),
])
def test_bad_padding_arguments_are_clear_errors(args, kwargs, error):
    with pytest.raises(error):
        pad_sequences(*args, **kwargs)


# ------------------------------------------------------------------ the length-aware batcher


def test_bucket_sampler_yields_every_index_once_in_batches_of_similar_length():
    rng = random.Random(0)
    lengths = [rng.randint(1, 200) for _ in range(1000)]
    sampler = BucketBatchSampler(lengths, 20, seed=0)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    assert len(batches) == len(sampler) == 50 and all(len(b) <= 20 for b in batches)
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    shuffled = list(range(1000))
    rng.shuffle(shuffled)
    random_spread = sum(max(lengths[i] for i in shuffled[k:k + 20])
                        - min(lengths[i] for i in shuffled[k:k + 20]) for k in range(0, 1000, 20))
    assert spread < random_spread / 5
    again = BucketBatchSampler(lengths, 20, seed=0)
    assert list(again) == batches  # reproducible


def test_bucket_sampler_small_and_degenerate_inputs():
    assert list(BucketBatchSampler([], 4)) == []
    assert list(BucketBatchSampler([3], 4)) == [[0]]
    assert list(BucketBatchSampler([3, 1, 2], 2, shuffle=False)) == [[0, 1], [2]]
    assert list(BucketBatchSampler([3, 1, 2], 2, shuffle=False, drop_last=True)) == [[0, 1]]
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError):
            BucketBatchSampler([1, 2], bad)


def test_make_loader_feeds_the_model_and_keeps_order_without_shuffle():
    seqs = [[2, 3, 4], [5], [6, 7], [], [8, 9, 10, 11]]
    labels = [0, 1, 0, 1, 1]
    loader = make_loader(seqs, labels, batch_size=2, shuffle=False, max_len=3)
    batches = list(loader)
    assert torch.cat([y for _, y in batches]).tolist() == labels
    first_inputs, _ = batches[0]
    assert set(first_inputs) == {"input_ids", "lengths"}
    assert max(int(x["lengths"].max()) for x, _ in batches) == 3  # truncated to max_len
    model = BiLSTMClassifier(12, 2, 4, 3).eval()
    assert model(**first_inputs).shape == (2, 2)


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
