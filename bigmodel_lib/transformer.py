"""Attention and the Transformer encoder, from scratch in plain torch (chapter 09).

Everything a BERT-family encoder computes, written to read like the equations of
chapter 09 and checked against ``torch.nn.functional.scaled_dot_product_attention`` and
``transformers``' ``BertModel`` in ``tests/test_transformer.py``:

- ``scaled_dot_product_attention(q, k, v, mask)``: softmax(q·kᵀ/√d_k)·v, and the weights;
- ``MultiHeadSelfAttention``: h heads of size d/h side by side, then an output projection;
- ``FeedForward``: W₂·GELU(W₁·x + b₁) + b₂, applied to every position alone;
- ``EncoderLayer``: attention and feed-forward, each with a residual connection followed by
  LayerNorm ("post-LN", as in BERT and the original Transformer);
- ``Encoder``: word + position + token-type embeddings, LayerNorm, N layers;
  ``Encoder.from_bert_state_dict`` fills it with a Hugging Face BERT checkpoint's weights;
- ``mean_pool``: a sentence vector as the mean of its real (non-padding) token vectors.

No ``transformers`` inside: only the names of a BERT state dict are borrowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

__all__ = [
    "Encoder",
    "EncoderLayer",
    "EncoderOutput",
    "FeedForward",
    "MultiHeadSelfAttention",
    "mean_pool",
    "scaled_dot_product_attention",
]


def _check_tensor(name: str, value: Any, min_dim: int) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.dim() < min_dim:
        raise ValueError(f"{name} must have at least {min_dim} dimensions, got shape {tuple(value.shape)}")


def scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention as a soft dictionary look-up: ``softmax(q kᵀ / √d_k) v``.

    Args:
        q: queries, shape ``(..., L_q, d_k)``.
        k: keys, shape ``(..., L_k, d_k)``.
        v: values, shape ``(..., L_k, d_v)``.
        mask: optional boolean "may attend" mask, broadcastable to ``(..., L_q, L_k)``:
            ``True`` where query i may look at key j. A padding mask of shape ``(B, L)``
            becomes ``mask[:, None, None, :]`` for ``(B, heads, L, L)`` scores.

    Returns:
        ``(output, weights)``: output ``(..., L_q, d_v)``, and the attention weights
        ``(..., L_q, L_k)`` (each row sums to 1; masked keys get exactly 0).

    Raises ValueError for shapes that do not fit together, a non-boolean mask (an additive
    float mask means something else), or a query that may attend to nothing (its softmax
    would be 0/0).
    """
    for name, value in (("q", q), ("k", k), ("v", v)):
        _check_tensor(name, value, 2)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must have the same last dimension d_k, got q {tuple(q.shape)} "
                         f"and k {tuple(k.shape)}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same number of positions L_k, got k {tuple(k.shape)} "
                         f"and v {tuple(v.shape)}")
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        _check_tensor("mask", mask, 1)
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be boolean (True = may attend), got dtype {mask.dtype}; "
                             "for a 0/1 padding mask use mask.bool()")
        try:
            shape = torch.broadcast_shapes(mask.shape, scores.shape)
        except RuntimeError:
            shape = None
        if shape != scores.shape:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not broadcast to the attention "
                             f"scores' shape {tuple(scores.shape)} (..., L_q, L_k)")
        if not mask.any(dim=-1).all():
            raise ValueError("some query may attend to no key at all (a mask row that is all False)")
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def _padding_mask(attention_mask: torch.Tensor | None, x: torch.Tensor) -> torch.Tensor | None:
    """A ``(B, L)`` 1/0 padding mask as a boolean ``(B, 1, 1, L)`` "may attend" mask."""
    if attention_mask is None:
        return None
    if not isinstance(attention_mask, torch.Tensor):
        raise TypeError(f"attention_mask must be a torch.Tensor, got {type(attention_mask).__name__}")
    if attention_mask.shape != x.shape[:2]:
        raise ValueError(f"attention_mask must have shape (batch, length) = {tuple(x.shape[:2])} "
                         f"(1 for a real token, 0 for padding), got {tuple(attention_mask.shape)}")
    return attention_mask.bool()[:, None, None, :]


