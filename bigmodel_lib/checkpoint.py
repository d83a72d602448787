"""Checkpoints of a ``fit`` run: what is saved, how it is checked, how it is restored (chapter 05).

One save/restore pair, and every key of the file written and read here:

- ``save_checkpoint`` writes ``last.pt`` atomically (a temporary file renamed over the old
  one: an interrupt mid-write keeps the previous checkpoint) with a format version and a
  SHA-256 checksum of everything in it (tensor bytes included);
- ``load_checkpoint`` reads it safely (``torch.load(weights_only=True)``) and refuses a
  damaged file (empty, truncated, not a checkpoint, a flipped byte, another format
  version) with a ``CheckpointError`` naming the file and what to do;
- ``restore_checkpoint`` first checks that the whole checkpoint fits this run (the same
  model, optimizer type and parameter groups, scheduler, shuffling) and only then
  writes anything into the model, optimizer, scheduler, scaler and random generators.

Changed settings on resume. A checkpoint that cannot fit the run (another model or
optimizer type, a scheduler added or removed) is refused before anything is modified.
A hyperparameter that differs from the first run's (the optimizer's learning rate,
momentum, betas, weight decay ...; ``batch_size``, ``accumulate``, ``amp``,
``grad_clip``, ``scheduler_interval``, ``patience``, ``monitor``) is reported with a
``UserWarning`` naming each difference: the optimizer and scheduler continue with the
checkpoint's values (the run goes on as it was), the loop settings with the new ones.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_NAME",
    "CheckpointError",
    "load_checkpoint",
    "prepare_checkpoint_dir",
    "restore_checkpoint",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]

CHECKPOINT_NAME = "last.pt"
CHECKPOINT_FORMAT = 2  # 2: checksum and the run's hyperparameters (1: neither)
# What every checkpoint holds besides the checksum.
KEYS = ("format", "epoch", "model", "optimizer", "scheduler", "scaler", "rng", "history",
        "best_epoch", "best_value", "bad_epochs", "stopped_early", "stop_reason", "best_model",
        "hyper")
_FIX = ("delete it (or move it away) to start from scratch, or resume from an intact copy "
        "of the folder")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: damaged, from another format, or for another run."""


# ---------------------------------------------------------------- random states


