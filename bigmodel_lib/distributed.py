"""Data-parallel training with ``torch.distributed``, on CPUs and GPUs (chapter 10).

Data parallelism: N processes each hold a full copy of the model, each computes the
gradient of the loss on its own share of the batch, and the processes *average* their
gradients (an ``all_reduce``) before every optimizer step, so every copy takes the same
step: the step one process would take on the whole batch.

- ``init_from_env``: join the process group that ``torchrun`` describes in the
  environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT); gloo on a CPU,
  nccl on a GPU; without torchrun, a single process and nothing to join;
- ``world``, ``is_main``, ``print0``: who am I, and printing from rank 0 alone;
- ``shard_sampler`` / ``shard``: a ``DistributedSampler``: each rank's share of the data;
- ``all_reduce_gradients``: data parallelism by hand (what ``DistributedDataParallel``
  does, bucketed and overlapped with the backward pass);
- ``wrap_ddp``: the model wrapped in ``DistributedDataParallel`` when there is a group;
- ``spawn``: run a function in N local processes with a gloo group (tests, notebooks);
- ``train_data_parallel`` / ``train_single``: a few steps of SGD or AdamW on a small
  model, data-parallel or in one process, to check that both end with the same weights.

``python -m bigmodel_lib.distributed`` under ``torchrun`` runs that check and prints the
largest weight difference from rank 0 (the notebook launches it on two "nodes").
"""

from __future__ import annotations

import atexit
import os
import pickle
import socket
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data.distributed import DistributedSampler

BACKENDS = ("gloo", "nccl")


class DistributedSetupError(ValueError, RuntimeError):
    """The process group cannot be set up as asked (a backend that is not available, ...)."""


@dataclass(frozen=True)
class World:
    """This process's place in the group: rank (0 .. world_size - 1), local rank on its
    machine, the backend (None: a single process, no group) and the device it trains on."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that prints and writes results."""
        return self.rank == 0


def default_backend() -> str:
    """nccl where there is a GPU (its collectives run on the GPU), gloo otherwise."""
    return "nccl" if torch.cuda.is_available() else "gloo"


def check_backend(backend: str) -> str:
    """``backend`` if this machine can use it; else a DistributedSetupError saying why."""
    if backend not in BACKENDS:
        raise DistributedSetupError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if not dist.is_available():
        raise DistributedSetupError("this torch build has no torch.distributed support")
    if not dist.is_backend_available(backend):
        raise DistributedSetupError(
            f"the {backend!r} backend is not available in this torch build "
            f"(available: {[b for b in BACKENDS if dist.is_backend_available(b)]}); "
            "use 'gloo' on a CPU and 'nccl' on NVIDIA GPUs")
    if backend == "nccl" and not torch.cuda.is_available():
        raise DistributedSetupError("the 'nccl' backend needs NVIDIA GPUs and none is visible; "
                                    "use backend='gloo' on a CPU")
    return backend


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as err:
        raise DistributedSetupError(f"environment variable {name}={value!r} is not an integer") from err


def world() -> World:
    """This process's ``World``: from the initialised group, else a single process."""
    if dist.is_available() and dist.is_initialized():
        backend = dist.get_backend()
        local = _env_int("LOCAL_RANK", 0)
        device = torch.device("cuda", local) if backend == "nccl" else torch.device("cpu")
        return World(dist.get_rank(), dist.get_world_size(), local, backend, device)
    return World(device=torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu"))


def init_from_env(backend: str | None = None) -> World:
    """Join the process group described by torchrun's environment variables.

    Without WORLD_SIZE (or with WORLD_SIZE=1) there is nothing to join: a single process.
    ``backend`` None picks ``default_backend()``; one that is not available is a
    ``DistributedSetupError`` naming the ones that are. On nccl each process trains on
    GPU ``LOCAL_RANK``. The group is destroyed when the program exits.
    """
    if dist.is_available() and dist.is_initialized():
        return world()
    size = _env_int("WORLD_SIZE", 1)
    if size < 1:
        raise DistributedSetupError(f"WORLD_SIZE must be >= 1, got {size}")
    if size == 1:
        return world()
    backend = check_backend(backend or default_backend())
    rank, local = _env_int("RANK", 0), _env_int("LOCAL_RANK", 0)
    if not 0 <= rank < size:
        raise DistributedSetupError(f"RANK={rank} must be in [0, WORLD_SIZE={size})")
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name)]
    if missing:
        raise DistributedSetupError(f"WORLD_SIZE={size} but {missing} not set: start the "
                                    "processes with torchrun, which sets them")
    if backend == "nccl":
        torch.cuda.set_device(local)
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=size)
    atexit.register(cleanup)
    return world()


