"""Training faster: measuring it, activation checkpointing, and the speed benchmark (chapter 10).

- ``time_per_call``: the median wall time of a function (after a warm-up call);
- ``activation_bytes``: the bytes the autograd graph keeps for the backward pass while a
  forward runs (counted with ``torch.autograd.graph.saved_tensors_hooks``): the memory
  that grows with the batch size and that activation checkpointing saves. Exact and
  repeatable, on any device;
- ``set_checkpointing``: ``torch.utils.checkpoint`` on every layer of an encoder: a
  layer keeps only its input, and recomputes its insides during the backward pass;
- ``accumulated_step``: one optimizer step from k micro-batches (loss / k each): the
  update of one batch k times the size, in the memory of one micro-batch;
- ``ddp_examples_per_s``: a data-parallel worker for ``distributed.spawn``, timing
  training steps;
- ``main``: ``python -m bigmodel_lib.bench speed [--out results.json]`` measures each
  technique against its baseline in one run and prints the ratios, with the machine's
  cores and load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

# --------------------------------------------------------------------------- measuring


def time_per_call(fn: Callable[[], Any], repeats: int = 3, warmup: int = 1) -> float:
    """Median seconds of ``fn()`` over ``repeats`` calls, after ``warmup`` untimed calls."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def activation_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Run ``fn()`` (a forward pass) and count the bytes autograd saves for backward.

    Returns ``(bytes, fn's result)``; call ``.backward()`` on the result afterwards as
    usual. A tensor saved twice (same storage) counts once; parameters count too when
    autograd saves them (they exist anyway, but a layer's input does not).
    """
    seen: dict[tuple[int, torch.device], int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), t.device)] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return sum(seen.values()), out


def parameter_bytes(model: nn.Module, trainable_only: bool = False) -> int:
    """Bytes of the model's parameters (only the trainable ones if asked)."""
    return sum(p.numel() * p.element_size() for p in model.parameters()
               if p.requires_grad or not trainable_only)


# --------------------------------------------------------------------------- checkpointing


class _CheckpointedForward:
    """Mixed into a layer's class: forward through ``torch.utils.checkpoint`` when training."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        base = super().forward  # the layer's own forward
        if self.training and torch.is_grad_enabled():
            # keep only the inputs; rerun this forward during backward (same dropout masks:
            # checkpoint saves and restores the random state)
            return checkpoint(base, *args, use_reentrant=False, **kwargs)
        return base(*args, **kwargs)


_CHECKPOINTED: dict[type, type] = {}


def _checkpointed_class(cls: type) -> type:
    if cls not in _CHECKPOINTED:
        _CHECKPOINTED[cls] = type(f"Checkpointed{cls.__name__}", (_CheckpointedForward, cls),
                                  {"__module__": __name__})
    return _CHECKPOINTED[cls]


def set_checkpointing(model: nn.Module, enabled: bool = True) -> int:
    """Turn activation checkpointing on (or off) for every layer of an encoder; return
    the number of layers.

    ``model``: a BERT-style model (its ``encoder.layer`` list, found by
    ``finetune.encoder_of``) or an ``nn.ModuleList`` of layers. The layers keep their
    weights and names (``state_dict`` is unchanged); only their class gains a forward
    that goes through ``torch.utils.checkpoint``. Gradients are the same (tested).
    """
    if isinstance(model, nn.ModuleList):
        layers = model
    else:
        from bigmodel_lib.finetune import encoder_of

        layers = encoder_of(model).encoder.layer
    for layer in layers:
        cls = type(layer)
        on = issubclass(cls, _CheckpointedForward)
        if enabled and not on:
            layer.__class__ = _checkpointed_class(cls)
        elif not enabled and on:
            layer.__class__ = cls.__mro__[2]  # (Checkpointed…, _CheckpointedForward, original)
    return len(layers)


# --------------------------------------------------------------------------- accumulation


def batch_loss(model: nn.Module, inputs: Any, labels: torch.Tensor, amp: str | None = None) -> torch.Tensor:
    """Mean cross-entropy of ``model`` on one batch, under autocast to ``amp`` ("bf16", "fp16", None)."""
    device = labels.device.type
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp or "", None)
    with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
        out = model(**inputs) if isinstance(inputs, dict) else model(inputs)
        logits = getattr(out, "logits", out)
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()  # the loss in float32 (autocast's low precision stops here)
    return F.cross_entropy(logits, labels)


def accumulated_step(model: nn.Module, inputs: Any, labels: torch.Tensor,
                     optimizer: torch.optim.Optimizer, accumulate: int = 1, *,
                     amp: str | None = None, scaler: Any = None) -> float:
    """One optimizer step on a batch split into ``accumulate`` micro-batches; return the loss.

    Each micro-batch's mean loss is weighted by its share of the batch (n_i / n; 1 / k
    when they are equal) before ``backward``, so the summed gradients are the gradient
    of the whole batch's mean loss, and the step is the one a single big batch takes,
    with the activations of one micro-batch in memory at a time. ``inputs`` is a
    tensor or a dict of tensors (rows = examples). ``scaler``: a ``GradScaler`` (fp16).
    """
    if not isinstance(accumulate, int) or isinstance(accumulate, bool) or accumulate < 1:
        raise ValueError(f"accumulate must be a positive integer (micro-batches per step), "
                         f"got {accumulate!r}")
    n = len(labels)
    if accumulate > n:
        raise ValueError(f"accumulate={accumulate} micro-batches need at least that many "
                         f"examples, the batch has {n}")
    optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for rows in torch.arange(n).tensor_split(accumulate):
        part = ({k: v[rows] for k, v in inputs.items()} if isinstance(inputs, dict)
                else inputs[rows])
        loss = batch_loss(model, part, labels[rows], amp) * (len(rows) / n)  # weight n_i / n
        (scaler.scale(loss) if scaler is not None else loss).backward()
        total += float(loss.detach())
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    return total


# --------------------------------------------------------------------------- data parallel


def ddp_examples_per_s(rank: int, world_size: int, steps: int = 10, batch_per_rank: int = 64,
                       width: int = 512, device: str | None = None) -> float:
    """A ``distributed.spawn`` worker: examples/s of DDP training of an MLP (all ranks together).

    Each rank trains on ``batch_per_rank`` rows per step; the clock runs over ``steps``
    steps after two warm-up steps, between two barriers.
    """
    from bigmodel_lib import distributed

    # ``device`` None: cuda:LOCAL_RANK under nccl, the CPU under gloo
    on = torch.device(device) if device is not None else distributed.world().device
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Linear(width, width), nn.GELU(),
                          nn.Linear(width, 10)).to(on)
    net = distributed.wrap_ddp(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    gen = torch.Generator().manual_seed(rank)
    x = torch.randn(batch_per_rank, width, generator=gen).to(on)
    y = torch.randint(0, 10, (batch_per_rank,), generator=gen).to(on)

    def step() -> None:
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    for _ in range(2):
        step()
    if world_size > 1:
        torch.distributed.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if world_size > 1:
        torch.distributed.barrier()
    return steps * batch_per_rank * world_size / (time.perf_counter() - start)


# --------------------------------------------------------------------------- the benchmark


def machine() -> dict[str, Any]:
    """Cores, torch threads, 1-minute load average and bf16 support of this machine."""
    from bigmodel_lib.finetune import cpu_supports_bf16

    return {"cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "cpu_bf16_native": cpu_supports_bf16(),
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "torch": torch.__version__}


def news_batch(tokenizer, n: int, max_length: int, device: torch.device | str = "cpu",
               seed: int = 0) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """``n`` rows of the bundled news corpus, tokenized and padded to ``max_length``."""
    from bigmodel_lib.news import read_news_csv

    data = read_news_csv(Path(__file__).resolve().parents[1] / "data" / "news" / "train.csv")
    rows = torch.randperm(len(data.texts), generator=torch.Generator().manual_seed(seed))[:n]
    texts = [data.texts[i] for i in rows]
    enc = tokenizer(texts, truncation=True, max_length=max_length, padding="max_length",
                    return_tensors="pt", return_token_type_ids=False)
    labels = torch.tensor([data.labels[i] for i in rows])
    return {k: v.to(device) for k, v in enc.items()}, labels.to(device)


def run(*, batch: int = 16, max_length: int = 32, steps: int = 3, ddp_steps: int = 10,
        processes: int = 2, seed: int = 0) -> dict[str, Any]:
    """Measure every technique against its baseline on this machine; return the figures."""
    import copy

    from bigmodel_lib import distributed
    from bigmodel_lib.compress import model_size_bytes, quantize_dynamic_int8
    from bigmodel_lib.finetune import auto_amp, set_dropout
    from bigmodel_lib.models import load_pretrained_classifier

    torch.manual_seed(seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    low = "fp16" if device.type == "cuda" else "bf16"
    result: dict[str, Any] = {"machine": machine(), "device": device.type,
                              "settings": {"batch": batch, "max_length": max_length, "steps": steps,
                                           "processes": processes, "low_precision": low}}
    model, tokenizer = load_pretrained_classifier("minilm", 4)
    set_dropout(model, 0.0)
    model.to(device)
    inputs, labels = news_batch(tokenizer, batch, max_length, device, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5)
    scaler = torch.amp.GradScaler("cuda") if low == "fp16" else None
    rows: list[dict[str, Any]] = []

    def add(name: str, baseline: str, base_s: float, new_s: float, **extra: Any) -> None:
        rows.append({"technique": name, "baseline": baseline, "baseline_s": base_s,
                     "technique_s": new_s, "speed_ratio": base_s / new_s, **extra})

    # mixed precision, training and inference
    train = {amp: time_per_call(lambda amp=amp: accumulated_step(
        model, inputs, labels, opt, amp=amp, scaler=scaler if amp == "fp16" else None), steps)
        for amp in (None, low)}
    add(f"{low} training step", "fp32", train[None], train[low])
    model.eval()

    def infer(m: nn.Module, amp: str | None, on: torch.device) -> Callable[[], Any]:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp or "")
        moved = {k: v.to(on) for k, v in inputs.items()}

        def go() -> Any:
            with torch.inference_mode(), torch.autocast(on.type, dtype=dtype, enabled=dtype is not None):
                return m(**moved).logits
        return go

    fp32_infer = time_per_call(infer(model, None, device), steps)
    add(f"{low} inference", "fp32", fp32_infer, time_per_call(infer(model, low, device), steps))
    cpu_model = copy.deepcopy(model).cpu()
    int8 = quantize_dynamic_int8(cpu_model)
    cpu = torch.device("cpu")
    add("int8 dynamic inference (CPU)", "fp32 (CPU)", time_per_call(infer(cpu_model, None, cpu), steps),
        time_per_call(infer(int8, None, cpu), steps),
        size_mb={"fp32": model_size_bytes(cpu_model) / 2**20, "int8": model_size_bytes(int8) / 2**20})
    model.train()

    # gradient accumulation: k micro-batches of batch/k vs one batch
    k = 4
    one = time_per_call(lambda: accumulated_step(model, inputs, labels, opt, 1), steps)
    add(f"accumulation {k} x {batch // k}", f"one batch of {batch}", one,
        time_per_call(lambda: accumulated_step(model, inputs, labels, opt, k), steps))

    # activation checkpointing: memory kept for backward, and time
    def step_bytes() -> int:
        opt.zero_grad()
        kept, loss = activation_bytes(lambda: batch_loss(model, inputs, labels, None))
        loss.backward()
        return kept

    plain_bytes, plain_s = step_bytes(), time_per_call(lambda: accumulated_step(model, inputs, labels, opt), steps)
    set_checkpointing(model, True)
    ckpt_bytes, ckpt_s = step_bytes(), time_per_call(lambda: accumulated_step(model, inputs, labels, opt), steps)
    set_checkpointing(model, False)
    add("activation checkpointing", "no checkpointing", plain_s, ckpt_s,
        activation_mb={"without": plain_bytes / 2**20, "with": ckpt_bytes / 2**20})

    # data parallel: N processes vs 1 (gloo on CPU), an MLP, examples/s
    backend = "nccl" if device.type == "cuda" and torch.cuda.device_count() >= processes else "gloo"
    on = None if backend == "nccl" else "cpu"  # the baseline on the same kind of device
    single = distributed.spawn(ddp_examples_per_s, 1, ddp_steps, 64, 512, on, backend=backend)[0]
    many = distributed.spawn(ddp_examples_per_s, processes, ddp_steps, 64, 512, on, backend=backend)[0]
    rows.append({"technique": f"DDP {processes} processes ({backend})", "baseline": "1 process",
                 "baseline_examples_per_s": single, "technique_examples_per_s": many,
                 "speed_ratio": many / single})
    result["rows"] = rows
    result["machine"]["load_average_1min_end"] = machine()["load_average_1min"]
    result["auto_amp"] = auto_amp(device)
    return result


def format_speed(result: dict[str, Any]) -> str:
    """The table ``bench speed`` prints: one line per technique, ratio > 1 = faster."""
    m = result["machine"]
    lines = [f"speed ratios on {result['device']} ({m['cores']} cores, {m['threads']} torch threads, "
             f"1-min load {m['load_average_1min']} -> {m['load_average_1min_end']}, "
             f"CPU bf16 native: {m['cpu_bf16_native']}, torch {m['torch']})",
             f"{'technique':<34} {'baseline':<22} {'speed ratio':>11}  notes"]
    for row in result["rows"]:
        notes = []
        if "baseline_s" in row:
            notes.append(f"{row['baseline_s'] * 1e3:.0f} ms -> {row['technique_s'] * 1e3:.0f} ms")
        if "baseline_examples_per_s" in row:
            notes.append(f"{row['baseline_examples_per_s']:.0f} -> {row['technique_examples_per_s']:.0f} examples/s")
        if "size_mb" in row:
            notes.append(f"size {row['size_mb']['fp32']:.1f} -> {row['size_mb']['int8']:.1f} MB")
        if "activation_mb" in row:
            notes.append(f"activations kept {row['activation_mb']['without']:.1f} -> "
                         f"{row['activation_mb']['with']:.1f} MB")
        lines.append(f"{row['technique']:<34} {row['baseline']:<22} {row['speed_ratio']:>10.2f}x  "
                     + "; ".join(notes))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m bigmodel_lib.bench speed [--out results.json]``."""
    parser = argparse.ArgumentParser(prog="python -m bigmodel_lib.bench speed",
                                     description="Speed ratio of each chapter 10 technique "
                                                 "against its baseline, measured in one run.")
    parser.add_argument("--batch", type=int, default=16, help="examples per training batch")
    parser.add_argument("--max-length", type=int, default=32, help="tokens per text")
    parser.add_argument("--steps", type=int, default=3, help="timed repeats of each measurement")
    parser.add_argument("--processes", type=int, default=2, help="data-parallel processes")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    for name in ("batch", "max_length", "steps", "processes"):
        if getattr(args, name) < 1:
            print(f"bench speed: error: --{name.replace('_', '-')} must be >= 1", file=sys.stderr)
            return 2
    if args.batch < 4:
        print("bench speed: error: --batch must be >= 4 (it is split into 4 micro-batches)",
              file=sys.stderr)
        return 2
    result = run(batch=args.batch, max_length=args.max_length, steps=args.steps,
                 processes=args.processes)
    print(format_speed(result))
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
        print(f"results written to {args.out}")
    return 0
