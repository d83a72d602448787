"""The training loop every chapter uses: ``fit`` and ``predict`` (chapter 05).

One optimisation step is the five steps of chapter 05 (the parameters were
initialised when the model was built):

    outputs = model(inputs)               # forward
    loss = loss_fn(outputs, targets)      # loss
    optimizer.zero_grad(); loss.backward()  # backward
    optimizer.step()                      # update

``fit`` wraps those lines in what a careful practitioner adds around them: batching
and shuffling, validation and metrics, a progress bar and a live loss plot, a clear
stop when the loss becomes NaN, gradient clipping, learning-rate schedules, early
stopping, mixed precision, gradient accumulation, a time budget, and checkpoints
(``bigmodel_lib.checkpoint``) that let an interrupted run resume and end with exactly
the weights of an uninterrupted one. The helpers below each do one of those jobs, so
the loop of ``fit`` reads on one screen. It syncs with the
accelerator only a few times a second (losses are kept as tensors in between), so it
costs little more than the bare loop (``benchmarks/bench_fit.py`` measures it).
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, IterableDataset

from bigmodel_lib import _args
from bigmodel_lib.checkpoint import (
    CHECKPOINT_NAME,
    CheckpointError,
    load_checkpoint,
    prepare_checkpoint_dir,
    restore_checkpoint,
    run_settings,
    save_checkpoint,
)

__all__ = [
    "CHECKPOINT_NAME",
    "CheckpointError",
    "History",
    "NonFiniteLossError",
    "fit",
    "load_checkpoint",
    "predict",
]

AMP_MODES = (None, "bf16", "fp16")
SCHEDULER_INTERVALS = ("epoch", "step")
# Seconds between two looks at the losses (one sync with the device, NaN check, bar text).
CHECK_INTERVAL_S = 0.5
MAX_PENDING_STEPS = 256
# Monitored values whose best is the smallest; every other metric is maximised.
_MINIMISED = ("loss", "error", "mse", "mae", "rmse", "perplexity", "ece")


class NonFiniteLossError(FloatingPointError, RuntimeError, ValueError):
    """The training loss became NaN or infinite; the message names epoch, step and lr.

    It is a FloatingPointError, a RuntimeError and a ValueError, so code written for
    any of those catches it.
    """

    def __init__(self, message: str, *, epoch: int, step: int, global_step: int,
                 lr: float, value: float) -> None:
        super().__init__(message)
        self.epoch, self.step, self.global_step = epoch, step, global_step
        self.lr, self.value = lr, value


class History(dict):
    """Per-epoch records of a ``fit`` run: ``history["train_loss"]`` is a list, one value per epoch.

    Keys: ``train_loss``, ``lr``, ``epoch_time_s`` and, with validation data,
    ``val_loss`` and ``val_<metric>`` for each metric. The values are plain Python
    floats. Keys also read as attributes (``history.train_loss``); ``history["loss"]``
    is the training loss and ``history["<metric>"]`` the validation metric (Keras's
    names). Attributes:

    - ``best_epoch``: the epoch (1-based, like the plots) with the best monitored value,
      or None before any epoch finished;
    - ``stopped_early``: True when training ended before all epochs ran (early stopping
      or the time budget; ``stop_reason`` says which);
    - ``stop_reason``: a sentence saying why training ended.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.best_epoch: int | None = None
        self.stopped_early = False
        self.stop_reason = "not started"

    @property
    def epochs(self) -> int:
        """How many complete epochs are recorded."""
        return len(self.get("train_loss", []))

    def __missing__(self, key: Any) -> list[float]:
        if key == "loss" and "train_loss" in self:
            return self["train_loss"]
        if isinstance(key, str) and f"val_{key}" in self:
            return self[f"val_{key}"]
        raise KeyError(f"{key!r}: this history has the keys {sorted(self)}")

    def __getattr__(self, name: str) -> list[float]:
        if not name.startswith("_"):
            with contextlib.suppress(KeyError):
                return self[name]
        raise AttributeError(f"History has no attribute or key {name!r}")

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.items() if v and k != "epoch_time_s"}
        return (f"History(epochs={self.epochs}, best_epoch={self.best_epoch}, "
                f"last={last}, stop_reason={self.stop_reason!r})")


# ---------------------------------------------------------------- batches


def _first_dim(x: Any) -> int:
    return next(iter(x.values())).shape[0] if isinstance(x, Mapping) else x.shape[0]


def _describe(x: Any) -> str:
    """Shapes and dtypes of a tensor or a dict of tensors, for error messages."""
    if isinstance(x, torch.Tensor):
        return f"shape {tuple(x.shape)} ({str(x.dtype).replace('torch.', '')})"
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in x.items()) + "}"
    return type(x).__name__


def _check_inputs(x: Any, what: str) -> int:
    """Validate a tensor or dict of tensors; return the number of rows."""
    if isinstance(x, np.ndarray):
        raise TypeError(f"{what} is a NumPy array; convert it first, e.g. "
                        f"torch.as_tensor({what}, dtype=torch.float32)")
    if isinstance(x, torch.Tensor):
        if x.ndim == 0:
            raise ValueError(f"{what} is a 0-d tensor; it needs one row per example")
        return x.shape[0]
    if isinstance(x, Mapping):
        if not x:
            raise ValueError(f"{what} is an empty dict; it needs at least one tensor")
        rows = {}
        for key, value in x.items():
            if not isinstance(value, torch.Tensor) or value.ndim == 0:
                raise TypeError(f"{what}[{key!r}] must be a tensor with one row per example, "
                                f"got {_describe(value)}")
            rows[key] = value.shape[0]
        if len(set(rows.values())) > 1:
            raise ValueError(f"the tensors in {what} have different numbers of rows: {rows}")
        return next(iter(rows.values()))
    raise TypeError(f"{what} must be a tensor or a dict of tensors, got {type(x).__name__}")


def _take(x: Any, index: Any) -> Any:
    return x[index] if isinstance(x, torch.Tensor) else {k: v[index] for k, v in x.items()}


