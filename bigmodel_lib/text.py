"""Text to tensors for a model trained from scratch (chapter 07).

The pipeline of the chapter, one function or class per step:

    text --tokenize--> tokens --Vocabulary.encode--> ids --pad_sequences--> a padded batch

- ``tokenize``: lower-case, then words (``street's`` stays one word, so does ``street’s``
  with a typographic apostrophe), numbers (``2.6``) and every punctuation mark as its
  own token.
- ``Vocabulary``: the tokens seen at least ``min_freq`` times in the training texts, most
  frequent first, after two special tokens: ``<pad>`` (id 0) fills short sequences and
  ``<unk>`` (id 1) stands for every word the vocabulary does not know.
- ``pad_sequences``: cut sequences to ``max_len`` and pad them on the right into one
  ``(batch, time)`` tensor, with the true lengths beside it.
- ``BucketBatchSampler`` + ``PadCollate`` (or ``make_loader`` for both): batches of texts
  of similar length, so little of each batch is padding.
"""

from __future__ import annotations

import numbers
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from bigmodel_lib import _args

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1

# A number with its decimal point or thousands separators, a word (letters and digits,
# inner apostrophes kept: "street's", "don't"), or one punctuation character.
_TOKEN = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:'[^\W_]+)*|[^\w\s]|_")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'"})


