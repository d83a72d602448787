"""A bidirectional LSTM text classifier, padding handled properly (chapter 07).

    ids (B, T) -> embedding (B, T, E) -> BiLSTM over packed sequences (B, T, 2H)
               -> pool over the real time steps only (B, 2H) -> linear (B, classes)

Two details make the output independent of how much padding a batch adds:

- *packed sequences*: the LSTM reads each text only up to its length, so the backward
  direction starts at the last real word, not at the padding after it;
- *masked pooling*: the mean / max over time skips the padded steps.

The classifier predicts one label per text: the pooled vector summarises the whole
sequence. (A dense layer on the LSTM's per-step outputs, Keras's
``return_sequences=True`` without pooling, predicts one label per *time step* instead;
chapter 07 shows why that is wrong.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from bigmodel_lib import _args

POOLINGS = ("max", "mean", "last")


@dataclass(frozen=True)
class BiLSTMConfig:
    """Chapter 07's recipe for a BiLSTM trained from scratch (the news benchmark's ``bilstm``).

    ``max_train`` rows at most (None: all), texts cut to ``max_length`` words, a word
    vocabulary of the words seen ``min_freq`` times, ``embed_dim``/``hidden_dim`` sizes,
    max pooling, dropout, Adam at ``lr`` with gradient clipping, ``epochs`` passes of
    ``batch_size`` texts, stopped after ``time_budget_s`` seconds (None: no limit).
    Every value is checked when the config is made (the counterpart of
    ``finetune.FinetuneConfig`` for the pretrained encoders).
    """

    max_train: int | None = None
    max_length: int = 64
    epochs: int = 3
    batch_size: int = 64
    lr: float = 3e-3
    min_freq: int = 2
    embed_dim: int = 64
    hidden_dim: int = 64
    dropout: float = 0.2
    pooling: str = "max"
    grad_clip: float = 1.0
    time_budget_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_train is not None:
            _args.integer("max_train", self.max_train, minimum=1, expected="a positive integer or None")
        for name in ("max_length", "epochs", "batch_size", "min_freq", "embed_dim", "hidden_dim"):
            _args.integer(name, getattr(self, name), minimum=1, expected="a positive integer")
        _args.real("lr", self.lr, above=0, expected="a positive number")
        _args.real("dropout", self.dropout, minimum=0, below=1, expected="in [0, 1) (a number)")
        _args.real("grad_clip", self.grad_clip, above=0, expected="a positive number")
        if self.time_budget_s is not None:
            _args.real("time_budget_s", self.time_budget_s, above=0,
                       expected="a positive number of seconds or None")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")


def lstm_cell(
    x: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    weight_ih: torch.Tensor,
    weight_hh: torch.Tensor,
    bias_ih: torch.Tensor,
    bias_hh: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step from scratch, in torch's weight layout (gates stacked as i, f, g, o).

        i = sigmoid(W_ii x + W_hi h + b_i)     input gate
        f = sigmoid(W_if x + W_hf h + b_f)     forget gate
        g = tanh(W_ig x + W_hg h + b_g)        candidate cell
        o = sigmoid(W_io x + W_ho h + b_o)     output gate
        c' = f * c + i * g,   h' = o * tanh(c')

    ``x`` (B, E), ``h`` and ``c`` (B, H); ``weight_ih`` (4H, E), ``weight_hh`` (4H, H).
    Returns ``(h', c')``. ``nn.LSTM`` computes exactly this, much faster.
    """
    gates = x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c = f * c + i * g
    return o * torch.tanh(c), c


def lengths_from_padding(input_ids: torch.Tensor, pad_id: int = 0) -> torch.Tensor:
    """The length of each right-padded row: the position after its last non-pad token."""
    real = input_ids != pad_id
    positions = torch.arange(1, input_ids.shape[1] + 1, device=input_ids.device)
    return (real * positions).amax(dim=1) if input_ids.shape[1] else real.sum(dim=1)