class _TensorBatches:
    """Mini-batches of in-memory tensors; shuffled with a generator fit saves in checkpoints."""

    def __init__(self, X: Any, y: Any, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None) -> None:
        self.X, self.y, self.batch_size, self.shuffle = X, y, batch_size, shuffle
        self.generator = generator
        self.n = _first_dim(X)

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        bs = self.batch_size
        if self.shuffle:
            order = torch.randperm(self.n, generator=self.generator)
            for i in range(0, self.n, bs):
                idx = order[i:i + bs]
                yield _take(self.X, idx), (None if self.y is None else self.y[idx])
        else:
            for i in range(0, self.n, bs):
                rows = slice(i, i + bs)
                yield _take(self.X, rows), (None if self.y is None else self.y[rows])

    def generators(self) -> list[torch.Generator]:
        return [self.generator] if self.generator is not None else []


class _LoaderBatches:
    """Batches from a DataLoader, split into (inputs, targets)."""

    def __init__(self, loader: DataLoader, what: str, targets_required: bool = True) -> None:
        self.loader, self.what, self.targets_required = loader, what, targets_required

    def __len__(self) -> int:
        return len(self.loader)

    def has_len(self) -> bool:
        try:
            len(self.loader)
        except TypeError:
            return False
        return True

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        for batch in self.loader:
            yield _split_batch(batch, self.what, self.targets_required)

    def generators(self) -> list[torch.Generator]:
        found: list[torch.Generator] = []
        for g in (self.loader.generator, getattr(self.loader.sampler, "generator", None),
                  getattr(getattr(self.loader, "batch_sampler", None), "generator", None)):
            if isinstance(g, torch.Generator) and all(g is not h for h in found):
                found.append(g)
        return found


def _split_batch(batch: Any, what: str, targets_required: bool) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1]
        if len(batch) == 1 and not targets_required:
            return batch[0], None
    elif isinstance(batch, Mapping):
        if "labels" in batch:
            return {k: v for k, v in batch.items() if k != "labels"}, batch["labels"]
        if not targets_required:
            return batch, None
    elif isinstance(batch, torch.Tensor) and not targets_required:
        return batch, None
    expected = "(inputs, targets)" if targets_required else "inputs or (inputs, targets)"
    raise ValueError(f"each batch of {what} must be {expected}; got {type(batch).__name__}"
                     + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))


def _as_batches(data: Any, what: str, batch_size: int, shuffle: bool,
                generator: torch.Generator | None, targets_required: bool = True):
    """Wrap a DataLoader, a Dataset or a tuple (X, y) (for predict also X alone) as batches."""
    if isinstance(data, Dataset) and not isinstance(data, DataLoader):
        shuffle = shuffle and not isinstance(data, IterableDataset)
        data = DataLoader(data, batch_size=batch_size, shuffle=shuffle,
                          generator=generator if shuffle else None)
    if isinstance(data, DataLoader):
        batches = _LoaderBatches(data, what, targets_required)
        if batches.has_len() and len(data) == 0:
            raise ValueError(f"{what} is an empty DataLoader (0 batches)")
        return batches
    if isinstance(data, (tuple, list)):
        if len(data) == 2:
            X, y = data
        elif len(data) == 1 and not targets_required:
            X, y = data[0], None
        else:
            raise ValueError(f"{what} must be a DataLoader or a tuple (X, y) of tensors; "
                             f"got a {type(data).__name__} of length {len(data)}")
    elif not targets_required and isinstance(data, (torch.Tensor, Mapping, np.ndarray)):
        X, y = data, None
    else:
        kind = "a DataLoader or a tuple (X, y)" if targets_required else \
            "a DataLoader, a tensor, a dict of tensors or a tuple (X, y)"
        raise TypeError(f"{what} must be {kind}; got {type(data).__name__}")
    n = _check_inputs(X, f"{what} X")
    if y is not None:
        if isinstance(y, np.ndarray):
            raise TypeError(f"{what} y is a NumPy array; convert it first with torch.as_tensor(y)")
        if not isinstance(y, torch.Tensor) or y.ndim == 0:
            raise TypeError(f"{what} y must be a tensor with one row per example, "
                            f"got {_describe(y)}")
        if y.shape[0] != n:
            raise ValueError(f"{what}: X has {n} rows but y has {y.shape[0]}; "
                             "they must have one row per example each")
    if n == 0:
        raise ValueError(f"{what} is empty (0 examples)")
    return _TensorBatches(X, y, batch_size, shuffle, generator if shuffle else None)


def _to(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, Mapping):
        return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v
                for k, v in x.items()}
    return x


def _forward(model: nn.Module, inputs: Any) -> torch.Tensor:
    out = model(inputs) if isinstance(inputs, torch.Tensor) else model(**inputs)
    if isinstance(out, torch.Tensor):
        return out
    logits = getattr(out, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    raise TypeError(f"the model returned a {type(out).__name__}; fit needs a tensor or an "
                    "object with a .logits tensor (as transformers models return)")


def _tensors(*items: Any) -> list[torch.Tensor]:
    found = []
    for x in items:
        if isinstance(x, torch.Tensor):
            found.append(x)
        elif isinstance(x, Mapping):
            found.extend(v for v in x.values() if isinstance(v, torch.Tensor))
    return found


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


# ---------------------------------------------------------------- precision


def _device(device: str | torch.device | None, model: nn.Module) -> torch.device:
    """The device to run on (None: the model's); one that is missing here is a clear error."""
    if device is None:
        return _model_device(model)
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:0', 'mps', a torch.device or "
                         f"None, got {device!r}") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} but CUDA is not available here; "
                         "use device='cpu' (or None: the model's device)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device='mps' but MPS is not available here; use device='cpu'")
    return device


_AMP_ALIASES = {"bf16": "bf16", "bfloat16": "bf16", torch.bfloat16: "bf16",
                "fp16": "fp16", "float16": "fp16", "half": "fp16", torch.float16: "fp16"}


