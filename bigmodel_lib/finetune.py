"""Fine-tuning a pretrained encoder quickly, on a CPU too (chapter 08).

The pieces that make fine-tuning cheap without making it wrong:

- ``tokenize``: token ids per text, truncated to ``max_length`` but *not* padded;
- ``pad_batch`` / ``text_loader``: *dynamic padding*: each batch is padded only to its
  own longest text, and *length bucketing* (chapter 07's ``BucketBatchSampler``) puts
  texts of similar length in one batch, so little compute is spent on padding tokens;
- ``warmup_linear``: the learning rate rises linearly for the first steps (warm-up),
  then falls linearly to zero (decay), the schedule BERT was fine-tuned with;
- ``freeze``: stop training the embeddings (half of MiniLM's parameters) and, if asked,
  the lowest layers; their backward pass and optimizer step are skipped;
- ``predict_texts``: evaluation in inference mode, longest-first batches sorted by length,
  logits returned in the original order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from bigmodel_lib import _args
from bigmodel_lib.text import BucketBatchSampler


@dataclass
class TokenizedTexts(Dataset):
    """Token ids of each text (unpadded) and their labels (``None`` when unlabelled)."""

    input_ids: list[list[int]]
    labels: list[int] | None = None
    pad_id: int = 0

    def __post_init__(self) -> None:
        if self.labels is not None and len(self.labels) != len(self.input_ids):
            raise ValueError(
                f"{len(self.input_ids)} texts but {len(self.labels)} labels; they must pair up"
            )

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, index: int) -> tuple[list[int], int]:
        label = -1 if self.labels is None else self.labels[index]
        return self.input_ids[index], label

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens of each text (special tokens included)."""
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64,
                           count=len(self.input_ids))


def tokenize(
    tokenizer, texts: Sequence[str], labels: Sequence[int] | None = None, *, max_length: int = 64
) -> TokenizedTexts:
    """Token ids of ``texts`` with [CLS]/[SEP], truncated to ``max_length`` tokens, unpadded."""
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings, not one string")
    if not isinstance(max_length, int) or max_length < 3:
        raise ValueError(f"max_length must be an integer >= 3 ([CLS] x [SEP]), got {max_length!r}")
    if len(texts) == 0:
        raise ValueError("there are no texts to tokenize")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length,
                        add_special_tokens=True, return_attention_mask=False,
                        return_token_type_ids=False)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return TokenizedTexts(list(encoded["input_ids"]), None if labels is None else list(labels),
                          pad_id)


