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
stopping, mixed precision, a time budget, and checkpoints that let an interrupted run
resume and end with exactly the weights of an uninterrupted one. It syncs with the
accelerator only a few times a second (losses are kept as tensors in between), so it
costs little more than the bare loop (``benchmarks/bench_fit.py`` measures it).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, IterableDataset

__all__ = [
    "CHECKPOINT_NAME",
    "History",
    "NonFiniteLossError",
    "fit",
    "load_checkpoint",
    "predict",
]

CHECKPOINT_NAME = "last.pt"
CHECKPOINT_FORMAT = 1
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


class _NotAnInteger(TypeError, ValueError):
    """An argument that must be an integer is not one (catchable as TypeError or ValueError)."""


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


# ---------------------------------------------------------------- checkpoints


def _rng_state(device: torch.device, generators: list[torch.Generator]) -> dict:
    """Every random state that training reads, as tensors and plain types (weights_only-safe)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
        "mps": torch.mps.get_rng_state() if device.type == "mps" else None,
        "shuffle": [g.get_state() for g in generators],
    }
    return state


def _set_rng_state(state: dict, device: torch.device, generators: list[torch.Generator]) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and state["cuda"]:
        torch.cuda.set_rng_state_all(state["cuda"])
    if device.type == "mps" and state["mps"] is not None:
        torch.mps.set_rng_state(state["mps"])
    if len(state["shuffle"]) != len(generators):
        raise ValueError(f"the checkpoint holds {len(state['shuffle'])} shuffling generator "
                         f"state(s) but this run has {len(generators)}; resume with the same "
                         "kind of training data (tensors or a DataLoader) and the same shuffle")
    for g, s in zip(generators, state["shuffle"], strict=True):
        g.set_state(s)


def _atomic_save(obj: Any, path: Path) -> None:
    """torch.save to a temporary file beside ``path``, then rename it over ``path``.

    os.replace is atomic, so an interrupt mid-write leaves the old checkpoint intact.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


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