def _amp_mode(amp: Any, device: torch.device) -> str | None:
    """``amp`` as None, "bf16" or "fp16" (also accepting dtypes, False/True, "bfloat16" ...)."""
    if amp is None or amp is False:
        return None
    if amp is True:  # the usual choice: bfloat16 where supported, else float16 (CUDA)
        return "fp16" if device.type == "cuda" and not torch.cuda.is_bf16_supported() else "bf16"
    mode = _AMP_ALIASES.get(amp.lower() if isinstance(amp, str) else amp) \
        if isinstance(amp, (str, torch.dtype)) else None
    if mode is None:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")
    return mode


def _autocast(amp: str | None,
              device: torch.device) -> Callable[[], contextlib.AbstractContextManager]:
    """A factory of the autocast context for ``amp`` on ``device`` (validated here)."""
    if amp not in AMP_MODES:
        raise ValueError(f"amp must be one of {AMP_MODES}, got {amp!r}")
    if amp is None:
        null = contextlib.nullcontext()
        return lambda: null
    if amp == "fp16" and device.type != "cuda":
        raise ValueError(f"amp='fp16' needs a CUDA device (training on {device.type}); "
                         "use amp='bf16' on the CPU, or amp=None")
    if amp == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("this GPU does not support bfloat16; use amp='fp16'")
    if device.type not in ("cuda", "cpu", "mps"):
        raise ValueError(f"amp is supported on cuda, cpu and mps, not on {device.type}")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


# ---------------------------------------------------------------- seeding


def _seed(seed: int, device: torch.device) -> None:
    """Seed Python, NumPy, torch's CPU generator and the training device's generator.

    (``torch.manual_seed`` would also queue a lazy seeding of CUDA that records a stack
    trace, costing a millisecond per call on machines without a GPU.)
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed_all(seed)
    elif device.type == "mps":
        torch.mps.manual_seed(seed)




# ---------------------------------------------------------------- arguments


def _check_args(model: Any, loss_fn: Any, optimizer: Any, epochs: Any, *, batch_size: Any,
                accumulate: Any, val_data: Any, metrics: Any, scheduler: Any,
                scheduler_interval: Any, grad_clip: Any, patience: Any, monitor: Any,
                checkpoint_dir: Any, resume: Any, seed: Any, time_budget_s: Any) -> dict:
    """Every argument of ``fit`` checked before any training; returns the normalised values."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"the model ({type(model).__name__}) has no trainable parameters: "
                         "nothing to train (were they all frozen with requires_grad=False?)")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, "
                        f"got {type(optimizer).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(outputs, targets), got {loss_fn!r}")
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not any(id(p) in in_optimizer for p in trainable):
        raise ValueError("the optimizer holds none of the model's trainable parameters; create "
                         "it from this model, e.g. torch.optim.SGD(model.parameters(), lr=0.1)")
    if scheduler_interval not in SCHEDULER_INTERVALS:
        raise ValueError(f"scheduler_interval must be one of {SCHEDULER_INTERVALS}, "
                         f"got {scheduler_interval!r}")
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"scheduler must have a .step() method, got {type(scheduler).__name__}")
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    if plateau and scheduler_interval == "step":
        raise ValueError("ReduceLROnPlateau needs a per-epoch value: "
                         "use scheduler_interval='epoch'")
    metrics = _metric_dict(metrics)
    if metrics and val_data is None:
        raise ValueError(f"metrics {sorted(metrics)} are computed on the validation set: "
                         "pass val_data too")
    allowed = ["train_loss"] + (["val_loss"] + [f"val_{m}" for m in metrics] if val_data is not None
                                else [])
    if not isinstance(monitor, str) or monitor not in allowed + ["val_loss"]:
        raise ValueError(f"monitor must be one of {allowed} here, got {monitor!r}"
                         + ("" if val_data is not None else " (val_* values need val_data)"))
    if monitor not in allowed:  # the default "val_loss" without validation data
        if patience is not None or (plateau and scheduler_interval == "epoch"):
            raise ValueError("monitor='val_loss' needs val_data (for early stopping or "
                             "ReduceLROnPlateau); pass val_data or monitor='train_loss'")
        monitor = "train_loss"
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir, the folder the first run wrote to")
    opt = " or None"
    return dict(
        trainable=trainable, metrics=metrics, monitor=monitor, plateau=plateau,
        epochs=_args.integer("epochs", epochs, minimum=1),
        batch_size=_args.integer("batch_size", batch_size, minimum=1),
        accumulate=_args.integer("accumulate", accumulate, minimum=1,
                                 expected="an integer >= 1 (micro-batches per optimizer step)"),
        grad_clip=None if grad_clip is None else _args.real(
            "grad_clip", grad_clip, above=0, expected="a positive number or None"),
        patience=None if patience is None else _args.integer(
            "patience", patience, minimum=1, expected="an integer >= 1" + opt),
        seed=None if seed is None else _args.integer("seed", seed, minimum=0,
                                                     expected="an integer >= 0" + opt),
        time_budget_s=None if time_budget_s is None else _args.real(
            "time_budget_s", time_budget_s, above=0,
            expected="a positive number of seconds or None"),
    )


def _metric_dict(metrics: Any) -> dict[str, Callable]:
    """``metrics`` as {name: fn}; a function or a list of functions is named by __name__."""
    if metrics is None:
        return {}
    if callable(metrics):
        metrics = [metrics]
    if isinstance(metrics, (list, tuple)):
        named = {}
        for i, fn in enumerate(metrics):
            name = getattr(fn, "__name__", type(fn).__name__)
            named[f"metric{i + 1}" if name == "<lambda>" else name] = fn
        metrics = named
    if not isinstance(metrics, Mapping):
        raise TypeError("metrics must be a dict {name: fn(outputs, targets) -> float} (or a "
                        f"list of named functions), got {type(metrics).__name__}")
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name or not callable(fn):
            raise TypeError(f"metrics must map names to functions fn(outputs, targets); "
                            f"got {name!r}: {fn!r}")
        if name == "loss":
            raise ValueError("a metric named 'loss' would overwrite history['val_loss']; "
                             "give it another name")
    return dict(metrics)