def length_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """``mask[b, t]`` is True for the real time steps ``t < lengths[b]``."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of ``h`` (B, T, D) over the time steps where ``mask`` (B, T) is True."""
    weights = mask.to(h.dtype).unsqueeze(-1)
    return (h * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def masked_max(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The maximum of ``h`` (B, T, D) over the time steps where ``mask`` (B, T) is True."""
    return h.masked_fill(~mask.unsqueeze(-1), torch.finfo(h.dtype).min).amax(dim=1)


class BiLSTMClassifier(nn.Module):
    """Embedding -> bidirectional LSTM (packed) -> masked pooling over time -> linear.

    Args:
        vocab_size: number of token ids (``len(vocab)``).
        num_classes: number of labels.
        embed_dim, hidden_dim: sizes of a word vector and of one LSTM direction's state.
        num_layers: stacked LSTM layers.
        dropout: on the word vectors, between LSTM layers, and before the linear layer.
        pooling: ``"max"`` or ``"mean"`` over the real time steps, or ``"last"``: the
            forward direction's state after the last word with the backward direction's
            state after the first word.
        pad_id: the padding id (its word vector is fixed at zero).

    ``forward(input_ids, lengths=None)``: ``input_ids`` (B, T) right-padded ids;
    ``lengths`` (B,) real lengths, inferred from ``pad_id`` when omitted. Returns logits
    (B, num_classes). An empty text (length 0) is read as a single ``<pad>`` token.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        embed_dim: int = 64,
        hidden_dim: int = 64,
        *,
        num_layers: int = 1,
        dropout: float = 0.2,
        pooling: str = "max",
        pad_id: int = 0,
    ) -> None:
        super().__init__()
        vocab_size, num_classes, embed_dim, hidden_dim, num_layers = (
            _args.integer(name, value, minimum=1, expected="a positive integer")
            for name, value in (("vocab_size", vocab_size), ("num_classes", num_classes),
                                ("embed_dim", embed_dim), ("hidden_dim", hidden_dim),
                                ("num_layers", num_layers)))
        dropout = _args.real("dropout", dropout, minimum=0, below=1, expected="in [0, 1)")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
        if not 0 <= pad_id < vocab_size:
            raise ValueError(f"pad_id {pad_id} must be a token id in 0..{vocab_size - 1}")
        self.pooling, self.pad_id = pooling, pad_id
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_id)
        self.lstm = nn.LSTM(embed_dim, hidden_dim, num_layers=num_layers, batch_first=True,
                            bidirectional=True, dropout=dropout if num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden_dim, num_classes)

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """The pooled text vectors (B, 2 * hidden_dim), before the linear layer."""
        input_ids, lengths = self._check(input_ids, lengths)
        width = input_ids.shape[1]
        x = self.dropout(self.embedding(input_ids))
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        if self.pooling == "last":
            # h_n: (layers * 2, B, H); the top layer's forward and backward final states.
            return torch.cat([h_n[-2], h_n[-1]], dim=1)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=width)
        mask = length_mask(lengths.to(out.device), width)
        return masked_max(out, mask) if self.pooling == "max" else masked_mean(out, mask)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.dropout(self.encode(input_ids, lengths)))

    def _check(self, input_ids: torch.Tensor,
               lengths: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(input_ids, torch.Tensor) or input_ids.dtype not in (
                torch.int64, torch.int32, torch.int16, torch.uint8):
            raise TypeError("input_ids must be an integer tensor of token ids (batch, time), "
                            f"got {getattr(input_ids, 'dtype', type(input_ids).__name__)}")
        if input_ids.dim() != 2 or input_ids.shape[0] == 0:
            raise ValueError(
                f"input_ids must have shape (batch, time), got {tuple(input_ids.shape)}")
        if input_ids.shape[1] == 0:
            input_ids = torch.full((input_ids.shape[0], 1), self.pad_id, dtype=input_ids.dtype,
                                   device=input_ids.device)
        vocab_size = self.embedding.num_embeddings
        if int(input_ids.min()) < 0 or int(input_ids.max()) >= vocab_size:
            raise ValueError(f"token ids must lie in 0..{vocab_size - 1}; found "
                             f"{int(input_ids.min())}..{int(input_ids.max())}")
        if lengths is None:
            lengths = lengths_from_padding(input_ids, self.pad_id)
        lengths = torch.as_tensor(lengths)
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must be integers (real tokens per row), got {lengths.dtype}")
        lengths = lengths.long()
        if lengths.shape != (input_ids.shape[0],):
            raise ValueError(f"lengths must have shape ({input_ids.shape[0]},), one per row, "
                             f"got {tuple(lengths.shape)}")
        if int(lengths.min()) < 0 or int(lengths.max()) > input_ids.shape[1]:
            raise ValueError(f"lengths must lie in 0..{input_ids.shape[1]} (the padded width), "
                             f"got {lengths.tolist()[:8]}")
        empty = (lengths == 0).to(input_ids.device)
        if empty.any():  # read as one <pad>, whatever ids the row holds
            input_ids = input_ids.masked_fill(empty[:, None], self.pad_id)
        return input_ids.long(), lengths.clamp(min=1)
