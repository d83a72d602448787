import random
from collections import Counter

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import CountVectorizer
from torch.nn.utils.rnn import pad_sequence

from bigmodel_lib.bilstm import BiLSTMClassifier
from bigmodel_lib.text import (
    PAD,
    PAD_ID,
    UNK,
    UNK_ID,
    BucketBatchSampler,
    EncodedTexts,
    PadCollate,
    Vocabulary,
    encode_texts,
    make_loader,
    pad_sequences,
    padding_fraction,
    tokenize,
)

TEXTS = [
    "Wall St. Bears Claw Back Into the Black (Reuters). Short-sellers are seeing green again.",
    "Oil prices soar to all-time record, posing new menace to US economy.",
    "Wall Street's dwindling band of ultra-cynics, are seeing green again!",
    "Stocks end up, but near year lows as oil surged past $46 a barrel.",
]


@pytest.mark.parametrize(("text", "tokens"), [
    ("Wall St. Bears", ["wall", "st", ".", "bears"]),
    ("Wall Street's dwindling band", ["wall", "street's", "dwindling", "band"]),
    ("surged past $46.50, or 1,000 barrels", ["surged", "past", "$", "46.50", ",", "or", "1,000",
                                             "barrels"]),
    ("Short-sellers (Reuters)!", ["short", "-", "sellers", "(", "reuters", ")", "!"]),
    ("  CAPS   and\ttabs\n", ["caps", "and", "tabs"]),
    ("maître d' MP3", ["maître", "d", "'", "mp3"]),
    ("", []),
])
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_tokenize_options():
    assert tokenize("Oil, Gas!", lower=False) == ["Oil", ",", "Gas", "!"]
    assert tokenize("Oil, gas! 2.5 $", punctuation=False) == ["oil", "gas", "2.5"]
    with pytest.raises(TypeError, match="expects a string"):
        tokenize(["a list"])


def test_vocabulary_min_freq_order_and_specials():
    docs = [["b", "a", "c"], ["a", "b"], ["a", "d"]]
    vocab = Vocabulary.build(docs, min_freq=2)
    assert vocab.itos == [PAD, UNK, "a", "b"]
    assert (vocab.pad_id, vocab.unk_id) == (0, 1)
    assert vocab.encode(["a", "d", "zebra", "b"]) == [2, 1, 1, 3]
    assert vocab.decode([2, 1, 3, 0]) == ["a", UNK, "b", PAD]
    assert "a" in vocab and "d" not in vocab and len(vocab) == 4
    assert vocab.counts["d"] == 1  # statistics keep the rare words too
    everything = Vocabulary.build(docs)
    assert everything.itos == [PAD, UNK, "a", "b", "c", "d"]  # ties broken alphabetically
    assert Vocabulary.build(docs, max_size=3).itos == [PAD, UNK, "a"]


def test_vocabulary_counts_match_scikit_learn():
    tokens = [tokenize(t) for t in TEXTS]
    vocab = Vocabulary.build(tokens, min_freq=2)
    counter = CountVectorizer(tokenizer=tokenize, lowercase=False, token_pattern=None)
    matrix = counter.fit_transform(TEXTS)
    totals = dict(zip(counter.get_feature_names_out(), np.asarray(matrix.sum(axis=0))[0],
                      strict=True))
    assert dict(vocab.counts) == {t: int(c) for t, c in totals.items()}
    assert set(vocab.itos[2:]) == {t for t, c in totals.items() if c >= 2}


def test_vocabulary_round_trip_and_coverage():
    tokens = [tokenize(t) for t in TEXTS]
    vocab = Vocabulary.build(tokens)
    for seq in tokens:
        assert vocab.decode(vocab.encode(seq)) == seq
    assert vocab.coverage(tokens) == 1.0
    assert vocab.coverage([["wall", "zebra"]]) == 0.5
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([len(vocab)])


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"min_freq": 0}, ValueError, "min_freq must be an integer >= 1"),
    ({"max_size": 1}, ValueError, "max_size must be an integer >= 2"),
])
def test_vocabulary_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        Vocabulary.build([["a"]], **kwargs)