def tokenize(text: str, *, lower: bool = True, punctuation: bool = True) -> list[str]:
    """Split ``text`` into word, number and punctuation tokens (lower-cased by default).

    >>> tokenize("Wall St.'s rally: $2.6 billion!")
    ['wall', 'st', '.', "'", 's', 'rally', ':', '$', '2.6', 'billion', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a string, got {type(text).__name__}")
    if lower:
        text = text.lower()
    text = text.translate(_QUOTES)  # typographic apostrophes: "it’s" is "it's"
    tokens = _TOKEN.findall(text)
    if not punctuation:
        tokens = [t for t in tokens if t[0].isalnum()]
    return tokens


class Vocabulary:
    """A token <-> id table with ``<pad>`` = 0 and ``<unk>`` = 1 (chapter 07).

    Build it from training texts with ``Vocabulary.build(token_lists, min_freq=2)``;
    ``counts`` keeps every token's training frequency (for vocabulary statistics).
    """

    def __init__(self, tokens: Sequence[str], counts: Counter | None = None) -> None:
        tokens = list(tokens)
        if tokens[:2] != [PAD, UNK]:
            raise ValueError(f"a vocabulary must start with {PAD!r}, {UNK!r}; got {tokens[:2]}")
        if len(set(tokens)) != len(tokens):
            duplicate = next(t for t, c in Counter(tokens).items() if c > 1)
            raise ValueError(f"token {duplicate!r} appears more than once in the vocabulary")
        self.itos = tokens
        self.stoi = {token: i for i, token in enumerate(tokens)}
        self.counts = Counter() if counts is None else Counter(counts)

    @classmethod
    def build(
        cls,
        token_lists: Iterable[Sequence[str]],
        min_freq: int = 1,
        max_size: int | None = None,
    ) -> Vocabulary:
        """Every token seen at least ``min_freq`` times, most frequent first (ties: A-Z).

        ``max_size`` caps the vocabulary's size, the two special tokens included.
        """
        min_freq = _args.integer("min_freq", min_freq, minimum=1)
        if max_size is not None:
            max_size = _args.integer("max_size", max_size, minimum=2,
                                     expected=f"an integer >= 2 (room for {PAD}, {UNK})")
        counts: Counter = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("Vocabulary.build expects lists of tokens; tokenize the texts "
                                "first: Vocabulary.build(tokenize(t) for t in texts)")
            counts.update(tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in (PAD, UNK)),
                      key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[: max_size - 2]
        return cls([PAD, UNK, *kept], counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens: {', '.join(self.itos[:8])}, ...)"

    @property
    def pad_id(self) -> int:
        return PAD_ID

    @property
    def unk_id(self) -> int:
        return UNK_ID

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Token ids; unknown tokens become ``<unk>`` (1)."""
        if isinstance(tokens, str):
            raise TypeError("encode expects a list of tokens; use encode_texts for raw texts")
        return [self.stoi.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens for ids (the inverse of ``encode`` up to unknown words)."""
        out = []
        for i in ids:
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise ValueError(f"id {i} is outside the vocabulary (0..{len(self.itos) - 1})")
            out.append(self.itos[i])
        return out

    def coverage(self, token_lists: Iterable[Sequence[str]]) -> float:
        """The fraction of tokens in ``token_lists`` that the vocabulary knows."""
        known = total = 0
        for tokens in token_lists:
            total += len(tokens)
            known += sum(t in self.stoi for t in tokens)
        return known / total if total else 1.0


def encode_texts(
    texts: Iterable[str],
    vocab: Vocabulary,
    tokenizer: Callable[[str], list[str]] = tokenize,
    max_len: int | None = None,
) -> list[list[int]]:
    """Tokenize and encode every text; keep the first ``max_len`` ids of each when given."""
    if isinstance(texts, str):
        raise TypeError("encode_texts expects a list of texts, got one string; "
                        "wrap it in a list: encode_texts([text], vocab)")
    _check_max_len(max_len)
    return [vocab.encode(tokenizer(text))[:max_len] for text in texts]


def _check_max_len(max_len: int | None) -> None:
    if max_len is not None:
        _args.integer("max_len", max_len, minimum=1, expected="a positive integer or None")


def pad_sequences(
    sequences: Sequence[Sequence[int]],
    max_len: int | None = None,
    pad_id: int = PAD_ID,
    truncation: str = "post",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad (on the right) and truncate id sequences into one tensor.

    Returns ``(ids, lengths)``: ``ids`` is a ``(batch, time)`` long tensor whose width is
    the longest sequence (at most ``max_len``), ``lengths`` the number of real tokens in
    each row. ``truncation="post"`` keeps the first ``max_len`` tokens (a news item's
    title and opening), ``"pre"`` keeps the last ones.
    """
    _check_max_len(max_len)
    if truncation not in ("post", "pre"):
        raise ValueError(f"truncation must be 'post' or 'pre', got {truncation!r}")
    if len(sequences) == 0:
        raise ValueError("pad_sequences needs at least one sequence")
    cut = []
    for row, seq in enumerate(sequences):
        seq = _id_list(seq, row)
        if max_len is not None and len(seq) > max_len:
            seq = seq[:max_len] if truncation == "post" else seq[-max_len:]
        cut.append(seq)
    lengths = torch.tensor([len(s) for s in cut], dtype=torch.long)
    width = max(1, int(lengths.max()))
    ids = torch.full((len(cut), width), pad_id, dtype=torch.long)
    for row, seq in enumerate(cut):
        if seq:
            ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids, lengths


def _id_list(seq: Sequence[int], row: int) -> list[int]:
    """``seq`` as a list of Python ints; anything but integer ids is a TypeError."""
    if isinstance(seq, torch.Tensor):
        if seq.dim() != 1 or seq.is_floating_point() or seq.is_complex() or seq.dtype == torch.bool:
            raise TypeError(f"sequence {row} must be a 1-D integer tensor of token ids, got "
                            f"shape {tuple(seq.shape)} and {seq.dtype}")
        return seq.tolist()
    if isinstance(seq, str | bytes) or not isinstance(seq, Iterable):
        raise TypeError(f"sequence {row} must be a list of integer token ids, got "
                        f"{type(seq).__name__}; encode texts first (Vocabulary.encode)")
    seq = list(seq)
    bad = next((x for x in seq if isinstance(x, bool) or not isinstance(x, numbers.Integral)),
               None)
    if bad is not None:
        raise TypeError(f"sequence {row} must hold integer token ids, found {bad!r}")
    return [int(x) for x in seq]


class EncodedTexts(Dataset):
    """Id sequences with their labels: ``dataset[i] == (ids_i, label_i)``."""

    def __init__(self, sequences: Sequence[Sequence[int]], labels: Sequence[int]) -> None:
        if len(sequences) != len(labels):
            raise ValueError(f"one label per sequence needed: {len(sequences)} sequences, "
                             f"{len(labels)} labels")
        self.sequences = [list(s) for s in sequences]
        self.labels = [int(y) for y in labels]
        self.lengths = [len(s) for s in self.sequences]

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int) -> tuple[list[int], int]:
        return self.sequences[i], self.labels[i]