def cleanup() -> None:
    """Leave the process group (if there is one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_main() -> bool:
    """True in rank 0 or in a single process."""
    return world().is_main


def print0(*args: Any, **kwargs: Any) -> None:
    """``print`` in rank 0 only (N processes printing the same line helps nobody)."""
    if is_main():
        print(*args, **kwargs)


def shard_sampler(data: Sequence | int, *, shuffle: bool = True, seed: int = 0,
                  drop_last: bool = False) -> DistributedSampler:
    """A ``DistributedSampler`` over ``data`` (or ``range(n)``) for this process's rank.

    Each rank gets ``ceil(n / world_size)`` indices (a few repeated to make the shares
    equal, unless ``drop_last``), so every rank runs the same number of steps: a rank
    with one step more would wait forever for the others' gradients. More ranks than
    examples is a ValueError. Call ``sampler.set_epoch(epoch)`` to reshuffle per epoch.
    """
    n = data if isinstance(data, int) else len(data)
    here = world()
    if n < here.world_size:
        raise ValueError(f"{n} examples cannot be shared by {here.world_size} processes: each "
                         "process needs at least one; use fewer processes or more data")
    return DistributedSampler(range(n), num_replicas=here.world_size, rank=here.rank,
                              shuffle=shuffle, seed=seed, drop_last=drop_last)


def shard(data: Any, *, seed: int = 0, shuffle: bool = True) -> Any:
    """This rank's share of ``data`` (all of it in a single process).

    ``finetune.TokenizedTexts`` stays ``TokenizedTexts`` (so ``text_loader`` can bucket
    it by length); any other dataset becomes a ``torch.utils.data.Subset``.
    """
    if world().world_size == 1:
        return data
    indices = list(shard_sampler(data, shuffle=shuffle, seed=seed))
    from bigmodel_lib.finetune import TokenizedTexts

    if isinstance(data, TokenizedTexts):
        labels = None if data.labels is None else [data.labels[i] for i in indices]
        return TokenizedTexts([data.input_ids[i] for i in indices], labels, data.pad_id)
    return torch.utils.data.Subset(data, indices)


def all_reduce_gradients(model: nn.Module) -> None:
    """Average every gradient over the processes, in place: g ← (g₀ + … + g_{N−1}) / N.

    Data parallelism by hand: call it between ``loss.backward()`` and
    ``optimizer.step()``. With equal shares and mean-reduced losses, the average of the
    shares' gradients is the gradient on the whole batch.
    """
    size = world().world_size
    if size == 1:
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= size


def wrap_ddp(model: nn.Module) -> nn.Module:
    """``DistributedDataParallel(model)`` when a process group is running, else ``model``.

    Wrap after freezing (DDP averages the gradients of the parameters that require
    one when it is built) and keep a reference to ``model``: its weights are the
    trained ones.
    """
    here = world()
    if here.world_size == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [here.device.index] if here.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


# --------------------------------------------------------------------------- local processes


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a rendezvous that never leaves this machine)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawned(rank: int, fn: Callable, world_size: int, port: int, backend: str,
             results: Any, args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size))
    torch.set_num_threads(1)  # N processes share the cores
    try:
        init_from_env(backend)
        # plain pickle bytes: a tensor sent as itself would travel as a shared-memory
        # handle that dies with this process
        results.put((rank, pickle.dumps(fn(rank, world_size, *args)), None))
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        results.put((rank, None, traceback.format_exc()))
    finally:
        cleanup()


def spawn(fn: Callable[..., Any], world_size: int = 2, *args: Any, backend: str = "gloo",
          timeout_s: float = 120.0) -> list[Any]:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` new local processes that
    form one process group (rendezvous on 127.0.0.1); return their results by rank.

    ``fn`` must be importable (defined in a module, not in a notebook cell) and its
    arguments and result picklable. An error in any process is re-raised here with
    its traceback.
    """
    import multiprocessing as mp

    if not isinstance(world_size, int) or world_size < 1:
        raise ValueError(f"world_size must be a positive integer, got {world_size!r}")
    check_backend(backend)
    context = mp.get_context("spawn")
    results = context.Queue()
    port = free_port()
    procs = [context.Process(target=_spawned, args=(rank, fn, world_size, port, backend,
                                                    results, args), daemon=True)
             for rank in range(world_size)]
    for proc in procs:
        proc.start()
    out: dict[int, Any] = {}
    try:
        for _ in procs:
            rank, value, error = results.get(timeout=timeout_s)
            if error is not None:
                raise RuntimeError(f"process {rank} of {world_size} failed:\n{error}")
            out[rank] = pickle.loads(value)
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    return [out[rank] for rank in range(world_size)]