def test_vocabulary_rejects_raw_strings_and_bad_tables():
    with pytest.raises(TypeError, match="tokenize the texts first"):
        Vocabulary.build(TEXTS)
    with pytest.raises(ValueError, match="must start with"):
        Vocabulary(["a", PAD, UNK])
    with pytest.raises(ValueError, match="more than once"):
        Vocabulary([PAD, UNK, "a", "a"])
    with pytest.raises(TypeError, match="list of tokens"):
        Vocabulary([PAD, UNK]).encode("a string")


def test_encode_texts_truncates():
    vocab = Vocabulary.build(tokenize(t) for t in TEXTS)
    ids = encode_texts(TEXTS, vocab, max_len=5)
    assert [len(s) for s in ids] == [5, 5, 5, 5]
    assert vocab.decode(ids[0]) == ["wall", "st", ".", "bears", "claw"]
    with pytest.raises(ValueError, match="max_len must be a positive integer"):
        encode_texts(TEXTS, vocab, max_len=0)


def test_pad_sequences_matches_torch():
    rng = random.Random(0)
    seqs = [[rng.randrange(2, 50) for _ in range(rng.randrange(0, 12))] for _ in range(30)]
    seqs[0] = [3] * 11  # make sure the longest is known
    ids, lengths = pad_sequences(seqs)
    expected = pad_sequence([torch.tensor(s, dtype=torch.long) for s in seqs],
                            batch_first=True, padding_value=0)
    assert torch.equal(ids, expected)
    assert lengths.tolist() == [len(s) for s in seqs]
    assert ids.dtype == torch.long and lengths.dtype == torch.long


def test_pad_sequences_truncation_and_pad_id():
    ids, lengths = pad_sequences([[1, 2, 3, 4, 5], [6, 7]], max_len=3, pad_id=9)
    assert ids.tolist() == [[1, 2, 3], [6, 7, 9]] and lengths.tolist() == [3, 2]
    ids, _ = pad_sequences([[1, 2, 3, 4, 5], [6, 7]], max_len=3, truncation="pre")
    assert ids.tolist() == [[3, 4, 5], [6, 7, 0]]
    ids, lengths = pad_sequences([[], []])
    assert ids.tolist() == [[0], [0]] and lengths.tolist() == [0, 0]
    with pytest.raises(ValueError, match="truncation must be"):
        pad_sequences([[1]], truncation="middle")
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_sequences([])


def test_collate_gives_inputs_for_model_kwargs():
    inputs, labels = PadCollate()([([4, 5, 6], 2), ([7], 0)])
    assert inputs["input_ids"].tolist() == [[4, 5, 6], [7, 0, 0]]
    assert inputs["lengths"].tolist() == [3, 1]
    assert labels.tolist() == [2, 0] and labels.dtype == torch.long
    with pytest.raises(ValueError, match="one label per sequence"):
        EncodedTexts([[1], [2]], [0])


def lengths_for_test(n=1000, seed=0):
    rng = random.Random(seed)
    return [rng.randrange(1, 200) for _ in range(n)]


def test_bucket_sampler_covers_every_index_once_per_epoch():
    lengths = lengths_for_test(1003)
    sampler = BucketBatchSampler(lengths, batch_size=32, seed=1)
    for _ in range(2):
        batches = list(sampler)
        assert len(batches) == len(sampler) == 32
        assert sorted(i for batch in batches for i in batch) == list(range(1003))
        assert Counter(len(b) for b in batches) == Counter({32: 31, 11: 1})


def test_bucket_sampler_groups_similar_lengths():
    lengths = lengths_for_test()
    bucketed = list(BucketBatchSampler(lengths, batch_size=32, seed=0))
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(lengths), generator=generator).tolist()
    random_batches = [order[i:i + 32] for i in range(0, len(order), 32)]

    def spread(batches):
        return np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])

    assert spread(bucketed) < 0.2 * spread(random_batches)


def test_bucket_sampler_is_seeded_and_changes_between_epochs():
    lengths = lengths_for_test(300)
    a = BucketBatchSampler(lengths, batch_size=16, seed=3)
    b = BucketBatchSampler(lengths, batch_size=16, seed=3)
    first_a, first_b = list(a), list(b)
    assert first_a == first_b
    assert list(a) != first_a  # the second epoch differs from the first
    a.set_epoch(0)
    assert list(a) == first_a
    assert list(BucketBatchSampler(lengths, batch_size=16, seed=4)) != first_a