def _check_val_like_train(train: Any, val: Any) -> None:
    """Tabular tensors: validation rows need as many features as the training rows."""
    if isinstance(train, _TensorBatches) and isinstance(val, _TensorBatches):
        a, b = train.X, val.X
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.ndim == b.ndim == 2 \
                and a.is_floating_point() and a.shape[1] != b.shape[1]:
            raise ValueError(f"val_data X has {b.shape[1]} features per row but train_data X "
                             f"has {a.shape[1]}; they must have the same columns")


# ---------------------------------------------------------------- the pieces of the loop


class _LossTally:
    """The epoch's training losses between two looks.

    On an accelerator they stay tensors (reading one would wait for the device), and a
    look reads them all at once: one sync. On the CPU there is nothing to wait for, so
    each loss is read as a float at once (cheaper than keeping tensors alive), and
    ``bad`` says at once when it is not finite, before that step's update.
    """

    def __init__(self, eager: bool = False) -> None:
        self.eager = eager
        self.bad = False
        self.losses: list[Any] = []
        self.sizes: list[int] = []
        self.where: list[tuple[int, int, Any]] = []  # (step, global step, lr) of each loss
        self.total, self.count = 0.0, 0

    def __len__(self) -> int:
        return len(self.losses)

    def add(self, loss: torch.Tensor, n: int, step: int, global_step: int, lr: Any) -> None:
        if self.eager:
            value = loss.item()
            self.bad = not math.isfinite(value)
            self.losses.append(value)
        else:
            self.losses.append(loss.detach())
        self.sizes.append(n)
        self.where.append((step, global_step, lr))

    @property
    def mean(self) -> float:
        return self.total / self.count

    def flush(self, epoch: int, note: str = "") -> float | None:
        """Fold the pending losses into the epoch's sum; return their mean, or None if none.

        Raises NonFiniteLossError naming the first step whose loss is NaN or infinite.
        """
        if not self.losses:
            return None
        if self.eager:
            values = torch.tensor(self.losses, dtype=torch.float64)
        else:
            values = torch.stack(self.losses).float().cpu().double()  # the one sync
        finite = torch.isfinite(values)
        if not bool(finite.all()):
            i = int((~finite).nonzero()[0, 0])
            step, global_step, lr = self.where[i]
            lr, value = float(lr), values[i].item()
            weights = ("training stopped before that step's update, so the model keeps the "
                       "weights of the step before" if self.eager and i == len(self.losses) - 1
                       else "the weights are now unusable")
            raise NonFiniteLossError(
                f"the training loss became {value} at epoch {epoch}, step {step} "
                f"(global step {global_step}) with learning rate {lr} (the "
                "optimizer's lr). Try a smaller learning rate or grad_clip=1.0, or look for "
                "NaN/inf in the data; "
                f"{weights}{note}",
                epoch=epoch, step=step, global_step=global_step, lr=lr, value=value)
        sizes = torch.tensor(self.sizes, dtype=torch.float64)
        chunk = float((values * sizes).sum())
        n = sum(self.sizes)
        self.total += chunk
        self.count += n
        self.losses.clear()
        self.sizes.clear()
        self.where.clear()
        return chunk / n


def _micro_batches(batches: Any, accumulate: int) -> Iterator[list[tuple[Any, Any, int]]]:
    """Groups of ``accumulate`` batches ``(inputs, targets, rows)``; the last may be shorter."""
    group = []
    for inputs, targets in batches:
        rows = targets.shape[0] if isinstance(targets, torch.Tensor) else _first_dim(inputs)
        group.append((inputs, targets, rows))
        if len(group) == accumulate:
            yield group
            group = []
    if group:
        yield group


def _backward(loss: torch.Tensor, scaler: Any) -> None:
    (loss if scaler is None else scaler.scale(loss)).backward()


def _optimizer_step(optimizer: torch.optim.Optimizer, scaler: Any, params: list,
                    grad_clip: float | None) -> None:
    """Clip the gradient norm (if asked) and update; with a grad scaler, unscale first."""
    if scaler is not None:
        if grad_clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(params, grad_clip)
        scaler.step(optimizer)
        scaler.update()
    else:
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(params, grad_clip)
        optimizer.step()


class _Display:
    """The progress bar and the live loss plot of a fit run (either may be off)."""

    def __init__(self, live_plot: Any, progress: bool, model: nn.Module, history: History,
                 steps_per_epoch: int | None, epochs_left: int) -> None:
        self.plot, self.own_plot, self.bar = None, False, None
        self.steps_per_epoch = steps_per_epoch
        if isinstance(live_plot, bool) or live_plot is None:
            from bigmodel_lib import plots

            if live_plot or (live_plot is None and plots.live_frontend()):
                self.plot = plots.LivePlot(title=f"training {type(model).__name__}",
                                           xlabel="epoch", ylabel="loss")
                self.own_plot = True
        elif callable(getattr(live_plot, "update", None)):
            self.plot = live_plot
        else:
            raise TypeError(f"live_plot must be None, True, False or a LivePlot, got {live_plot!r}")
        if self.plot is not None:
            for i, value in enumerate(history["train_loss"]):
                self.plot.update(i + 1, train_loss=value)
                if "val_loss" in history:
                    self.plot.update(i + 1, val_loss=history["val_loss"][i])
        if progress:
            from bigmodel_lib.progress import progress as progress_bar

            total = None if steps_per_epoch is None else steps_per_epoch * epochs_left
            self.bar = progress_bar(total=total, desc="fit", unit="step")

    def look(self, tally: _LossTally, epoch: int, step: int, note: str) -> float:
        """One sync with the device: NaN check, progress text, live plot; returns the time."""
        chunk = tally.flush(epoch, note)
        if chunk is not None:
            if self.bar is not None:
                self.bar.set_postfix(epoch=epoch, loss=f"{tally.mean:.4g}", refresh=False)
            if self.plot is not None:
                spe = self.steps_per_epoch
                self.plot.update(epoch - 1 + (step / spe if spe else 1.0), train_loss=chunk)
        return time.perf_counter()

    def epoch_end(self, epoch: int, record: dict) -> None:
        if self.plot is not None and "val_loss" in record:
            self.plot.update(epoch, val_loss=record["val_loss"])
        if self.bar is not None:
            self.bar.set_postfix(epoch=epoch, loss=f"{record['train_loss']:.4g}",
                                 **({"val_loss": f"{record['val_loss']:.4g}"}
                                    if "val_loss" in record else {}))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        if self.own_plot:
            self.plot.close()