class MultiHeadSelfAttention(nn.Module):
    """``h`` attention heads over one sequence, each in its own ``d_model / h`` dimensions.

    ``head_i = Attention(X W_i^Q, X W_i^K, X W_i^V)`` and
    ``MultiHead(X) = Concat(head_1, ..., head_h) W^O``. The h query projections are stored
    side by side as one ``d_model × d_model`` linear layer ``w_q`` (likewise ``w_k``, ``w_v``).
    """

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        for name, value in (("d_model", d_model), ("n_heads", n_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if d_model % n_heads:
            raise ValueError(f"n_heads must divide d_model: {n_heads} heads cannot split {d_model} "
                             f"dimensions evenly (try a divisor of {d_model})")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, d_model)`` → ``(B, h, L, d_head)``."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.n_heads, self.d_head).transpose(1, 2)

    def forward(self, x: torch.Tensor,
                attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` ``(B, L, d_model)``, ``attention_mask`` ``(B, L)`` 1/0 → (output, weights ``(B, h, L, L)``)."""
        _check_tensor("x", x, 3)
        if x.shape[-1] != self.d_model:
            raise ValueError(f"x must have {self.d_model} features in its last dimension, got {tuple(x.shape)}")
        q, k, v = self.split_heads(self.w_q(x)), self.split_heads(self.w_k(x)), self.split_heads(self.w_v(x))
        heads, weights = scaled_dot_product_attention(q, k, v, _padding_mask(attention_mask, x))
        concat = heads.transpose(1, 2).reshape(x.shape)  # (B, L, h·d_head)
        return self.dropout(self.w_o(concat)), weights


ACTIVATIONS = {
    "gelu": nn.GELU,  # exact, with erf: BERT's
    "gelu_new": lambda: nn.GELU(approximate="tanh"),  # GPT-2's tanh approximation
    "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"),
    "relu": nn.ReLU,  # the original Transformer's
}


class FeedForward(nn.Module):
    """``FFN(x) = W₂ · act(W₁ x + b₁) + b₂``, the same two-layer perceptron at every position."""

    def __init__(self, d_model: int, d_ff: int, activation: str = "gelu", dropout: float = 0.0) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.w_1 = nn.Linear(d_model, d_ff)
        self.activation = ACTIVATIONS[activation]()
        self.w_2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.w_2(self.activation(self.w_1(x))))


class EncoderLayer(nn.Module):
    """One post-LayerNorm block, as in BERT:

    ``H = LayerNorm(X + MultiHead(X))``, then ``Y = LayerNorm(H + FFN(H))``.
    """

    def __init__(self, d_model: int, n_heads: int, d_ff: int, *, activation: str = "gelu",
                 layer_norm_eps: float = 1e-12, dropout: float = 0.0) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(d_model, n_heads, dropout)
        self.attention_norm = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.feed_forward = FeedForward(d_model, d_ff, activation, dropout)
        self.output_norm = nn.LayerNorm(d_model, eps=layer_norm_eps)

    def forward(self, x: torch.Tensor,
                attention_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        attended, weights = self.attention(x, attention_mask)
        h = self.attention_norm(x + attended)
        return self.output_norm(h + self.feed_forward(h)), weights


class EncoderOutput(NamedTuple):
    """What ``Encoder.forward`` returns."""

    last_hidden_state: torch.Tensor  # (B, L, d_model)
    attentions: tuple[torch.Tensor, ...]  # one (B, h, L, L) weight tensor per layer


# Config fields read from a transformers BertConfig (or a dict with the same names).
_CONFIG_FIELDS = {
    "vocab_size": "vocab_size", "d_model": "hidden_size", "n_layers": "num_hidden_layers",
    "n_heads": "num_attention_heads", "d_ff": "intermediate_size",
    "max_positions": "max_position_embeddings", "n_token_types": "type_vocab_size",
    "layer_norm_eps": "layer_norm_eps", "activation": "hidden_act",
}

# Our parameter name → the BERT state-dict name, per layer ({i}) and outside the layers.
_BERT_NAMES = {
    "word_embeddings.weight": "embeddings.word_embeddings.weight",
    "position_embeddings.weight": "embeddings.position_embeddings.weight",
    "token_type_embeddings.weight": "embeddings.token_type_embeddings.weight",
    "embedding_norm.weight": "embeddings.LayerNorm.weight",
    "embedding_norm.bias": "embeddings.LayerNorm.bias",
}
_BERT_LAYER_NAMES = {
    "attention.w_q": "attention.self.query",
    "attention.w_k": "attention.self.key",
    "attention.w_v": "attention.self.value",
    "attention.w_o": "attention.output.dense",
    "attention_norm": "attention.output.LayerNorm",
    "feed_forward.w_1": "intermediate.dense",
    "feed_forward.w_2": "output.dense",
    "output_norm": "output.LayerNorm",
}


class Encoder(nn.Module):
    """A BERT-style encoder: embeddings, LayerNorm, ``n_layers`` post-LN ``EncoderLayer``s.

    ``X⁰ = LayerNorm(E_word[ids] + E_pos[0..L-1] + E_type[types])``, then
    ``Xˡ = EncoderLayer_l(Xˡ⁻¹)`` for l = 1..N. ``forward`` returns an ``EncoderOutput``
    with ``last_hidden_state`` (``B × L × d_model``) and every layer's attention weights.
    """

    def __init__(self, vocab_size: int, d_model: int, n_layers: int, n_heads: int, d_ff: int, *,
                 max_positions: int = 512, n_token_types: int = 2, layer_norm_eps: float = 1e-12,
                 activation: str = "gelu", dropout: float = 0.0) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("n_layers", n_layers), ("d_ff", d_ff),
                            ("max_positions", max_positions), ("n_token_types", n_token_types)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.config = dict(vocab_size=vocab_size, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                           d_ff=d_ff, max_positions=max_positions, n_token_types=n_token_types,
                           layer_norm_eps=layer_norm_eps, activation=activation)
        self.word_embeddings = nn.Embedding(vocab_size, d_model)
        self.position_embeddings = nn.Embedding(max_positions, d_model)
        self.token_type_embeddings = nn.Embedding(n_token_types, d_model)
        self.embedding_norm = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, n_heads, d_ff, activation=activation, layer_norm_eps=layer_norm_eps,
                         dropout=dropout)
            for _ in range(n_layers))

    def embed(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Word + position + token-type vectors, then LayerNorm: ``(B, L)`` ids → ``(B, L, d_model)``."""
        _check_tensor("input_ids", input_ids, 2)
        if input_ids.dim() != 2 or input_ids.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"input_ids must be an integer tensor of shape (batch, length), "
                             f"got {input_ids.dtype} {tuple(input_ids.shape)}")
        length = input_ids.shape[1]
        if length > self.config["max_positions"]:
            raise ValueError(f"{length} tokens, but this encoder has position vectors for at most "
                             f"{self.config['max_positions']}; truncate the input")
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        elif token_type_ids.shape != input_ids.shape:
            raise ValueError(f"token_type_ids must have the shape of input_ids {tuple(input_ids.shape)}, "
                             f"got {tuple(token_type_ids.shape)}")
        positions = torch.arange(length, device=input_ids.device)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(positions)
             + self.token_type_embeddings(token_type_ids))
        return self.dropout(self.embedding_norm(x))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> EncoderOutput:
        x = self.embed(input_ids, token_type_ids)
        attentions = []
        for layer in self.layers:
            x, weights = layer(x, attention_mask)
            attentions.append(weights)
        return EncoderOutput(x, tuple(attentions))

    @classmethod
    def from_bert_state_dict(cls, state_dict: Mapping[str, torch.Tensor], config: Any) -> Encoder:
        """An ``Encoder`` holding a Hugging Face BERT checkpoint's weights.

        Args:
            state_dict: BERT's parameter names to tensors, e.g. ``safetensors.torch.load_file``
                of the packaged MiniLM's ``model.safetensors``, or ``BertModel.state_dict()``.
                A ``bert.`` prefix (task-model checkpoints) and the old ``gamma``/``beta``
                LayerNorm names are understood; the pooler and other extra keys are ignored.
            config: a transformers ``BertConfig`` or a dict with its field names
                (``hidden_size``, ``num_hidden_layers``, ``num_attention_heads``,
                ``intermediate_size``, ``vocab_size``, ``max_position_embeddings``,
                ``type_vocab_size``; ``layer_norm_eps`` and ``hidden_act`` optional).

        Raises KeyError naming the first missing key, ValueError naming a key whose shape
        does not fit the config.
        """
        def field(name: str, default: Any = None) -> Any:
            value = config.get(name, default) if isinstance(config, Mapping) else getattr(config, name, default)
            if value is None:
                raise ValueError(f"config lacks {name!r} (expected a BertConfig or a dict with BERT's field names)")
            return value

        defaults = {"layer_norm_eps": 1e-12, "hidden_act": "gelu"}
        kwargs = {ours: field(theirs, defaults.get(theirs)) for ours, theirs in _CONFIG_FIELDS.items()}
        positional = [kwargs.pop(k) for k in ("vocab_size", "d_model", "n_layers", "n_heads", "d_ff")]
        with torch.device("meta"):  # shapes only: the real tensors come from state_dict
            model = cls(*positional, **kwargs)

        prefix = "bert." if any(key.startswith("bert.embeddings.") for key in state_dict) else ""

        def lookup(name: str) -> torch.Tensor:
            candidates = [prefix + name]
            if name.endswith("LayerNorm.weight"):
                candidates.append(prefix + name[: -len("weight")] + "gamma")
            if name.endswith("LayerNorm.bias"):
                candidates.append(prefix + name[: -len("bias")] + "beta")
            for key in candidates:
                if key in state_dict:
                    return state_dict[key]
            raise KeyError(f"the state dict has no {prefix + name!r}, which the encoder's "
                           f"{model.config['n_layers']}-layer config needs")

        names = dict(_BERT_NAMES)
        for i in range(model.config["n_layers"]):
            for ours, theirs in _BERT_LAYER_NAMES.items():
                for kind in ("weight", "bias"):
                    names[f"layers.{i}.{ours}.{kind}"] = f"encoder.layer.{i}.{theirs}.{kind}"
        ours_state = {}
        for ours, theirs in names.items():
            tensor = lookup(theirs)
            expected = model.get_parameter(ours).shape
            if tensor.shape != expected:
                raise ValueError(f"{prefix + theirs!r} has shape {tuple(tensor.shape)}, but the config "
                                 f"needs {tuple(expected)}")
            ours_state[ours] = tensor.detach().clone()  # our own copy: training us leaves the source alone
        model.load_state_dict(ours_state, strict=True, assign=True)
        return model.eval()


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of each text's real token vectors: ``Σ_t m_t h_t / Σ_t m_t``.

    ``hidden`` ``(B, L, d)``, ``mask`` ``(B, L)`` with 1 for a real token and 0 for padding
    → ``(B, d)``. Padding positions do not count, so a text gets the same vector however
    much padding its batch needed.
    """
    _check_tensor("hidden", hidden, 3)
    _check_tensor("mask", mask, 2)
    if hidden.dim() != 3 or mask.shape != hidden.shape[:2]:
        raise ValueError(f"mask must have shape (batch, length) = {tuple(hidden.shape[:2])} for hidden "
                         f"of shape {tuple(hidden.shape)}, got {tuple(mask.shape)}")
    weights = mask.to(hidden.dtype).unsqueeze(-1)
    counts = weights.sum(dim=1)
    if (counts <= 0).any():
        raise ValueError("a text with no real tokens (its mask row is all 0) has no mean")
    return (hidden * weights).sum(dim=1) / counts