def test_bucket_sampler_without_shuffle_keeps_data_order_and_drop_last():
    sampler = BucketBatchSampler([5, 1, 9, 2, 7], batch_size=2, shuffle=False)
    assert list(sampler) == [[0, 1], [2, 3], [4]]
    dropping = BucketBatchSampler([5, 1, 9, 2, 7], batch_size=2, shuffle=False, drop_last=True)
    assert list(dropping) == [[0, 1], [2, 3]] and len(dropping) == 2
    assert all(len(b) == 4 for b in BucketBatchSampler(lengths_for_test(50), 4, drop_last=True))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        BucketBatchSampler([1, 2], batch_size=0)


def test_make_loader_pads_less_with_buckets():
    rng = random.Random(0)
    seqs = [[rng.randrange(2, 30) for _ in range(rng.randrange(1, 80))] for _ in range(600)]
    labels = [i % 4 for i in range(600)]
    bucketed = make_loader(seqs, labels, batch_size=32, seed=0)
    plain = make_loader(seqs, labels, batch_size=32, bucket=False, seed=0)
    assert padding_fraction(bucketed) < 0.5 * padding_fraction(plain)
    seen = []
    for inputs, y in bucketed:
        for row, n, label in zip(inputs["input_ids"], inputs["lengths"], y, strict=True):
            seen.append((tuple(row[:n].tolist()), int(label)))
            assert (row[n:] == 0).all()
    assert sorted(seen) == sorted((tuple(s), y) for s, y in zip(seqs, labels, strict=True))
    in_order = make_loader(seqs, labels, batch_size=50, shuffle=False)
    assert [int(y) for _, ys in in_order for y in ys] == labels
    truncated = make_loader(seqs, labels, batch_size=50, max_len=10)
    assert max(inputs["input_ids"].shape[1] for inputs, _ in truncated) == 10


# ================================ independent review (was tests/test_review_text.py)
# Review of issue 10's text pipeline and BiLSTM as an independent tester: tokenizer,
# vocabulary, padding / truncation, the length-aware batcher and the masked BiLSTM.


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
def test_tokenize_independent(text, tokens):
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


TEXTS_INDEPENDENT = ["the cat sat", "the dog sat", "a cat ran", "the end"]


def test_special_ids_are_documented_constants():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS_INDEPENDENT])
    assert (PAD_ID, UNK_ID) == (0, 1) and (PAD, UNK) == ("<pad>", "<unk>")
    assert vocab.pad_id == 0 and vocab.unk_id == 1
    assert vocab.itos[:2] == ["<pad>", "<unk>"]
    assert vocab.encode(["<pad>", "<unk>"]) == [0, 1]


def test_min_freq_keeps_tokens_seen_often_enough_most_frequent_first():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS_INDEPENDENT], min_freq=2)
    assert vocab.itos == ["<pad>", "<unk>", "the", "cat", "sat"]
    assert vocab.encode(tokenize("The cat ate")) == [2, 3, UNK_ID]
    assert "dog" not in vocab and "cat" in vocab and len(vocab) == 5
    assert vocab.counts["dog"] == 1  # kept for statistics even when below min_freq
    everything = Vocabulary.build([tokenize(t) for t in TEXTS_INDEPENDENT], min_freq=1)
    assert set(everything.itos[2:]) == {w for t in TEXTS_INDEPENDENT for w in t.split()}


def test_vocabulary_ids_do_not_depend_on_the_order_of_the_texts():
    lists = [tokenize(t) for t in TEXTS_INDEPENDENT * 3]
    vocab = Vocabulary.build(lists)
    for seed in range(3):
        shuffled = lists[:]
        random.Random(seed).shuffle(shuffled)
        assert Vocabulary.build(shuffled).itos == vocab.itos
    assert Vocabulary.build(iter(lists)).itos == vocab.itos  # a generator is fine


def test_max_size_counts_the_special_tokens():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS_INDEPENDENT], max_size=4)
    assert len(vocab) == 4 and vocab.itos[:2] == ["<pad>", "<unk>"]
    assert len(Vocabulary.build([], min_freq=1)) == 2


def test_decode_inverts_encode_up_to_unknown_words():
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS_INDEPENDENT])
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
    vocab = Vocabulary.build([tokenize(t) for t in TEXTS_INDEPENDENT])
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