class _Tracker:
    """The loop's own state: the history, the best epoch so far, early stopping."""

    def __init__(self, history: History, monitor: str, patience: int | None) -> None:
        self.history, self.monitor, self.patience = history, monitor, patience
        name = monitor.lower()
        self.mode = "min" if any(word in name for word in _MINIMISED) else "max"
        self.best_value: float | None = None
        self.bad_epochs = 0
        self.best_state: dict | None = None

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        best = self.best_value
        return best is None or (value < best if self.mode == "min" else value > best)

    def record(self, epoch: int, record: dict, lr: float, model: nn.Module) -> float:
        """Append the epoch's values; update the best epoch; return the monitored value."""
        for key, value in record.items():
            self.history[key].append(value)
        self.history["lr"].append(lr)
        value = record[self.monitor]
        if self.improved(value):
            self.best_value, self.bad_epochs, self.history.best_epoch = value, 0, epoch
            if self.patience is not None:
                self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        return value

    def stop(self, reason: str) -> None:
        self.history.stopped_early, self.history.stop_reason = True, reason

    def patience_stop(self, epoch: int) -> bool:
        if self.patience is None or self.bad_epochs < self.patience:
            return False
        best = "no finite value" if self.best_value is None else \
            f"best {self.best_value:.6g} at epoch {self.history.best_epoch}"
        self.stop(f"early stopping after epoch {epoch}: {self.monitor} did not improve for "
                  f"{self.bad_epochs} epoch(s); {best}")
        return True

    def saved(self, patience_stop: bool, epoch: int) -> dict:
        """fit's part of a checkpoint (see checkpoint.save_checkpoint)."""
        h = self.history
        return {"history": {k: list(v) for k, v in h.items()}, "best_epoch": h.best_epoch,
                "best_value": self.best_value, "bad_epochs": self.bad_epochs,
                "stopped_early": patience_stop,  # a time budget stop can be resumed
                "stop_reason": h.stop_reason if patience_stop else f"checkpoint after epoch {epoch}",
                "best_model": self.best_state}

    def restore(self, state: dict) -> None:
        h = self.history
        for key in h:
            h[key] = list(state["history"].get(key, []))
        h.best_epoch, h.stopped_early, h.stop_reason = (state["best_epoch"], state["stopped_early"],
                                                        state["stop_reason"])
        self.best_value, self.bad_epochs = state["best_value"], state["bad_epochs"]
        self.best_state = state["best_model"]


def _check_val_loss(record: dict, epoch: int, steps: int, global_step: int, lr: float,
                    note: str) -> None:
    """A non-finite validation loss stops the run like a non-finite training loss."""
    value = record.get("val_loss")
    if value is not None and not math.isfinite(value):
        raise NonFiniteLossError(
            f"the validation loss became {value} at epoch {epoch} (after step {steps}, global "
            f"step {global_step}, learning rate {lr}) while the training loss was "
            f"{record['train_loss']:.6g}. Look for NaN/inf in val_data or targets the loss "
            f"cannot take, or try a smaller learning rate; the epoch is not recorded{note}",
            epoch=epoch, step=steps, global_step=global_step, lr=lr, value=value)


# ---------------------------------------------------------------- fit