def load_checkpoint(checkpoint_dir: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load the checkpoint ``fit`` wrote into ``checkpoint_dir`` (safely: ``weights_only=True``).

    Keys: ``epoch`` (complete epochs), ``model``, ``optimizer``, ``scheduler``, ``scaler``,
    ``rng``, ``history`` (a plain dict of lists), ``best_epoch``, ``best_value``,
    ``bad_epochs``, ``stopped_early``, ``stop_reason`` and, when fit ran with
    ``patience``, ``best_model`` (the weights of the best epoch).
    """
    path = Path(checkpoint_dir) / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; fit(..., checkpoint_dir=...) writes it")
    return torch.load(path, map_location=map_location, weights_only=True)


# ---------------------------------------------------------------- validation of arguments


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_int(name: str, value: Any, minimum: int, extra: str = "") -> None:
    if not _is_int(value):
        raise _NotAnInteger(f"{name} must be an integer >= {minimum}{extra}, got {value!r} "
                            f"(a {type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{extra}, got {value!r}")


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


def _monitor_mode(monitor: str) -> str:
    name = monitor.lower()
    return "min" if any(word in name for word in _MINIMISED) else "max"


def _improved(value: float, best: float | None, mode: str) -> bool:
    if math.isnan(value):
        return False
    return best is None or (value < best if mode == "min" else value > best)


# ---------------------------------------------------------------- fit


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
        self.lrs: list[Any] = []
        self.total, self.count = 0.0, 0

    def __len__(self) -> int:
        return len(self.losses)

    def add(self, loss: torch.Tensor, n: int, lr: Any) -> None:
        if self.eager:
            value = loss.item()
            self.bad = not math.isfinite(value)
            self.losses.append(value)
        else:
            self.losses.append(loss.detach())
        self.sizes.append(n)
        self.lrs.append(lr)

    @property
    def mean(self) -> float:
        return self.total / self.count

    def flush(self, epoch: int, step: int, global_step: int, note: str = "") -> float | None:
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
            back = len(self.losses) - i - 1  # how many steps ago it happened
            lr, value = float(self.lrs[i]), values[i].item()
            weights = ("training stopped before that step's update, so the model keeps the "
                       "weights of the step before" if self.eager and back == 0 else
                       "the weights are now unusable")
            raise NonFiniteLossError(
                f"the training loss became {value} at epoch {epoch}, step {step - back} "
                f"(global step {global_step - back}) with learning rate {lr} (the "
                "optimizer's lr). Try a smaller learning rate or grad_clip=1.0, or look for "
                "NaN/inf in the data; "
                f"{weights}{note}",
                epoch=epoch, step=step - back, global_step=global_step - back, lr=lr, value=value)
        sizes = torch.tensor(self.sizes, dtype=torch.float64)
        chunk = float((values * sizes).sum())
        n = sum(self.sizes)
        self.total += chunk
        self.count += n
        self.losses.clear()
        self.sizes.clear()
        self.lrs.clear()
        return chunk / n



def fit(
    model: nn.Module,
    train_data: DataLoader | tuple,
    loss_fn: Callable[[torch.Tensor, Any], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int = 1,
    *,
    batch_size: int = 32,
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

    Each step runs forward, loss, backward and update (chapter 05); each epoch ends
    with validation, the epoch scheduler step, early stopping and a checkpoint.

    Args:
        model: the ``nn.Module`` to train (in place). It needs trainable parameters.
        train_data: a ``DataLoader`` yielding ``(inputs, targets)`` batches (a dict batch
            with a ``"labels"`` key is split into inputs and labels), or a tuple
            ``(X, y)`` of tensors with one row per example, which fit batches with
            ``batch_size`` and ``shuffle``. ``X`` may be a dict of tensors. A
            ``Dataset`` is batched the same way (with a DataLoader). Inputs
            that are a tensor are called as ``model(inputs)``, a dict as
            ``model(**inputs)``; a model output with ``.logits`` (transformers) gives
            its logits.
        loss_fn: ``loss_fn(outputs, targets)`` returning a scalar tensor (checked on the
            first batch, with the shapes named when it is not a scalar). For losses that
            compare element by element (MSE, L1, BCE, ... as modules or as functions of
            ``torch.nn.functional``), outputs and targets must have the same shape.
        optimizer: a ``torch.optim.Optimizer`` over (some of) the model's parameters.
        epochs: the number of passes over ``train_data`` (an int >= 1). With
            ``resume=True`` it is the total, counting the epochs already done.
        batch_size: examples per batch for tensor data (ignored for a DataLoader).
        shuffle: reshuffle tensor data every epoch, with a generator that fit seeds from
            ``seed`` and saves in checkpoints (ignored for a DataLoader: shuffle there).
        val_data: validation data in the same forms as ``train_data``; evaluated after
            every epoch in eval mode without gradients: ``history["val_loss"]`` is the
            mean loss over the examples (batch losses weighted by batch size).
        metrics: ``{name: fn(outputs, targets) -> float}``, computed after every epoch on
            the whole validation set (outputs and targets concatenated, on the CPU) and
            recorded as ``history["val_<name>"]``. Needs ``val_data``. A list of
            functions names each by its ``__name__``.
        device: where to train (``"cpu"``, ``"cuda"``, a ``torch.device``; one that is
            not available is an error); the model is moved there. None: the device the model's
            parameters are on (build the model on ``bml.get_device()`` to use a GPU).
            Batches are moved to the device step by step.
        scheduler: a learning-rate scheduler (``torch.optim.lr_scheduler``), or None.
            ``ReduceLROnPlateau`` is stepped with the monitored value.
        scheduler_interval: ``"epoch"`` (``scheduler.step()`` after every epoch) or
            ``"step"`` (after every optimizer step, e.g. warm-up then linear decay).
        grad_clip: clip the global gradient norm to this value (> 0) before each update;
            None: no clipping.
        patience: early stopping: stop when ``monitor`` has not improved for this many
            epochs in a row (an int >= 1). When patience is given, the model ends with
            the weights of its best epoch (``history.best_epoch``), not of its last one.
            None: run all epochs, keep the last weights.
        monitor: the per-epoch value that decides the best epoch and early stopping:
            ``"val_loss"``, ``"train_loss"`` or ``"val_<metric>"``. Names containing
            "loss", "error", "mse", "mae", "perplexity" are minimised, other metrics
            (accuracy, f1, auc, ...) maximised. When ``monitor="val_loss"`` and there is
            no ``val_data`` (and no ``patience``), the best epoch is judged on the
            training loss.
        checkpoint_dir: a folder; after every epoch fit writes ``last.pt`` there
            atomically (a temporary file renamed over the old one, so an interrupt
            mid-write loses nothing): model, optimizer, scheduler and grad-scaler
            states, every RNG state (Python, NumPy, torch, CUDA, the shuffling
            generator), the history and the early-stopping state. It loads with
            ``torch.load(path, weights_only=True)``; see ``load_checkpoint``.
        resume: continue from ``checkpoint_dir/last.pt`` if it exists (else start
            fresh). Build the model, optimizer and scheduler as for the first run; a
            run interrupted after epoch k and resumed ends with bitwise the same
            weights as an uninterrupted run on the same device.
        amp: mixed precision: None (float32), ``"bf16"`` (autocast to bfloat16, on CUDA
            or the CPU) or ``"fp16"`` (autocast to float16 with a gradient scaler; CUDA
            only). Also accepted: ``torch.bfloat16`` / ``"bfloat16"``, ``torch.float16``
            / ``"float16"``, False (None) and True (bf16, or fp16 on a GPU without bf16).
        seed: seed Python, NumPy and torch (dropout) and the shuffling generator, so a
            run is repeatable. None: use the current random state (still reproducible
            after ``bml.setup(seed=...)``).
        time_budget_s: stop after the batch that takes the training time (since fit
            started) past this many seconds. The weights include that partial epoch;
            the history and checkpoint hold complete epochs only, so ``resume=True``
            redoes the partial epoch.
        live_plot: the live loss plot (train loss a few times a second, validation loss
            per epoch, against the epoch). None: on in a notebook that a person is
            watching (``plots.live_frontend()``); True: always (a final figure where
            nothing is live); False: off; or a ``plots.LivePlot`` to draw into.
        progress: show a ``tqdm.auto`` progress bar over all steps, with the loss.

    Returns:
        A ``History``: ``history["train_loss"]``, ``["val_loss"]``, ``["val_<metric>"]``,
        ``["lr"]`` (the learning rate of the first parameter group at the start of each
        epoch), ``["epoch_time_s"]``; attributes ``best_epoch``, ``stopped_early``,
        ``stop_reason``.

    Raises:
        ValueError / TypeError: bad arguments, found before training starts (or on the
            first batch for the loss and the model's output). A non-integer ``epochs``
            (or ``batch_size``, ``patience``, ``seed``) is both a TypeError and a ValueError.
        NonFiniteLossError (a ValueError and RuntimeError): the loss became NaN or
            infinite; the message names the epoch, the step and the learning rate. On
            the CPU it stops before that step's update; on an accelerator (checked a
            few times a second) the weights are unusable. The last checkpoint is good.
    """
    # ---- validate every argument before any training
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
    _check_int("epochs", epochs, 1)
    _check_int("batch_size", batch_size, 1)
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
    if grad_clip is not None and not (_is_real(grad_clip) and grad_clip > 0):
        raise ValueError(f"grad_clip must be a positive number or None, got {grad_clip!r}")
    if patience is not None:
        _check_int("patience", patience, 1, " or None")
    if seed is not None:
        _check_int("seed", seed, 0, " or None")
    if time_budget_s is not None and not (_is_real(time_budget_s) and time_budget_s > 0):
        raise ValueError(f"time_budget_s must be a positive number of seconds or None, "
                         f"got {time_budget_s!r}")
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
    mode = _monitor_mode(monitor)
    if resume and checkpoint_dir is None:
        raise ValueError("resume=True needs checkpoint_dir, the folder the first run wrote to")

    device = _device(device, model)
    amp = _amp_mode(amp, device)
    autocast = _autocast(amp, device)
    if any(t.device != device for t in [*model.parameters(), *model.buffers()]):
        model.to(device)
    scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None

    if seed is not None:
        _seed(int(seed), device)
    shuffle_gen = torch.Generator()
    shuffle_gen.manual_seed(int(seed) if seed is not None else
                            int(torch.randint(0, 2**62, (1,)).item()))
    train_batches = _as_batches(train_data, "train_data", batch_size, shuffle, shuffle_gen)
    val_batches = (None if val_data is None else
                   _as_batches(val_data, "val_data", batch_size, False, None))
    _check_val_like_train(train_batches, val_batches)
    generators = train_batches.generators()

    history = History(train_loss=[], lr=[], epoch_time_s=[])
    if val_batches is not None:
        history["val_loss"] = []
        for name in metrics:
            history[f"val_{name}"] = []
    best_value: float | None = None
    bad_epochs = 0
    best_state: dict | None = None
    start_epoch = 0
    ckpt_path = None
    if checkpoint_dir is not None:
        ckpt_dir = Path(checkpoint_dir)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        ckpt_path = ckpt_dir / CHECKPOINT_NAME
        if resume and ckpt_path.is_file():
            state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
            if state.get("format") != CHECKPOINT_FORMAT:
                raise ValueError(f"{ckpt_path} was not written by this version of fit")
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if (scheduler is None) != (state["scheduler"] is None):
                raise ValueError(f"{ckpt_path} was written "
                                 f"{'with' if state['scheduler'] is not None else 'without'} a "
                                 "scheduler; resume with the same setup as the first run")
            if scheduler is not None:
                scheduler.load_state_dict(state["scheduler"])
            if scaler is not None and state["scaler"] is not None:
                scaler.load_state_dict(state["scaler"])
            _set_rng_state(state["rng"], device, generators)
            for key in history:
                history[key] = list(state["history"].get(key, []))
            history.best_epoch = state["best_epoch"]
            history.stopped_early = state["stopped_early"]
            history.stop_reason = state["stop_reason"]
            best_value, bad_epochs = state["best_value"], state["bad_epochs"]
            best_state = state.get("best_model")
            start_epoch = state["epoch"]
            print(f"resumed from {ckpt_path}: {start_epoch} epoch(s) done, "
                  + ("training had stopped early" if history.stopped_early else
                     f"continuing up to epoch {epochs}" if start_epoch < epochs else
                     f"nothing left to do for epochs={epochs}"))
        elif resume:
            print(f"no checkpoint in {ckpt_dir} yet: starting from scratch")

    # ---- the display: progress bar and live plot
    plot = None
    if isinstance(live_plot, bool) or live_plot is None:
        from bigmodel_lib import plots

        if live_plot or (live_plot is None and plots.live_frontend()):
            plot = plots.LivePlot(title=f"training {type(model).__name__}", xlabel="epoch",
                                  ylabel="loss")
    elif callable(getattr(live_plot, "update", None)):
        plot = live_plot
    else:
        raise TypeError(f"live_plot must be None, True, False or a LivePlot, got {live_plot!r}")
    if plot is not None:
        for i, value in enumerate(history["train_loss"]):
            plot.update(i + 1, train_loss=value)
            if "val_loss" in history:
                plot.update(i + 1, val_loss=history["val_loss"][i])
    steps_per_epoch = len(train_batches) if not isinstance(train_batches, _LoaderBatches) \
        or train_batches.has_len() else None
    bar = None
    if progress:
        from bigmodel_lib.progress import progress as progress_bar

        total = None if steps_per_epoch is None else steps_per_epoch * (epochs - start_epoch)
        bar = progress_bar(total=total, desc="fit", unit="step")

    # ---- training
    # tensors already on the device need no .to() per step
    move = not (isinstance(train_batches, _TensorBatches)
                and all(t.device == device for t in _tensors(train_batches.X, train_batches.y)))
    step_scheduler = scheduler is not None and scheduler_interval == "step"
    first_batch = start_epoch == 0
    global_step = start_epoch * (steps_per_epoch or 0)
    t_start = time.perf_counter()
    stopped = history.stopped_early

    def look(tally: _LossTally, epoch: int, step: int, global_step: int, note: str) -> float:
        """One sync with the device: NaN check, progress text, live plot; returns the time."""
        chunk = tally.flush(epoch, step, global_step, note)
        if chunk is not None:
            if bar is not None:
                bar.set_postfix(epoch=epoch, loss=f"{tally.mean:.4g}", refresh=False)
            if plot is not None:
                where = epoch - 1 + (step / steps_per_epoch if steps_per_epoch else 1.0)
                plot.update(where, train_loss=chunk)
        return time.perf_counter()

    try:
        for epoch in range(start_epoch + 1, epochs + 1):
            if stopped:
                break
            t_epoch = time.perf_counter()
            model.train()
            lr_start = float(optimizer.param_groups[0]["lr"])
            tally = _LossTally(eager=device.type == "cpu")
            step = 0
            last_check = t_epoch
            note = (f"; the checkpoint in {ckpt_path.parent} is from epoch {epoch - 1}"
                    if ckpt_path is not None and epoch > 1 else "")

            budget_hit = False
            for inputs, targets in train_batches:
                step += 1
                global_step += 1
                if move:
                    inputs, targets = _to(inputs, device), _to(targets, device)
                if first_batch:
                    loss = _first_loss(model, loss_fn, inputs, targets, autocast)
                    first_batch = False
                else:
                    with autocast():
                        loss = loss_fn(_forward(model, inputs), targets)
                tally.add(loss, targets.shape[0] if isinstance(targets, torch.Tensor)
                          else _first_dim(inputs), optimizer.param_groups[0]["lr"])
                if tally.bad:
                    look(tally, epoch, step, global_step, note)  # raises
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    if grad_clip is not None:
                        scaler.unscale_(optimizer)
                        nn.utils.clip_grad_norm_(trainable, grad_clip)
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    if grad_clip is not None:
                        nn.utils.clip_grad_norm_(trainable, grad_clip)
                    optimizer.step()
                if step_scheduler:
                    scheduler.step()
                if bar is not None:
                    bar.update()
                now = time.perf_counter()
                if now - last_check >= CHECK_INTERVAL_S or len(tally) >= MAX_PENDING_STEPS:
                    last_check = look(tally, epoch, step, global_step, note)
                if time_budget_s is not None and now - t_start > time_budget_s:
                    budget_hit = True
                    break
            look(tally, epoch, step, global_step, note)
            if step == 0:
                raise ValueError("train_data yielded no batches in this epoch")
            if budget_hit and (steps_per_epoch is None or step < steps_per_epoch):
                stopped = True
                history.stopped_early = True
                history.stop_reason = (
                    f"time budget of {time_budget_s:g} s reached during epoch {epoch} after "
                    f"{step} step(s); the model has every step so far, the history the "
                    f"{epoch - 1} complete epoch(s)")
                if checkpoint_dir is not None:
                    history.stop_reason += "; so has the checkpoint, and resume=True redoes the partial one"
                break

            # ---- end of epoch: validation, records, scheduler, early stopping, checkpoint
            record = {"train_loss": tally.mean}
            if val_batches is not None:
                record.update(_validate(model, val_batches, loss_fn, metrics, device, autocast))
            for key, value in record.items():
                history[key].append(value)
            history["lr"].append(lr_start)
            value = record[monitor]
            if _improved(value, best_value, mode):
                best_value, bad_epochs, history.best_epoch = value, 0, epoch
                if patience is not None:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                bad_epochs += 1
            if scheduler is not None and not step_scheduler:
                scheduler.step(value) if plateau else scheduler.step()
            patience_stop = patience is not None and bad_epochs >= patience
            if patience_stop:
                stopped = True
                history.stopped_early = True
                history.stop_reason = (
                    f"early stopping after epoch {epoch}: {monitor} did not improve for "
                    f"{bad_epochs} epoch(s); best {best_value:.6g} at epoch {history.best_epoch}")
            elif epoch == epochs:
                history.stop_reason = f"completed {epochs} epoch(s)"
            elif budget_hit:
                stopped = True
                history.stopped_early = True
                history.stop_reason = (f"time budget of {time_budget_s:g} s reached at the end "
                                       f"of epoch {epoch}")
            history["epoch_time_s"].append(time.perf_counter() - t_epoch)
            if plot is not None and "val_loss" in record:
                plot.update(epoch, val_loss=record["val_loss"])
            if bar is not None:
                bar.set_postfix(epoch=epoch, loss=f"{record['train_loss']:.4g}",
                                **({"val_loss": f"{record['val_loss']:.4g}"}
                                   if "val_loss" in record else {}))
            if ckpt_path is not None:
                _atomic_save({
                    "format": CHECKPOINT_FORMAT,
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": None if scheduler is None else scheduler.state_dict(),
                    "scaler": None if scaler is None else scaler.state_dict(),
                    "rng": _rng_state(device, generators),
                    "history": {k: list(v) for k, v in history.items()},
                    "best_epoch": history.best_epoch,
                    "best_value": best_value,
                    "bad_epochs": bad_epochs,
                    "stopped_early": patience_stop,  # a time budget stop can be resumed
                    "stop_reason": (history.stop_reason if patience_stop
                                    else f"checkpoint after epoch {epoch}"),
                    "best_model": best_state,
                }, ckpt_path)
        if start_epoch >= epochs and not history.stopped_early:
            history.stop_reason = f"completed {start_epoch} epoch(s) (all done before resuming)"
        if patience is not None and best_state is not None:
            model.load_state_dict(best_state)
    finally:
        if bar is not None:
            bar.close()
        if plot is not None and plot is not live_plot:
            plot.close()
    return history


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
    _check_int("batch_size", batch_size, 1)
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