class PadCollate:
    """Turn a list of ``(ids, label)`` into ``({"input_ids", "lengths"}, labels)`` tensors.

    The inputs are a dict, so ``train.fit`` calls ``model(input_ids=..., lengths=...)``.
    """

    def __init__(self, pad_id: int = PAD_ID, max_len: int | None = None) -> None:
        _check_max_len(max_len)
        self.pad_id, self.max_len = pad_id, max_len

    def __call__(self, batch: Sequence[tuple[Sequence[int], int]]) -> tuple[dict, torch.Tensor]:
        ids, lengths = pad_sequences([seq for seq, _ in batch], self.max_len, self.pad_id)
        labels = torch.tensor([label for _, label in batch], dtype=torch.long)
        return {"input_ids": ids, "lengths": lengths}, labels


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices whose sequences have similar lengths (a length-aware batcher).

    With ``shuffle=True`` each epoch shuffles all indices, cuts them into pools of
    ``batch_size * pool_batches``, sorts each pool by length, cuts the pools into
    batches and shuffles the batches: batches hold similar lengths (little padding) but
    still differ from epoch to epoch. Epoch ``e`` uses the generator seed ``seed + e``,
    so a run can be repeated exactly. With ``shuffle=False`` batches are consecutive
    indices in data order, so predictions line up with the labels.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        pool_batches: int = 50,
        drop_last: bool = False,
        seed: int = 0,
    ) -> None:
        batch_size = _args.integer("batch_size", batch_size, minimum=1, expected="a positive integer")
        pool_batches = _args.integer("pool_batches", pool_batches, minimum=1, expected="a positive integer")
        self.lengths = [int(n) for n in lengths]
        self.batch_size, self.shuffle, self.pool_batches = batch_size, shuffle, pool_batches
        self.drop_last, self.seed, self.epoch = drop_last, seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order the next iteration yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        n, b = len(self.lengths), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[list[int]]:
        n, b = len(self.lengths), self.batch_size
        if not self.shuffle:
            batches = [list(range(i, min(i + b, n))) for i in range(0, n, b)]
        else:
            generator = torch.Generator().manual_seed(self.seed + self.epoch)
            self.epoch += 1  # the next pass over the data gets a new order
            order = torch.randperm(n, generator=generator).tolist()
            pool = b * self.pool_batches
            batches = []
            for start in range(0, n, pool):
                chunk = sorted(order[start:start + pool], key=lambda i: self.lengths[i])
                batches += [chunk[i:i + b] for i in range(0, len(chunk), b)]
            batches = [batches[i] for i in torch.randperm(len(batches), generator=generator)]
        if self.drop_last:
            batches = [batch for batch in batches if len(batch) == b]
        yield from batches


def make_loader(
    sequences: Sequence[Sequence[int]],
    labels: Sequence[int],
    batch_size: int = 64,
    *,
    shuffle: bool = True,
    bucket: bool = True,
    max_len: int | None = None,
    pad_id: int = PAD_ID,
    seed: int = 0,
) -> DataLoader:
    """A DataLoader of padded batches ``({"input_ids", "lengths"}, labels)``.

    ``bucket=True`` groups texts of similar length (``BucketBatchSampler``); ``False``
    batches them in random (or, without shuffle, data) order.
    """
    dataset = EncodedTexts(sequences, labels)
    if bucket:
        sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed)
    else:
        generator = torch.Generator().manual_seed(seed)
        inner = (torch.utils.data.RandomSampler(dataset, generator=generator) if shuffle
                 else torch.utils.data.SequentialSampler(dataset))
        sampler = torch.utils.data.BatchSampler(inner, batch_size, drop_last=False)
    return DataLoader(dataset, batch_sampler=sampler, collate_fn=PadCollate(pad_id, max_len))


def padding_fraction(loader: Iterable) -> float:
    """The share of ``input_ids`` positions in all the loader's batches that are padding."""
    real = total = 0
    for inputs, _ in loader:
        real += int(inputs["lengths"].sum())
        total += inputs["input_ids"].numel()
    return 1.0 - real / total if total else 0.0