def fit(
    model: nn.Module,
    train_data: DataLoader | tuple,
    loss_fn: Callable[[torch.Tensor, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    *,
    batch_size: int = 32,
    accumulate: int = 1,
    shuffle: bool = True,
    val_data: DataLoader | tuple | None = None,
    metrics: Mapping[str, Callable[[torch.Tensor, torch.Tensor], float]] | None = None,
    device: str | torch.device | None = None,
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    grad_clip: float | None = None,
    patience: int | None = None,
    monitor: str = "val_loss",
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    amp: str | None = None,
    seed: int | None = None,
    time_budget_s: float | None = None,
    live_plot: Any = None,
    progress: bool = True,
) -> History:
    """Train ``model`` on ``train_data`` for ``epochs`` epochs; return the per-epoch ``History``.

    Each step is forward, loss, backward, update (chapter 05); each epoch ends with
    validation, the epoch scheduler step, early stopping and a checkpoint.

    Args:
        model: the ``nn.Module`` to train in place (it needs trainable parameters).
        train_data: a ``DataLoader`` of ``(inputs, targets)`` (a dict batch with a ``"labels"``
            key is split), a ``Dataset``, or a tuple ``(X, y)`` of tensors (``X`` may be a dict),
            batched with ``batch_size`` and ``shuffle``. Tensor inputs are called as
            ``model(inputs)``, dicts as ``model(**inputs)``; an output's ``.logits`` is used.
        loss_fn: ``loss_fn(outputs, targets)`` returning a scalar tensor (checked on the first
            batch); element-wise losses (MSE, L1, BCE) need outputs and targets of one shape.
        optimizer: a ``torch.optim.Optimizer`` over (some of) the model's parameters.
        epochs: passes over ``train_data`` (an int >= 1); with ``resume`` the total.
        batch_size: examples per (micro-)batch for tensor data (ignored for a DataLoader).
        accumulate: gradient accumulation: ``k`` micro-batches make one optimizer step with
            the update of one batch ``k`` times the size (each micro-batch's mean loss is
            weighted by its share of the group's examples, so a short last group is exact for
            mean-reduced losses). Schedulers and step counts advance per optimizer step.
        shuffle: reshuffle tensor data every epoch with a generator seeded from ``seed`` and
            saved in checkpoints (for a DataLoader, shuffle there).
        val_data: validation data in the same forms; after every epoch, in eval mode:
            ``history["val_loss"]`` is the mean over the examples.
        metrics: ``{name: fn(outputs, targets) -> float}`` on the whole validation set,
            recorded as ``history["val_<name>"]`` (a list of functions is named by __name__).
        device: where to train (the model is moved there); None: the model's device.
        scheduler: a ``torch.optim.lr_scheduler`` or None (``ReduceLROnPlateau`` gets the
            monitored value); ``scheduler_interval``: ``"epoch"`` or ``"step"``.
        grad_clip: clip the global gradient norm to this value (> 0) before each update.
        patience: early stopping after this many epochs without improvement of ``monitor``;
            the model then ends with the weights of its best epoch.
        monitor: ``"val_loss"``, ``"train_loss"`` or ``"val_<metric>"`` (losses and errors
            are minimised, other metrics maximised); without val_data, the training loss.
        checkpoint_dir: a folder where ``last.pt`` is written atomically after every epoch,
            with a checksum (see ``bigmodel_lib.checkpoint``); checked writable at the start.
        resume: continue from ``checkpoint_dir/last.pt`` if it exists: a run interrupted after
            epoch k and resumed ends with bitwise the weights of an uninterrupted one. A
            damaged or mismatched checkpoint is refused before anything is modified; a
            changed hyperparameter is reported with a warning.
        amp: None, ``"bf16"`` (CUDA or CPU) or ``"fp16"`` (CUDA, with a gradient scaler);
            also torch dtypes, "bfloat16"/"float16", False and True (the usual choice).
        seed: seed Python, NumPy, torch and the shuffling generator; None: the current state.
        time_budget_s: stop after the step that takes the run past this many seconds; the
            history and checkpoint keep complete epochs, so ``resume=True`` redoes the partial one.
        live_plot: None (on in a watched notebook), True, False, or a ``plots.LivePlot``.
        progress: show a ``tqdm`` progress bar over the optimizer steps.

    Returns:
        A ``History`` of per-epoch ``train_loss``, ``val_loss``, ``val_<metric>``, ``lr`` and
        ``epoch_time_s``, with ``best_epoch``, ``stopped_early`` and ``stop_reason``.

    Raises:
        ValueError / TypeError: bad arguments, before training (the loss and the model's
            output on the first batch); a wrong type is both (``_args.ArgumentTypeError``).
        NonFiniteLossError: the training or validation loss became NaN or infinite; the
            message names the epoch, the step and the learning rate. The last checkpoint is good.
        CheckpointError (a ValueError): with ``resume``, a damaged checkpoint or one written
            for another model, optimizer or scheduler (nothing is modified).
    """
    r = _prepare(model, train_data, loss_fn, optimizer, epochs, batch_size=batch_size, accumulate=accumulate,
                 shuffle=shuffle, val_data=val_data, metrics=metrics, device=device, scheduler=scheduler,
                 scheduler_interval=scheduler_interval, grad_clip=grad_clip, patience=patience, monitor=monitor,
                 checkpoint_dir=checkpoint_dir, resume=resume, amp=amp, seed=seed, time_budget_s=time_budget_s,
                 live_plot=live_plot, progress=progress)
    history, display, autocast, scaler, budget = r.history, r.display, r.autocast, r.scaler, r.time_budget_s
    checked = r.start_epoch > 0  # the first batch's forward and loss get clear errors
    global_step, t_start = r.start_epoch * (r.steps_per_epoch or 0), time.perf_counter()
    try:
        for epoch in range(r.start_epoch + 1, r.epochs + 1):
            if history.stopped_early:
                break
            model.train()
            t_epoch = last_look = time.perf_counter()
            lr_start = float(optimizer.param_groups[0]["lr"])
            tally, step, budget_hit = _LossTally(eager=r.device.type == "cpu"), 0, False
            note = f"; the checkpoint in {r.ckpt.parent} is from epoch {epoch - 1}" if r.ckpt and epoch > 1 else ""
            for group in _micro_batches(r.train_batches, r.accumulate):  # one optimizer step per group
                step, global_step = step + 1, global_step + 1
                group_rows = sum(rows for _, _, rows in group)
                optimizer.zero_grad(set_to_none=True)
                for inputs, targets, rows in group:
                    if r.move:
                        inputs, targets = _to(inputs, r.device), _to(targets, r.device)
                    if checked:
                        with autocast():
                            loss = loss_fn(_forward(model, inputs), targets)
                    else:
                        loss, checked = _first_loss(model, loss_fn, inputs, targets, autocast), True
                    tally.add(loss, rows, step, global_step, optimizer.param_groups[0]["lr"])
                    if tally.bad:
                        display.look(tally, epoch, step, note)  # raises, before the update
                    _backward(loss if rows == group_rows else loss * (rows / group_rows), scaler)
                _optimizer_step(optimizer, scaler, r.trainable, r.grad_clip)
                if r.step_scheduler:
                    scheduler.step()
                if display.bar is not None:
                    display.bar.update()
                now = time.perf_counter()
                if now - last_look >= CHECK_INTERVAL_S or len(tally) >= MAX_PENDING_STEPS:
                    last_look = display.look(tally, epoch, step, note)
                if budget is not None and now - t_start > budget:
                    budget_hit = True
                    break
            display.look(tally, epoch, step, note)
            if step == 0:
                raise ValueError("train_data yielded no batches in this epoch")
            if budget_hit and (r.steps_per_epoch is None or step < r.steps_per_epoch):
                r.tracker.stop(f"time budget of {budget:g} s reached during epoch {epoch} after {step} step(s); "
                               f"the model has every step so far, the history holds the {epoch - 1} complete epoch(s)"
                               + ("; so has the checkpoint, and resume=True redoes the partial one" if r.ckpt else ""))
                break
            _end_epoch(r, epoch, tally.mean, lr_start, step, global_step, budget_hit, t_epoch, note)
        if r.start_epoch >= r.epochs and not history.stopped_early:
            history.stop_reason = f"completed {r.start_epoch} epoch(s) (all done before resuming)"
        if r.patience is not None and r.tracker.best_state is not None:
            model.load_state_dict(r.tracker.best_state)
    finally:
        display.close()
    return history


def _prepare(model: nn.Module, train_data: Any, loss_fn: Any, optimizer: Any, epochs: Any, *, device: Any,
             amp: Any, shuffle: bool, checkpoint_dir: Any, resume: bool, live_plot: Any, progress: bool,
             **args: Any) -> SimpleNamespace:
    """Everything ``fit`` needs before its first step: checked arguments, device, batches, resume."""
    r = SimpleNamespace(**_check_args(model, loss_fn, optimizer, epochs, checkpoint_dir=checkpoint_dir,
                                      resume=resume, **args))
    r.model, r.loss_fn, r.optimizer, r.scheduler = model, loss_fn, optimizer, args["scheduler"]
    r.device = _device(device, model)
    amp = _amp_mode(amp, r.device)
    r.autocast = _autocast(amp, r.device)
    if any(t.device != r.device for t in [*model.parameters(), *model.buffers()]):
        model.to(r.device)
    r.scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
    r.train_batches, r.val_batches, r.generators = _batches(train_data, args["val_data"], r.batch_size,
                                                            shuffle, r.seed, r.device)
    r.history = History(train_loss=[], lr=[], epoch_time_s=[], **(
        {"val_loss": [], **{f"val_{m}": [] for m in r.metrics}} if r.val_batches else {}))
    r.tracker = _Tracker(r.history, r.monitor, r.patience)
    r.step_scheduler = r.scheduler is not None and args["scheduler_interval"] == "step"
    r.hyper = run_settings(optimizer, r.scheduler, batch_size=r.batch_size, accumulate=r.accumulate, amp=amp,
                           grad_clip=r.grad_clip, scheduler_interval=args["scheduler_interval"],
                           patience=r.patience, monitor=r.monitor)
    r.ckpt = None if checkpoint_dir is None else prepare_checkpoint_dir(checkpoint_dir)
    r.start_epoch = _resume(r.ckpt, resume, r.epochs, r.tracker, model=model, optimizer=optimizer,
                            scheduler=r.scheduler, scaler=r.scaler, device=r.device,
                            generators=r.generators, hyper=r.hyper)
    batches = r.train_batches
    n_batches = len(batches) if not isinstance(batches, _LoaderBatches) or batches.has_len() else None
    r.steps_per_epoch = None if n_batches is None else math.ceil(n_batches / r.accumulate)
    r.display = _Display(live_plot, progress, model, r.history, r.steps_per_epoch, r.epochs - r.start_epoch)
    # tensors already on the device need no .to() per step
    r.move = not (isinstance(batches, _TensorBatches)
                  and all(t.device == r.device for t in _tensors(batches.X, batches.y)))
    return r


def _end_epoch(r: SimpleNamespace, epoch: int, train_loss: float, lr_start: float, step: int,
               global_step: int, budget_hit: bool, t_epoch: float, note: str) -> None:
    """Validation, records, the epoch's scheduler step, early stopping, the checkpoint."""
    record = {"train_loss": train_loss}
    if r.val_batches is not None:
        record.update(_validate(r.model, r.val_batches, r.loss_fn, r.metrics, r.device, r.autocast))
        _check_val_loss(record, epoch, step, global_step, lr_start, note)
    value = r.tracker.record(epoch, record, lr_start, r.model)
    if r.scheduler is not None and not r.step_scheduler:
        r.scheduler.step(value) if r.plateau else r.scheduler.step()
    patience_stop = r.tracker.patience_stop(epoch)
    if not patience_stop and epoch == r.epochs:
        r.history.stop_reason = f"completed {r.epochs} epoch(s)"
    elif not patience_stop and budget_hit:
        r.tracker.stop(f"time budget of {r.time_budget_s:g} s reached at the end of epoch {epoch}")
    r.history["epoch_time_s"].append(time.perf_counter() - t_epoch)
    r.display.epoch_end(epoch, record)
    if r.ckpt is not None:
        save_checkpoint(r.ckpt, epoch=epoch, model=r.model, optimizer=r.optimizer, scheduler=r.scheduler,
                        scaler=r.scaler, device=r.device, generators=r.generators,
                        loop=r.tracker.saved(patience_stop, epoch), hyper=r.hyper)


def _batches(train_data: Any, val_data: Any, batch_size: int, shuffle: bool, seed: int | None,
             device: torch.device) -> tuple[Any, Any, list[torch.Generator]]:
    """Seed (if asked), wrap the data as batches, and list the generators a checkpoint saves."""
    if seed is not None:
        _seed(seed, device)
    shuffle_gen = torch.Generator()
    shuffle_gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,)).item()))
    train_batches = _as_batches(train_data, "train_data", batch_size, shuffle, shuffle_gen)
    val_batches = None if val_data is None else _as_batches(val_data, "val_data", batch_size, False, None)
    _check_val_like_train(train_batches, val_batches)
    return train_batches, val_batches, train_batches.generators()