def pad_batch(
    batch: Sequence[tuple[list[int], int]], pad_id: int = 0, multiple_of: int = 8
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Pad a batch to its longest text (rounded up to ``multiple_of``): (inputs, labels).

    ``inputs`` holds ``input_ids`` and ``attention_mask`` (1 = real token, 0 = padding).
    Rounding the length up keeps the number of distinct shapes small, which helps the
    CPU's kernels (each new shape costs a kernel set-up).
    """
    longest = max(len(ids) for ids, _ in batch)
    width = multiple_of * math.ceil(longest / multiple_of)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, _) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.as_tensor(ids)
        attention_mask[row, : len(ids)] = 1
    labels = torch.tensor([label for _, label in batch], dtype=torch.long)
    return {"input_ids": input_ids, "attention_mask": attention_mask}, labels


class DynamicPadding:
    """The collate function of ``text_loader``: ``pad_batch``, counting the examples it saw."""

    def __init__(self, pad_id: int = 0, multiple_of: int = 8) -> None:
        if not isinstance(multiple_of, int) or multiple_of < 1:
            raise ValueError(f"multiple_of must be a positive integer, got {multiple_of!r}")
        self.pad_id, self.multiple_of, self.examples = pad_id, multiple_of, 0

    def __call__(self, batch):
        self.examples += len(batch)
        return pad_batch(batch, self.pad_id, self.multiple_of)


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches of indices sorted by length, longest first (evaluation: the least padding)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i : i + batch_size].tolist() for i in range(0, len(order), batch_size)]


def text_loader(data: TokenizedTexts, batch_size: int = 32, *, shuffle: bool = True,
                bucket: bool = True, seed: int = 0, multiple_of: int = 8) -> DataLoader:
    """A DataLoader of ``(inputs dict, labels)`` with dynamic padding.

    ``bucket=True``: batches of texts of similar length: for training (``shuffle``)
    chapter 07's ``BucketBatchSampler`` (shuffled pools sorted by length), for evaluation
    all texts sorted by length, longest first. ``bucket=False``: random (or data) order.
    """
    if not isinstance(data, TokenizedTexts):
        raise TypeError(
            f"text_loader needs TokenizedTexts (from tokenize), got {type(data).__name__}")
    collate = DynamicPadding(data.pad_id, multiple_of)
    if bucket and shuffle:
        sampler = BucketBatchSampler(data.lengths.tolist(), batch_size, shuffle=True, seed=seed)
        return DataLoader(data, batch_sampler=sampler, collate_fn=collate)
    if bucket:
        batches = length_sorted_batches(data.lengths, batch_size)
        return DataLoader(data, batch_sampler=batches, collate_fn=collate)
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(data, batch_size=batch_size, shuffle=shuffle, collate_fn=collate,
                      generator=generator)


def warmup_linear(optimizer: torch.optim.Optimizer, total_steps: int,
                  warmup: float | int = 0.1, *,
                  time_budget_s: float | None = None) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up from 0 to the optimizer's lr, then linear decay to 0 at ``total_steps``.

    ``warmup`` is a number of steps (an int) or a fraction of ``total_steps`` (a float
    in [0, 1)). Step the scheduler once per optimizer step.

    With ``time_budget_s`` the factor is also at most ``1 - elapsed / time_budget_s``
    (the clock starts now): on a machine too slow to finish the planned steps within
    the budget, the learning rate still reaches zero when the budget runs out, so a run
    stopped by the budget ends annealed instead of at a high learning rate.
    """
    if time_budget_s is not None:
        _args.real("time_budget_s", time_budget_s, above=0, expected="a positive number of seconds")
    total_steps = _args.integer("total_steps", total_steps, minimum=1, expected="a positive integer")
    if isinstance(warmup, float):
        if not 0 <= warmup < 1:
            raise ValueError(f"a warm-up fraction must be in [0, 1), got {warmup}")
        warmup_steps = round(warmup * total_steps)
    elif isinstance(warmup, int) and 0 <= warmup < total_steps:
        warmup_steps = warmup
    else:
        raise ValueError(f"warmup must be a fraction in [0, 1) or a step count below "
                         f"total_steps={total_steps}, got {warmup!r}")

    start = time.perf_counter()

    def factor(step: int) -> float:
        if step < warmup_steps:
            planned = (step + 1) / warmup_steps
        else:
            planned = max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
        if time_budget_s is None:
            return planned
        return min(planned, max(0.0, 1.0 - (time.perf_counter() - start) / time_budget_s))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def encoder_of(model: nn.Module) -> nn.Module:
    """The BERT-style encoder inside a classifier (it has ``embeddings`` and ``encoder.layer``)."""
    for candidate in (getattr(model, "encoder", None), getattr(model, "base_model", None), model):
        if candidate is not None and hasattr(candidate, "embeddings") and hasattr(
            getattr(candidate, "encoder", None), "layer"
        ):
            return candidate
    raise TypeError(
        f"{type(model).__name__} has no BERT-style encoder (embeddings + encoder.layer)")


def freeze(model: nn.Module, *, embeddings: bool = True, layers: int = 0) -> int:
    """Stop training the embeddings and the lowest ``layers`` layers; return trainable params.

    Frozen parts still run forward, but need no gradients and no optimizer state.
    """
    encoder = encoder_of(model)
    blocks = encoder.encoder.layer
    if not isinstance(layers, int) or not 0 <= layers <= len(blocks):
        raise ValueError(f"layers must be an integer in [0, {len(blocks)}], got {layers!r}")
    model.requires_grad_(True)
    encoder.embeddings.requires_grad_(not embeddings)
    for block in blocks[:layers]:
        block.requires_grad_(False)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def set_dropout(model: nn.Module, p: float) -> int:
    """Set the probability of every dropout layer in ``model`` to ``p``; return how many.

    Dropout fights over-fitting, which comes from seeing the same examples many times.
    In a single pass over the data no example is seen twice, and dropout only slows
    learning down (chapter 04 explains dropout; ``benchmarks/NOTES.md`` measures this).
    """
    p = _args.real("p", p, minimum=0, below=1, expected="a dropout probability in [0, 1)")
    layers = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    for layer in layers:
        layer.p = p
    return len(layers)


def predict_texts(model: nn.Module, data: TokenizedTexts, *, batch_size: int = 256,
                  amp: str | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """Logits for every text, in the original order (``train.predict`` on batches sorted
    by length, longest first, so each batch carries almost no padding)."""
    from bigmodel_lib.train import predict

    loader = text_loader(data, batch_size, shuffle=False)
    order = torch.as_tensor([i for batch in loader.batch_sampler for i in batch])
    logits = predict(model, loader, amp=amp, device=device)
    result = torch.empty_like(logits)
    result[order] = logits
    return result


def cpu_supports_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX): autocast pays off."""
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def auto_amp(device: torch.device | str) -> str | None:
    """The mixed precision worth using on ``device``: "bf16" where it is native, else None."""
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type == "cpu":
        return "bf16" if cpu_supports_bf16() else None
    return None


@dataclass(frozen=True)
class FinetuneConfig:
    """Settings of one fine-tuning run (see ``CPU_DEFAULTS`` for the measured CPU choice).

    ``max_train`` caps the training rows (None: all); ``amp="auto"`` picks bf16 where the
    hardware computes it natively (``auto_amp``); ``warmup`` is a fraction of all steps;
    ``dropout`` sets every dropout layer's probability (None: keep the model's own);
    ``time_budget_s`` stops training after the batch that passes this many seconds, the
    learning rate reaching zero by then (``warmup_linear``); None: no limit.
    ``eval_length`` is the truncation length for predictions: the larger of
    ``max_length`` and ``eval_max_length`` (reading more of each text at test time than
    in training is cheap and measured better; see ``benchmarks/NOTES.md``).
    """

    max_train: int | None = None
    max_length: int = 64
    epochs: int = 1
    batch_size: int = 32
    lr: float = 2e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    freeze_embeddings: bool = True
    freeze_layers: int = 0
    dropout: float | None = None
    amp: str | None = "auto"
    eval_batch_size: int = 256
    eval_max_length: int | None = None
    time_budget_s: float | None = None

    def __post_init__(self) -> None:
        if self.max_train is not None:
            _args.integer("max_train", self.max_train, minimum=1, expected="a positive integer or None")
        for name in ("max_length", "epochs", "batch_size", "eval_batch_size"):
            _args.integer(name, getattr(self, name), minimum=1, expected="a positive integer")
        if self.max_length < 3:
            raise ValueError(f"max_length must be >= 3 ([CLS] x [SEP]), got {self.max_length}")
        _args.real("lr", self.lr, above=0, expected="positive (a number > 0)")
        _args.real("warmup", self.warmup, minimum=0, expected="a fraction of the steps or a number of steps")
        _args.real("weight_decay", self.weight_decay, minimum=0, expected="a number >= 0")
        _args.real("grad_clip", self.grad_clip, above=0, expected="a positive number")
        _args.flag("freeze_embeddings", self.freeze_embeddings)
        _args.integer("freeze_layers", self.freeze_layers, minimum=0, expected="an integer >= 0")
        if self.eval_max_length is not None:
            _args.integer("eval_max_length", self.eval_max_length, minimum=3,
                          expected="None or an integer >= 3")
        if self.time_budget_s is not None:
            _args.real("time_budget_s", self.time_budget_s, above=0,
                       expected="None or a positive number of seconds")
        if self.dropout is not None:
            _args.real("dropout", self.dropout, minimum=0, below=1, expected="None or in [0, 1)")
        if self.amp not in ("auto", None, "bf16", "fp16"):
            raise ValueError(f"amp must be 'auto', None, 'bf16' or 'fp16', got {self.amp!r}")

    @property
    def eval_length(self) -> int:
        """Tokens per text when predicting: at least as many as in training."""
        return max(self.max_length, self.eval_max_length or self.max_length)

    def amp_on(self, device: torch.device | str) -> str | None:
        """The mixed precision this config means on ``device``: ``amp``, with "auto" resolved
        by ``auto_amp``."""
        return auto_amp(device) if self.amp == "auto" else self.amp


# The notebook's default CPU settings, and the benchmark's defaults for --model minilm.
# Each choice was measured on a shared 2-core CPU (benchmarks/NOTES.md): up to 40,000
# rows, 48 tokens in training and 64 when predicting, word-piece table and the 2 lowest
# layers frozen, no dropout, bf16 where native, and a 290 s training budget: on a 2-core
# CPU it ends partway through the second pass, with the learning rate annealed to zero.
CPU_DEFAULTS = FinetuneConfig(max_train=40_000, max_length=48, eval_max_length=64, epochs=2,
                              batch_size=32, lr=2e-4, warmup=0.1, freeze_embeddings=True,
                              freeze_layers=2, dropout=0.0, amp="auto", time_budget_s=290.0)
# Colab with a GPU: all of AG News, bert-base-uncased, the classic recipe.
GPU_DEFAULTS = FinetuneConfig(max_train=None, max_length=128, epochs=1, batch_size=32, lr=5e-5,
                              warmup=0.06, freeze_embeddings=False)


def finetune(
    model: nn.Module, tokenizer, texts: Sequence[str], labels: Sequence[int],
    config: FinetuneConfig = CPU_DEFAULTS, *,
    val: tuple[Sequence[str], Sequence[int]] | None = None,
    seed: int = 0, device: torch.device | str | None = None,
    live_plot=None, progress: bool = True,
):
    """Fine-tune ``model`` on ``(texts, labels)`` with ``fit``; return its ``History``.

    AdamW on the trainable parameters (after ``freeze``), warm-up then linear decay per
    step, gradient clipping, dynamic padding with length bucketing, autocast per
    ``config.amp``. With ``config.time_budget_s`` training stops after the batch that passes it,
    and the learning rate decays on whichever comes first, the planned last step or the
    budget, so a stopped run still ends with a small learning rate. The returned
    history's ``examples_seen`` counts the training examples used.
    """
    from bigmodel_lib.train import fit

    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    amp = config.amp_on(device)
    freeze(model, embeddings=config.freeze_embeddings, layers=config.freeze_layers)
    if config.dropout is not None:
        set_dropout(model, config.dropout)
    data = tokenize(tokenizer, texts, labels, max_length=config.max_length)
    # chapter 10: under torchrun each process trains on its share, with DDP averaging gradients
    data, train_model, config = _data_parallel(model, data, config, seed)
    loader = text_loader(data, config.batch_size, shuffle=True, seed=seed)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    total = len(loader) * config.epochs
    scheduler = warmup_linear(optimizer, total, config.warmup, time_budget_s=config.time_budget_s)
    val_data = None
    if val is not None:
        val_set = tokenize(tokenizer, val[0], val[1], max_length=config.max_length)
        val_data = text_loader(val_set, config.eval_batch_size, shuffle=False)
    history = fit(train_model, loader, nn.functional.cross_entropy, optimizer, config.epochs,
                  val_data=val_data, device=device, scheduler=scheduler,
                  scheduler_interval="step", grad_clip=config.grad_clip, amp=amp, seed=seed,
                  time_budget_s=config.time_budget_s, live_plot=live_plot, progress=progress)
    history.examples_seen = loader.collate_fn.examples * _world_size()
    return history


def _world_size() -> int:
    from bigmodel_lib.distributed import world

    return world().world_size


def _data_parallel(model: nn.Module, data: TokenizedTexts, config: FinetuneConfig, seed: int):
    """Chapter 10: (this process's share, the model to train, the config) under torchrun;
    ``(data, model, config)`` unchanged in a single process."""
    from bigmodel_lib import distributed

    if distributed.world().world_size == 1:
        return data, model, config
    if config.time_budget_s is not None:
        # each process would stop at its own step, and the others wait for it forever
        distributed.print0(f"data-parallel run: the {config.time_budget_s:g} s time budget is "
                           "not used (the processes must stop at the same step)")
        config = replace(config, time_budget_s=None)
    return distributed.shard(data, seed=seed), distributed.wrap_ddp(model), config