def rng_state(device: torch.device, generators: list[torch.Generator]) -> dict:
    """Every random state that training reads, as tensors and plain types (weights_only-safe)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64),
                   "gauss": gauss},
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
        "mps": torch.mps.get_rng_state() if device.type == "mps" else None,
        "shuffle": [g.get_state() for g in generators],
    }


def set_rng_state(state: dict, device: torch.device, generators: list[torch.Generator]) -> None:
    """Restore what ``rng_state`` saved (the shuffling generators in the same order)."""
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
    for g, s in zip(generators, state["shuffle"], strict=True):
        g.set_state(s)


# ---------------------------------------------------------------- checksum


def _feed(h: Any, obj: Any) -> None:
    """Hash ``obj`` (nested dicts, lists, tensors, plain values) in a fixed order."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous().reshape(-1)
        h.update(f"T{t.dtype}{tuple(obj.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for key in sorted(obj, key=repr):
            h.update(repr(key).encode())
            _feed(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        h.update(f"L{len(obj)}".encode())
        for item in obj:
            _feed(h, item)
    else:
        h.update(f"V{obj!r}".encode())


def _checksum(state: dict) -> str:
    h = hashlib.sha256()
    _feed(h, {k: v for k, v in state.items() if k != "checksum"})
    return h.hexdigest()


# ---------------------------------------------------------------- save and load


def prepare_checkpoint_dir(checkpoint_dir: str | os.PathLike) -> Path:
    """Create the folder and check that a checkpoint can be written there; return its path.

    Called before the first epoch, so a read-only folder fails at once, not after an epoch.
    """
    folder = Path(checkpoint_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-test.", suffix=".tmp")
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise PermissionError(f"checkpoint_dir {str(folder)!r} cannot be written to ({err}); "
                              "choose a folder you can write to") from err
    path = folder / CHECKPOINT_NAME
    if path.exists() and not path.is_file():
        raise CheckpointError(f"{path} exists but is not a file; move it away or choose "
                              "another checkpoint_dir")
    return path


def save_checkpoint(path: Path, *, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                    scheduler: Any, scaler: Any, device: torch.device,
                    generators: list[torch.Generator], loop: dict, hyper: dict) -> None:
    """Write the checkpoint after ``epoch`` complete epochs to ``path``, atomically.

    ``loop`` holds fit's own state (``history``, ``best_epoch``, ``best_value``,
    ``bad_epochs``, ``stopped_early``, ``stop_reason``, ``best_model``); ``hyper`` the
    settings of the run (compared on resume).
    """
    state = {
        "format": CHECKPOINT_FORMAT,
        "epoch": epoch,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
        "rng": rng_state(device, generators),
        **{key: loop[key] for key in KEYS if key in loop},
        "hyper": hyper,
    }
    state["checksum"] = _checksum(state)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # atomic: an interrupt leaves the old checkpoint intact
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def load_checkpoint(checkpoint_dir: str | os.PathLike, map_location: Any = "cpu") -> dict:
    """Load and verify the checkpoint ``fit`` wrote into ``checkpoint_dir`` (or a path to it).

    Loads safely (``weights_only=True``). Keys: ``format``, ``epoch`` (complete epochs),
    ``model``, ``optimizer``, ``scheduler``, ``scaler``, ``rng``, ``history`` (a plain dict
    of lists), ``best_epoch``, ``best_value``, ``bad_epochs``, ``stopped_early``,
    ``stop_reason``, ``best_model`` (with ``patience``: the weights of the best epoch),
    ``hyper`` (the run's settings) and ``checksum``.

    Raises:
        FileNotFoundError: there is no checkpoint there.
        CheckpointError (a ValueError): the file is damaged or of another format.
    """
    path = Path(checkpoint_dir)
    if path.is_dir() or not path.suffix:
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; fit(..., checkpoint_dir=...) writes it")
    if path.stat().st_size == 0:
        raise CheckpointError(f"the checkpoint {path} is empty (0 bytes); {_FIX}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(f"the checkpoint {path} cannot be read: it is truncated, damaged or "
                              f"not a checkpoint ({type(err).__name__}: {str(err)[:200]}); "
                              f"{_FIX}") from err
    if not isinstance(state, dict) or "format" not in state:
        raise CheckpointError(f"{path} is not a checkpoint written by fit (it holds a "
                              f"{type(state).__name__} without a format version); {_FIX}")
    if state["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} has checkpoint format {state['format']!r} but this version "
                              f"of the library reads format {CHECKPOINT_FORMAT}; start from scratch "
                              "(delete it or use another checkpoint_dir)")
    missing = [key for key in (*KEYS, "checksum") if key not in state]
    if missing:
        raise CheckpointError(f"{path} lacks {missing}: it is not a complete checkpoint; {_FIX}")
    if _checksum(state) != state["checksum"]:
        raise CheckpointError(f"{path} is damaged: its contents do not match its SHA-256 checksum "
                              f"(a changed byte); {_FIX}")
    return state


# ---------------------------------------------------------------- restore


def _plain(value: Any) -> Any:
    """A hyperparameter as a weights_only-safe, comparable value."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


def run_settings(optimizer: torch.optim.Optimizer, scheduler: Any, **loop: Any) -> dict:
    """The settings a resumed run is compared on (taken before the first step)."""
    kind = type(optimizer)
    return {
        "optimizer": f"{kind.__module__}.{kind.__qualname__}",
        "groups": [{k: _plain(v) for k, v in g.items() if k != "params"}
                   for g in optimizer.param_groups],
        "scheduler": None if scheduler is None else type(scheduler).__qualname__,
        **{k: _plain(v) for k, v in loop.items()},
    }


def _refuse(path: Path, problem: str) -> CheckpointError:
    return CheckpointError(f"the checkpoint {path} does not fit this run: {problem}; resume with the "
                           "same model, optimizer and scheduler as the first run, or choose another "
                           "checkpoint_dir to start afresh. Nothing was modified")


def _check_fits(state: dict, path: Path, model: nn.Module, optimizer: torch.optim.Optimizer,
                scheduler: Any, generators: list, hyper: dict) -> None:
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for name in ("model", "best_model"):
        if state[name] is None:
            continue
        theirs = {k: tuple(v.shape) for k, v in state[name].items()}
        if theirs != ours:
            diff = sorted(set(theirs) ^ set(ours)) or [k for k in ours if ours[k] != theirs[k]]
            raise _refuse(path, f"its {name} weights differ from the model's ({diff[:4]})")
    saved = state["hyper"]
    if saved["optimizer"] != hyper["optimizer"]:
        raise _refuse(path, f"it was written with the optimizer {saved['optimizer']}, this run "
                            f"uses {hyper['optimizer']}")
    groups = state["optimizer"]["param_groups"]
    if [len(g["params"]) for g in groups] != [len(g["params"]) for g in optimizer.param_groups]:
        raise _refuse(path, "its optimizer has other parameter groups")
    if [sorted(g) for g in groups] != [sorted(g) for g in optimizer.param_groups]:
        raise _refuse(path, "its optimizer has other hyperparameter names")
    if saved["scheduler"] != hyper["scheduler"]:
        raise _refuse(path, f"it was written with scheduler {saved['scheduler']}, this run has "
                            f"{hyper['scheduler']}")
    if len(state["rng"]["shuffle"]) != len(generators):
        raise _refuse(path, f"it holds {len(state['rng']['shuffle'])} shuffling generator state(s) "
                            f"but this run has {len(generators)} (use the same kind of training "
                            "data, tensors or a DataLoader, and the same shuffle)")


def _report_changes(saved: dict, hyper: dict, path: Path) -> None:
    changes = []
    for i, (old, new) in enumerate(zip(saved["groups"], hyper["groups"], strict=True)):
        changes += [f"{k} {old[k]!r} -> {new[k]!r}" + (f" (group {i})" if i else "")
                    for k in old if k in new and old[k] != new[k]]
    changes += [f"{k} {saved[k]!r} -> {hyper[k]!r}" for k in hyper
                if k not in ("optimizer", "groups", "scheduler") and saved.get(k) != hyper[k]]
    if changes:
        warnings.warn(f"resuming from {path} with changed settings: {'; '.join(changes)}. The "
                      "optimizer and scheduler continue with the checkpoint's values, the "
                      "loop uses the new ones, so the run is no longer the same as an "
                      "uninterrupted one", UserWarning, stacklevel=3)


def restore_checkpoint(path: Path, *, model: nn.Module, optimizer: torch.optim.Optimizer,
                       scheduler: Any, scaler: Any, device: torch.device,
                       generators: list[torch.Generator], hyper: dict) -> dict:
    """Load ``path``, check that it fits this run, then restore it; return the whole state.

    Nothing is modified until every check has passed (see the module docstring).
    """
    state = load_checkpoint(path)
    _check_fits(state, path, model, optimizer, scheduler, generators, hyper)
    _report_changes(state["hyper"], hyper, path)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler"])
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"], device, generators)
    return state