def _resume(ckpt: Path | None, resume: bool, epochs: int, tracker: _Tracker, **run: Any) -> int:
    """With ``resume``, restore the checkpoint (if there is one); return the epochs already done."""
    if ckpt is None or not resume:
        return 0
    if not ckpt.is_file():
        print(f"no checkpoint in {ckpt.parent} yet: starting from scratch")
        return 0
    state = restore_checkpoint(ckpt, **run)
    tracker.restore(state)
    done = state["epoch"]
    print(f"resumed from {ckpt}: {done} epoch(s) done, "
          + ("training had stopped early" if tracker.history.stopped_early else
             f"continuing up to epoch {epochs}" if done < epochs else
             f"nothing left to do for epochs={epochs}"))
    return done


def _first_loss(model, loss_fn, inputs, targets, autocast) -> torch.Tensor:
    """The first batch's forward and loss, with the checks that give clear errors."""
    try:
        with autocast():
            outputs = _forward(model, inputs)
    except (RuntimeError, ValueError, IndexError) as err:
        raise ValueError(f"the model failed on the first training batch (inputs "
                         f"{_describe(inputs)}): {err}") from err
    shapes = f"outputs {_describe(outputs)}, targets {_describe(targets)}"
    _check_elementwise(loss_fn, outputs, targets, "")
    try:
        with autocast():
            loss = loss_fn(outputs, targets)
    except (RuntimeError, ValueError, IndexError) as err:
        raise ValueError(f"loss_fn failed on the first training batch ({shapes}): {err}") from err
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"loss_fn must return a tensor, got {type(loss).__name__} ({shapes}); "
                        "do not call .item() inside it")
    if loss.ndim != 0:
        raise ValueError(f"loss_fn must return a scalar, but it returned a tensor of shape "
                         f"{tuple(loss.shape)} for {shapes}; reduce it (e.g. .mean()) or use "
                         "reduction='mean'")
    if not loss.requires_grad:
        raise ValueError("the loss does not depend on any trainable parameter (no gradient "
                         f"flows back; {shapes}); was something detached or computed "
                         "under torch.no_grad()?")
    return loss