# --------------------------------------------------------------------------- the equality check


def _optimizer(name: str, params, lr: float) -> torch.optim.Optimizer:
    from bigmodel_lib.optim import OPTIMIZERS

    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {sorted(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, lr=lr)


def _batches(steps: int, batch: int, features: int = 8, classes: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(batch, features, generator=gen, dtype=torch.float64),
             torch.randint(0, classes, (batch,), generator=gen)) for _ in range(steps)]


def small_model(seed: int = 0) -> nn.Module:
    """The small float64 classifier of the data-parallel checks (8 features, 3 classes)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 3)).double()


def train_single(optimizer: str = "sgd", steps: int = 5, batch: int = 16, lr: float = 0.1,
                 seed: int = 0) -> dict[str, torch.Tensor]:
    """``steps`` steps of ``small_model`` in one process on whole batches: the reference."""
    model = small_model(seed)
    opt = _optimizer(optimizer, model.parameters(), lr)
    for x, y in _batches(steps, batch, seed=seed + 1):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_data_parallel(rank: int, world_size: int, optimizer: str = "sgd", steps: int = 5,
                        batch: int = 16, lr: float = 0.1, seed: int = 0,
                        by_hand: bool = False) -> dict[str, torch.Tensor]:
    """The same run as ``train_single``, each rank on its share of every batch.

    ``by_hand=True`` averages gradients with ``all_reduce_gradients``; otherwise the
    model is wrapped in ``DistributedDataParallel``. Returns this rank's final weights.
    """
    if batch % world_size:
        raise ValueError(f"batch={batch} must split evenly over {world_size} processes")
    model = small_model(seed)
    net = model if by_hand else wrap_ddp(model)
    opt = _optimizer(optimizer, model.parameters(), lr)
    share = batch // world_size
    for x, y in _batches(steps, batch, seed=seed + 1):
        mine = slice(rank * share, (rank + 1) * share)
        opt.zero_grad()
        nn.functional.cross_entropy(net(x[mine]), y[mine]).backward()
        if by_hand:
            all_reduce_gradients(model)
        opt.step()
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def train_data_parallel_runs(rank: int, world_size: int,
                             runs: Sequence[dict[str, Any]]) -> list[dict[str, torch.Tensor]]:
    """Several ``train_data_parallel`` runs in one group (one process start-up for all):
    ``runs`` holds their keyword arguments; returns this rank's final weights of each."""
    return [train_data_parallel(rank, world_size, **run) for run in runs]


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """The largest absolute difference between two state dicts with the same keys."""
    if a.keys() != b.keys():
        raise ValueError(f"the state dicts hold different weights: {sorted(a)} vs {sorted(b)}")
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def main(argv: list[str] | None = None) -> int:
    """Under torchrun: the data-parallel check, reported by rank 0."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bigmodel_lib.distributed",
                                     description="Data-parallel training equals one process "
                                                 "on the whole batch (run it under torchrun).")
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    here = init_from_env()
    mine = train_data_parallel(here.rank, here.world_size, args.optimizer, args.steps, args.batch)
    if here.world_size > 1:
        gathered: list[Any] = [None] * here.world_size
        dist.all_gather_object(gathered, mine)
    else:
        gathered = [mine]
    if here.is_main:
        reference = train_single(args.optimizer, args.steps, args.batch)
        node = os.environ.get("GROUP_RANK", "0")
        print(f"rank 0 of {here.world_size} (node {node}, backend {here.backend or 'none'}): "
              f"{args.steps} {args.optimizer} steps on batches of {args.batch}")
        print(f"largest difference between ranks: "
              f"{max(max_difference(g, mine) for g in gathered):.1e}")
        print(f"largest difference from one process on the whole batch: "
              f"{max_difference(mine, reference):.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