# Losses that compare outputs and targets element by element (and broadcast silently).
_ELEMENTWISE = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss,
                nn.BCEWithLogitsLoss)
_ELEMENTWISE_FN = (F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss, F.binary_cross_entropy,
                   F.binary_cross_entropy_with_logits)


def _check_elementwise(loss_fn: Any, outputs: Any, targets: Any, where: str) -> None:
    if not (isinstance(loss_fn, _ELEMENTWISE) or any(loss_fn is f for f in _ELEMENTWISE_FN)):
        return
    if isinstance(targets, torch.Tensor) and outputs.shape != targets.shape:
        name = getattr(loss_fn, "__name__", type(loss_fn).__name__)
        raise ValueError(f"{name} compares outputs and targets element by element, but their "
                         f"shapes differ{where} (outputs {_describe(outputs)}, targets "
                         f"{_describe(targets)}); broadcasting would silently compute the wrong "
                         "loss. Reshape one of them, e.g. outputs.squeeze(-1) in the model or "
                         "y.unsqueeze(-1)")


def _validate(model, batches, loss_fn, metrics, device, autocast) -> dict[str, float]:
    """Mean loss over the validation examples and every metric on the whole set."""
    model.eval()
    total = torch.zeros((), dtype=torch.float64, device=device)
    count = 0
    outs, tgts = [], []
    with torch.no_grad():
        for inputs, targets in batches:
            inputs, targets = _to(inputs, device), _to(targets, device)
            with autocast():
                outputs = _forward(model, inputs)
                _check_elementwise(loss_fn, outputs, targets, " on val_data")
                loss = loss_fn(outputs, targets)
            n = _first_dim(targets) if isinstance(targets, torch.Tensor) else _first_dim(inputs)
            total += loss.detach().double() * n if device.type != "mps" else loss.detach() * n
            count += n
            if metrics:
                outs.append(_float_cpu(outputs))
                tgts.append(targets.cpu() if isinstance(targets, torch.Tensor) else targets)
    model.train()
    record = {"val_loss": float(total) / count}
    if metrics:
        all_out, all_tgt = torch.cat(outs), torch.cat(tgts)
        for name, fn in metrics.items():
            record[f"val_{name}"] = _metric_value(name, fn, all_out, all_tgt)
    return record


def _metric_value(name: str, fn: Callable, outputs: torch.Tensor, targets: Any) -> float:
    """``float(fn(outputs, targets))``, with an error naming the metric when that fails."""
    shapes = f"outputs {_describe(outputs)}, targets {_describe(targets)}"
    try:
        value = fn(outputs, targets)
    except Exception as err:
        raise ValueError(f"metric {name!r} failed on the validation set ({shapes}): "
                         f"{type(err).__name__}: {err}") from err
    try:
        if isinstance(value, (torch.Tensor, np.ndarray)):
            value = value.item()  # one element, else ValueError / RuntimeError
        return float(value)
    except (TypeError, ValueError, RuntimeError) as err:
        got = _describe(value) if isinstance(value, torch.Tensor) else repr(value)[:80]
        raise ValueError(f"metric {name!r} must return one number, got {got} "
                         f"({shapes})") from err


def _float_cpu(x: torch.Tensor) -> torch.Tensor:
    x = x.detach()
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    return x.cpu()


# ---------------------------------------------------------------- predict


def predict(
    model: nn.Module,
    data: Any,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    amp: str | None = None,
) -> torch.Tensor:
    """The model's outputs (logits) on ``data``, concatenated on the CPU in data order.

    Args:
        model: the ``nn.Module``; run in eval mode without gradients (its train/eval
            mode is restored afterwards).
        data: a ``DataLoader`` yielding ``(inputs, targets)`` or inputs only, or a tensor,
            a dict of tensors, or a tuple ``(X, y)`` / ``(X,)`` (``y`` is ignored).
        batch_size: examples per forward pass for tensor data (an int >= 1).
        device: where to compute; None: the device of the model's parameters.
        amp: None, ``"bf16"`` or ``"fp16"`` (CUDA) autocast, as in ``fit``.

    Returns:
        One tensor, one row per example; float16/bfloat16 outputs come back as float32.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    batch_size = _args.integer("batch_size", batch_size, minimum=1)
    device = _device(device, model)
    autocast = _autocast(_amp_mode(amp, device), device)
    batches = _as_batches(data, "data", batch_size, False, None, targets_required=False)
    model.to(device)
    was_training = model.training
    model.eval()
    outs = []
    try:
        with torch.no_grad():
            for inputs, _ in batches:
                with autocast():
                    outs.append(_float_cpu(_forward(model, _to(inputs, device))))
    finally:
        model.train(was_training)
    if not outs:
        raise ValueError("data yielded no batches")
    return torch.cat(outs)
