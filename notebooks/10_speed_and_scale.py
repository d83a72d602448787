# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: jupyter,tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 10 · Training faster and at scale
# *中文：更快、更大规模的训练：混合精度、梯度累积、数据并行与模型压缩*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/10_speed_and_scale.ipynb)
#
# "How do I make training faster?" The usual answers are four words long: *mixed
# precision, bigger batches, more machines, a better optimizer*. This chapter turns each
# answer into code that runs on a 2-core laptop **and** on a GPU, checks that it computes
# what it claims, and measures what it buys **on your machine**: every number below is
# measured in this run, none is quoted.
#
# **You will learn**
# - mixed precision: why bf16 needs no loss scaling and fp16 does (underflow shown on real
#   gradients), and what it buys here;
# - batch size and throughput, the linear-scaling rule with warm-up, and where it breaks;
# - gradient accumulation: a big batch in the memory of a small one, exactly;
# - activation checkpointing: memory for time, with the same gradients;
# - data-parallel training with `torch.distributed`: by hand, with DDP, with `torchrun`
#   on two processes and on two "nodes", and the memory arithmetic of ZeRO/FSDP;
# - smaller models for inference: int8 quantization and knowledge distillation;
# - two more optimizers, AdaGrad and RMSProp, the ancestors of Adam.

# %% tags=["nbval-ignore-output"]
# Setup: on Colab, fetch the course and install what Colab lacks (nothing it has is upgraded).
import os
import subprocess
import sys

COURSE_REPO = os.environ.get("BIGMODEL_COURSE_REPO", "https://github.com/bigmodel-course/bigmodel-course")
if "google.colab" in sys.modules and not os.path.isdir("/content/bigmodel-course"):
    subprocess.run(["git", "clone", "--depth", "1", COURSE_REPO, "/content/bigmodel-course"], check=True)
    subprocess.run([sys.executable, "/content/bigmodel-course/tools/colab_install.py"], check=True)
    sys.path.insert(0, "/content/bigmodel-course")

import bigmodel_lib as bml

device = bml.setup(seed=0, threads=2)

# %% tags=["nbval-ignore-output"]
import copy
import json
import tempfile
import time
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from bigmodel_lib import distributed, economics, optim, speed
from bigmodel_lib.bilstm import BiLSTMClassifier
from bigmodel_lib.compress import Int8DynamicLinear, distillation_loss, model_size_bytes, quantize_dynamic_int8
from bigmodel_lib.env import data_dir
from bigmodel_lib.finetune import cpu_supports_bf16, freeze, set_dropout
from bigmodel_lib.models import load_pretrained_classifier
from bigmodel_lib.news import read_news_csv
from bigmodel_lib.speed import accumulated_step, activation_bytes, set_checkpointing, time_per_call
from bigmodel_lib.text import Vocabulary
from bigmodel_lib.text import tokenize as words
from bigmodel_lib.train import fit

REPO = Path(bml.__file__).resolve().parents[1]  # torchrun below runs from the repository
NEWS = data_dir() / "news"
# The profile picks the sizes: a 2-core laptop gets short runs on the bundled corpus,
# a GPU longer ones. Low precision: bf16 on a CPU, fp16 + GradScaler on a GPU.
LOW = "fp16" if device.type == "cuda" else "bf16"
STEPS = bml.pick(default=10, gpu=200)      # fine-tuning steps per run
BATCH = bml.pick(default=16, gpu=64)       # examples per step
MAX_LEN = bml.pick(default=32, gpu=128)    # tokens per text
FIGURES = {}                               # every figure measured here, for the table at the end
print(f"{device.type}, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores, "
      f"1-min load average {os.getloadavg()[0]:.1f}; low precision {LOW}; "
      f"this CPU computes bf16 natively: {cpu_supports_bf16()}")

# %% [markdown]
# ## 1. The model and the data
#
# We fine-tune chapter 08's packaged encoder (all-MiniLM-L6-v2, 22.7 M parameters) on the
# bundled news corpus (`data/news`: 1,040 training and 240 test items, four topics), with
# the word-piece table frozen as in chapter 08's CPU recipe. Each run starts from the
# same weights and sees the same batches.

# %% tags=["nbval-ignore-output"]
train_split, test_split = read_news_csv(NEWS / "train.csv"), read_news_csv(NEWS / "test.csv")
CLASSES = train_split.label_names
model, tokenizer = load_pretrained_classifier("minilm", len(CLASSES))
set_dropout(model, 0.0)
freeze(model, embeddings=True)
START = copy.deepcopy(model.state_dict())


def encode(texts, max_length=MAX_LEN):
    enc = tokenizer(list(texts), truncation=True, max_length=max_length, padding="max_length",
                    return_tensors="pt", return_token_type_ids=False)
    return {k: v.to(device) for k, v in enc.items()}


order = torch.randperm(len(train_split.texts), generator=torch.Generator().manual_seed(0))
train_rows = order[: STEPS * BATCH].tolist()
train_x = encode([train_split.texts[i] for i in train_rows])
train_y = torch.tensor([train_split.labels[i] for i in train_rows], device=device)
test_x = encode(test_split.texts, 48)
test_y = torch.tensor(test_split.labels, device=device)
print(f"{len(train_rows)} training items in {STEPS} batches of {BATCH}, {len(test_y)} test items")


def rows(x, sl):
    return {k: v[sl] for k, v in x.items()}


def accuracy(m, amp=None, x=test_x, y=test_y, batch=120):
    """Test accuracy and examples per second of model ``m`` (inference, no gradients)."""
    m.eval()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp or "")
    on = next(iter(m.buffers()), next(m.parameters())).device
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast(on.type, dtype=dtype, enabled=dtype is not None):
        logits = torch.cat([m(**rows({k: v.to(on) for k, v in x.items()}, slice(i, i + batch))).logits.float()
                            for i in range(0, len(y), batch)])
    seconds = time.perf_counter() - start
    m.train()
    return (logits.argmax(1).cpu() == y.cpu()).float().mean().item(), len(y) / seconds, logits.cpu()


# %% [markdown]
# ## 2. Mixed precision
#
# A float stores a sign, an exponent (the range) and a mantissa (the precision).
# **Mixed precision** (混合精度) runs the matrix products in a 16-bit format while the
# weights, the optimizer and the loss stay in float32:
#
# | format | exponent bits | mantissa bits | smallest positive | largest |
# |---|---|---|---|---|
# | float32 | 8 | 23 | $1.4\cdot10^{-45}$ | $3.4\cdot10^{38}$ |
# | **bfloat16** (脑浮点数) | 8 | 7 | $9.2\cdot10^{-41}$ | $3.4\cdot10^{38}$ |
# | float16 | 5 | 10 | $6.0\cdot10^{-8}$ | $65504$ |
#
# bf16 keeps float32's exponent: the same range, less precision. fp16 keeps more
# precision but a far smaller range: a gradient below $6\cdot10^{-8}$ *underflows* to 0.
# **Loss scaling** (损失缩放) multiplies the loss by $S$ (say $2^{16}$) before the
# backward pass, so every gradient is $S$ times larger and stays representable, then
# divides by $S$ before the update; `torch.amp.GradScaler` picks $S$ and skips steps
# whose gradients overflowed. Here are real gradients of our encoder, one backward pass:

# %% tags=["nbval-ignore-output"]
model.zero_grad()
F.cross_entropy(model(**rows(train_x, slice(0, BATCH))).logits, train_y[:BATCH]).backward()
grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).float().cpu()
grads = grads[grads != 0]


def underflow(g, dtype, scale=1.0):
    """Share of nonzero float32 gradients that become 0 in ``dtype`` (after multiplying by scale)."""
    return ((g * scale).to(dtype) == 0).float().mean().item()


lost = {"fp16": underflow(grads, torch.float16), "bf16": underflow(grads, torch.bfloat16),
        "fp16, loss x 2^16": underflow(grads, torch.float16, 2.0**16)}
for name, share in lost.items():
    print(f"{name:>18}: {share:.2%} of {len(grads):,} gradients underflow to 0")
bml.check(lost["bf16"] < lost["fp16"] and lost["fp16, loss x 2^16"] <= lost["bf16"] + 1e-3, True,
          "bf16 and scaled fp16 keep the small gradients that plain fp16 loses")
fig, ax = plt.subplots(figsize=(7, 3.2))
ax.hist(np.log10(grads.abs().numpy()), bins=100, color="C0")
ax.axvline(np.log10(6e-8), color="C3", ls="--", label="fp16: smallest positive (6e-8)")
ax.axvline(np.log10(6e-8 / 2**16), color="C2", ls=":", label="fp16 with loss x 2^16")
ax.set(xlabel="log10 |gradient|", ylabel="count", title="MiniLM gradients, one batch")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Now the same fine-tuning steps twice, from the same weights on the same batches: in
# float32, and with autocast to 16 bits (on a GPU: fp16 with a `GradScaler`).
# `speed.accumulated_step` is one optimizer step; we compare losses, test accuracy and time.

# %% tags=["nbval-ignore-output"]
def finetune_steps(amp, steps=STEPS):
    model.load_state_dict(START)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    scaler = torch.amp.GradScaler("cuda") if amp == "fp16" else None
    losses, times = [], []
    for s in range(steps):
        sl = slice(s * BATCH, (s + 1) * BATCH)
        start = time.perf_counter()
        losses.append(accumulated_step(model, rows(train_x, sl), train_y[sl], opt, amp=amp, scaler=scaler))
        times.append(time.perf_counter() - start)
    acc, per_s, logits = accuracy(model, amp)
    return {"losses": losses, "step_s": float(np.median(times[1:])), "accuracy": acc,
            "state": copy.deepcopy(model.state_dict())}


runs = {amp or "fp32": finetune_steps(amp) for amp in (None, LOW)}
for name, r in runs.items():
    print(f"{name:>5}: last loss {r['losses'][-1]:.3f}, test accuracy {r['accuracy']:.1%}, "
          f"{r['step_s'] * 1e3:.0f} ms per step ({BATCH / r['step_s']:.0f} examples/s)")
ratio = runs["fp32"]["step_s"] / runs[LOW]["step_s"]
print(f"{LOW} speed ratio: {ratio:.2f}x" + ("" if device.type == "cuda" or cpu_supports_bf16() else
      " (this CPU has no native bf16: autocast emulates it, which is slower)"))
FIGURES[f"{LOW} training: speed ratio vs fp32"] = ratio
FIGURES["fp32 test accuracy"] = runs["fp32"]["accuracy"]
FIGURES[f"{LOW} test accuracy"] = runs[LOW]["accuracy"]
fig, ax = plt.subplots(figsize=(6, 3))
for name, r in runs.items():
    ax.plot(range(1, STEPS + 1), r["losses"], marker=".", label=name)
ax.set(xlabel="step", ylabel="training loss", title="the same steps in two precisions")
ax.legend()
plt.show()

# %% [markdown]
# The two loss curves lie almost on top of each other: 16-bit products round
# differently, but the training follows the same path. Whether 16 bits are *faster*
# depends on the hardware: GPUs since 2017 and CPUs with AVX512-BF16 or AMX compute them
# natively; elsewhere autocast converts back and forth and loses time.
#
# ## 3. Batch size and throughput
#
# A bigger batch gives the hardware bigger matrices, so examples per second rise until
# the cores are saturated; the memory that grows with the batch is the **activations**
# (激活值) autograd keeps for the backward pass. `speed.activation_bytes` counts them
# exactly (with `torch.autograd.graph.saved_tensors_hooks`).

# %% tags=["nbval-ignore-output"]
SWEEP = bml.pick(default=[2, 4, 8, 16], gpu=[8, 16, 32, 64, 128, 256])
model.load_state_dict(START)
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-5)
x_big = encode([train_split.texts[i] for i in order[: max(SWEEP)].tolist()])
y_big = torch.tensor([train_split.labels[i] for i in order[: max(SWEEP)].tolist()], device=device)
sweep = []
for amp in (None, LOW):
    for b in SWEEP:
        xb, yb = rows(x_big, slice(0, b)), y_big[:b]
        seconds = time_per_call(lambda xb=xb, yb=yb, amp=amp: accumulated_step(model, xb, yb, opt, amp=amp),
                                repeats=1, warmup=0 if b > SWEEP[0] else 1)
        kept, loss = activation_bytes(lambda xb=xb, yb=yb, amp=amp: speed.batch_loss(model, xb, yb, amp))
        del loss  # counted; no backward needed
        sweep.append({"precision": amp or "fp32", "batch": b, "examples_per_s": b / seconds,
                      "activation_mb": kept / 2**20})
sweep = pd.DataFrame(sweep)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
for name, part in sweep.groupby("precision"):
    ax1.plot(part.batch, part.examples_per_s, marker="o", label=name)
    ax2.plot(part.batch, part.activation_mb, marker="o", label=name)
ax1.set(xscale="log", xlabel="batch size", ylabel="examples / s", title="throughput")
ax2.set(xscale="log", xlabel="batch size", ylabel="MB kept for backward", title="activation memory")
ax1.legend()
ax2.legend()
fig.tight_layout()
plt.show()
print(sweep.round(1).to_string(index=False))
FIGURES["throughput, largest / smallest batch"] = (sweep[sweep.precision == "fp32"].examples_per_s.iloc[-1]
                                                    / sweep[sweep.precision == "fp32"].examples_per_s.iloc[0])

# %% [markdown]
# The **linear-scaling rule** (线性缩放规则) of Goyal et al. (2017) [ref:goyal2017]: when the batch is
# $k$ times larger, use a $k$ times larger learning rate, $\eta_B = \eta_{B_0}\cdot B/B_0$:
# with $k$ times fewer steps, each step must go $k$ times further. It needs **warm-up**
# (预热): the learning rate rises linearly over the first steps, because early gradients
# are large and a large step there throws the weights far away. And it **breaks** past
# some batch size: the step $\eta_B\,g$ becomes too large for the curvature of the loss,
# and no warm-up saves it. On a small classifier, the same number of epochs at each batch
# size, with and without warm-up:

# %% tags=["nbval-ignore-output"]
gen = torch.Generator().manual_seed(0)
centres = torch.randn(4, 20, generator=gen)
toy_y = torch.randint(0, 4, (2048,), generator=gen)
toy_x = centres[toy_y] + 1.5 * torch.randn(2048, 20, generator=gen)


def toy_run(batch, warmup, base_lr=0.05, base_batch=8, epochs=3):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(20, 64), nn.Tanh(), nn.Linear(64, 4))
    lr = base_lr * batch / base_batch                   # the linear-scaling rule
    sgd = torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
    steps = epochs * len(toy_y) // batch
    warm = max(1, steps // 10) if warmup else 0
    sched = torch.optim.lr_scheduler.LambdaLR(sgd, lambda t: min(1.0, (t + 1) / warm) if warm else 1.0)
    for t in range(steps):
        idx = torch.randint(0, len(toy_y), (batch,), generator=torch.Generator().manual_seed(t))
        sgd.zero_grad()
        F.cross_entropy(net(toy_x[idx]), toy_y[idx]).backward()
        sgd.step()
        sched.step()
    with torch.no_grad():
        loss = F.cross_entropy(net(toy_x), toy_y).item()
    return loss if np.isfinite(loss) else 10.0


BATCHES = [16, 64, 256, 1024]
scaling = {w: [toy_run(b, w) for b in BATCHES] for w in (False, True)}
fig, ax = plt.subplots(figsize=(6, 3.4))
for w, losses in scaling.items():
    ax.plot(BATCHES, losses, marker="o", label="with warm-up" if w else "no warm-up")
ax.set(xscale="log", yscale="log", xlabel="batch size (learning rate 0.05 x batch / 8)",
       ylabel="final training loss", title="linear scaling: 3 epochs at every batch size")
ax.legend()
plt.show()
print({b: round(v, 3) for b, v in zip(BATCHES, scaling[True], strict=True)})

# %% [markdown]
# Up to a point the final loss grows only slowly with the batch (part of that is the
# fewer steps in the same number of epochs): the rule works, and a bigger batch costs
# little in quality. At the largest batch the learning rate is so large that the loss
# jumps; compare the two curves to see what warm-up changes. The batch size past which
# the rule stops working is the
# **critical batch size** (临界批量大小) of this problem.
#
# ## 4. Gradient accumulation
#
# **Gradient accumulation** (梯度累积): when a batch of $B$ does not fit in memory,
# split it into $k$ micro-batches $b_1,\dots,b_k$, run backward on each (gradients add up
# in `.grad`), and step once. With mean-reduced losses each micro-batch's loss must be
# weighted by its share $n_i/B$:
#
# $$\nabla_\theta \frac{1}{B}\sum_{j=1}^{B}\ell_j \;=\; \sum_{i=1}^{k}\frac{n_i}{B}\,
#   \nabla_\theta\Big(\frac{1}{n_i}\sum_{j\in b_i}\ell_j\Big),$$
#
# where $\ell_j$ is example $j$'s loss and $n_i$ the size of micro-batch $b_i$ ($1/k$
# each when they are equal). By hand, on a small model, with a last micro-batch of a
# different size (10 rows in 3 micro-batches):

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
small = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).double()
xs, ys = torch.randn(10, 5, dtype=torch.float64), torch.randint(0, 3, (10,))
small.zero_grad()
F.cross_entropy(small(xs), ys).backward()
whole = [p.grad.clone() for p in small.parameters()]

small.zero_grad()
for part in torch.arange(10).tensor_split(3):                       # sizes 4, 3, 3
    (F.cross_entropy(small(xs[part]), ys[part]) * len(part) / 10).backward()   # weight n_i / B
by_hand = [p.grad.clone() for p in small.parameters()]
bml.check(torch.cat([g.flatten() for g in by_hand]), torch.cat([g.flatten() for g in whole]),
          "accumulated gradients = one big batch's", rtol=1e-6, atol=1e-6)

# %% [markdown]
# `speed.accumulated_step(model, inputs, labels, optimizer, k)` is that loop plus the
# step. On the encoder: a batch of 16 in one piece or as 4 micro-batches of 4: the same
# update, a quarter of the activation memory, and some time lost to smaller matrices.

# %% tags=["nbval-ignore-output"]
K = 4
xb, yb = rows(x_big, slice(0, 16)), y_big[:16]
model.load_state_dict(START)
opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
accumulated_step(model, xb, yb, opt, 1)
one_batch = copy.deepcopy(model.state_dict())
model.load_state_dict(START)
accumulated_step(model, xb, yb, opt, K)
worst = max((model.state_dict()[k].float() - one_batch[k].float()).abs().max().item() for k in one_batch)
bml.check(worst < 1e-5, True, f"weights after one step: 16 at once vs {K} x 4 (largest difference {worst:.1e})")
t1 = time_per_call(lambda: accumulated_step(model, xb, yb, opt, 1), repeats=1, warmup=0)
tk = time_per_call(lambda: accumulated_step(model, xb, yb, opt, K), repeats=1, warmup=0)
m1 = sweep[(sweep.precision == "fp32") & (sweep.batch == 16)].activation_mb.item()
mk = sweep[(sweep.precision == "fp32") & (sweep.batch == 4)].activation_mb.item()
print(f"one batch of 16: {t1 * 1e3:.0f} ms, {m1:.1f} MB of activations; "
      f"{K} x 4: {tk * 1e3:.0f} ms, {mk:.1f} MB")
FIGURES[f"accumulation {K} x 4: time ratio vs one batch of 16"] = tk / t1
FIGURES[f"accumulation {K} x 4: activation memory ratio"] = mk / m1

# %% [markdown]
# In a training loop, chapter 05's `fit` does the same with `fit(..., accumulate=k)`
# (learning-rate schedulers then count optimizer steps, not micro-batches). Two epochs
# of SGD on 64 rows: micro-batches of 8 with `accumulate=4` against batches of 32:

# %% tags=["nbval-ignore-output"]
# fit(..., accumulate=k): gradient accumulation inside chapter 05's training loop
fx, fy = torch.randn(64, 5, dtype=torch.float64), torch.randint(0, 3, (64,))
ends = {}
for batch_size, k in ((32, 1), (8, 4)):
    net = copy.deepcopy(small)
    fit(net, (fx, fy), F.cross_entropy, torch.optim.SGD(net.parameters(), lr=0.5), epochs=2,
        batch_size=batch_size, accumulate=k, shuffle=False, live_plot=False, progress=False)
    ends[k] = torch.cat([p.detach().flatten() for p in net.parameters()])
bml.check(ends[4], ends[1], "fit(accumulate=4, batch_size=8) = fit(batch_size=32)", rtol=1e-6, atol=1e-6)

# %% [markdown]
# ## 5. Activation checkpointing
#
# **Activation checkpointing** (激活检查点), also called *gradient checkpointing*, keeps only
# each layer's *input* during the forward pass and recomputes the layer's insides during
# the backward pass: memory for compute. For $L$ layers of activation size $A$ each,
# memory falls from about $L\cdot A$ to $L\cdot a + A$ (with $a \ll A$ the size of one
# layer's input), at the cost of about one more forward pass (≈ +33% time, as a backward
# pass costs about two forwards). `speed.set_checkpointing(model)` runs every encoder
# layer through `torch.utils.checkpoint`:

# %% tags=["nbval-ignore-output"]
def grads_and_memory(checkpointed):
    model.load_state_dict(START)
    set_checkpointing(model, checkpointed)
    model.zero_grad()
    kept, loss = activation_bytes(lambda: speed.batch_loss(model, xb, yb, None))
    loss.backward()
    g = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
    seconds = time_per_call(lambda: accumulated_step(model, xb, yb, opt), repeats=1, warmup=0)
    set_checkpointing(model, False)
    return g, kept / 2**20, seconds


g_plain, mb_plain, s_plain = grads_and_memory(False)
g_ckpt, mb_ckpt, s_ckpt = grads_and_memory(True)
bml.check(g_ckpt, g_plain, "gradients with checkpointing = without", rtol=1e-4, atol=1e-6)
print(f"activations kept: {mb_plain:.1f} MB -> {mb_ckpt:.1f} MB; time per step "
      f"{s_plain * 1e3:.0f} ms -> {s_ckpt * 1e3:.0f} ms")
FIGURES["checkpointing: activation memory ratio"] = mb_ckpt / mb_plain
FIGURES["checkpointing: time ratio"] = s_ckpt / s_plain

# %% [markdown]
# ## 6. Data-parallel training with `torch.distributed`
#
# **Data parallelism** (数据并行): $N$ processes each hold the whole model, each computes
# the gradient on its share of the batch, and an **all-reduce** (全归约) sums the
# gradients across processes so that every copy takes the same step:
#
# $$g = \frac{1}{N}\sum_{r=0}^{N-1} g_r,\qquad g_r = \nabla_\theta \frac{1}{B/N}\sum_{j\in\text{share } r}\ell_j .$$
#
# With equal shares this is exactly the whole batch's gradient. PyTorch's
# `torch.distributed` provides the collectives over **gloo** (CPUs) or **nccl** (NVIDIA
# GPUs); `DistributedDataParallel` (DDP) does the all-reduce during the backward pass,
# in buckets, overlapped with computation. First by hand
# (`distributed.all_reduce_gradients`), then with DDP, in two real processes, each on
# half of every batch, against one process on the whole batch:

# %% tags=["nbval-ignore-output"]
RUNS = [dict(optimizer="sgd", steps=6, lr=0.1, by_hand=True), dict(optimizer="sgd", steps=6, lr=0.1),
        dict(optimizer="adamw", steps=6, lr=0.01)]
rank0, rank1 = distributed.spawn(distributed.train_data_parallel_runs, 2, RUNS)
for run, a, b in zip(RUNS, rank0, rank1, strict=True):
    name = f"{run['optimizer']}, {'all_reduce by hand' if run.get('by_hand') else 'DDP'}"
    reference = distributed.train_single(run["optimizer"], run["steps"], lr=run["lr"])
    bml.check(distributed.max_difference(a, reference) <= 1e-6 and distributed.max_difference(a, b) == 0, True,
              f"{name}: 2 processes = 1 process on the whole batch")

# %% [markdown]
# **The course's real training path scales too.** Under `torchrun`, the benchmark's
# fine-tuning gives each process its share of the rows (a `DistributedSampler`), wraps
# the model in DDP, and only rank 0 prints and writes results. Two CPU processes and one,
# same rows and settings:

# %% tags=["nbval-ignore-output"]
OUT = Path(tempfile.mkdtemp())
TORCHRUN = str(Path(sys.executable).parent / "torchrun")
ROWS = bml.pick(default=128, gpu=4000)
news_args = ["-m", "bigmodel_lib.bench", "news", "--train", str(NEWS / "train.csv"), "--test",
             str(NEWS / "test.csv"), "--max-train", str(ROWS), "--max-length", "32", "--epochs", "1"]
env = {**os.environ, "OMP_NUM_THREADS": "1"}
bench_runs = {}
for n in (1, 2):
    start = time.perf_counter()
    cmd = [TORCHRUN, "--nproc-per-node", str(n), "--master-addr", "127.0.0.1", "--master-port",
           str(distributed.free_port()), *news_args, "--threads", "1", "--out", str(OUT / f"news{n}.json")]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    bench_runs[n] = json.loads((OUT / f"news{n}.json").read_text())
    print(f"{n} process(es): accuracy {bench_runs[n]['accuracy']:.1%}, training "
          f"{bench_runs[n]['train_seconds']:.1f} s for {bench_runs[n]['train_examples']} examples, "
          f"wall {time.perf_counter() - start:.0f} s; output lines: {len(done.stdout.splitlines())}")
FIGURES["torchrun news, 2 processes: accuracy"] = bench_runs[2]["accuracy"]
FIGURES["torchrun news, 1 process: accuracy"] = bench_runs[1]["accuracy"]
FIGURES["torchrun news: training speed ratio, 2 vs 1 process"] = (bench_runs[1]["train_seconds"]
                                                                   / bench_runs[2]["train_seconds"])

# %% [markdown]
# The two runs see the same rows in a different order and grouping, so their
# accuracies differ by noise: with so few training rows, another order of batches moves
# the accuracy by several points either way (the GPU profile's longer runs narrow it).
# The training time shows the price of two processes on two cores that other work also
# uses. **Multi-node** training is the
# same program started once per machine: `--nnodes` says how many machines,
# `--node-rank` which one this is, and all meet at a **rendezvous** (汇合点) address,
# the first node's, where they learn each other's addresses. Two "nodes" on this
# machine, the rendezvous on 127.0.0.1, each node with one process, running
# `python -m bigmodel_lib.distributed` (a DDP check that rank 0 reports):

# %% tags=["nbval-ignore-output"]
port = str(distributed.free_port())
nodes = [subprocess.Popen([TORCHRUN, "--nnodes", "2", "--node-rank", str(rank), "--nproc-per-node", "1",
                           "--master-addr", "127.0.0.1", "--master-port", port, "-m", "bigmodel_lib.distributed",
                           "--optimizer", "adamw"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, cwd=REPO) for rank in (0, 1)]
outputs = [node.communicate(timeout=300) for node in nodes]
print(outputs[0][0])
bml.check(all(node.returncode == 0 for node in nodes) and outputs[1][0] == "", True,
          "two nodes trained together; only rank 0 printed")

# %% [markdown]
# **Scaling, honestly.** Two processes on two cores can at best double the examples per
# second, and only if nothing else runs: each step also waits for the all-reduce.
# Measured on a small MLP (the clock starts after warm-up, between barriers):

# %% tags=["nbval-ignore-output"]
one = distributed.spawn(speed.ddp_examples_per_s, 1, 20)[0]
two = distributed.spawn(speed.ddp_examples_per_s, 2, 20)[0]
print(f"1 process: {one:,.0f} examples/s; 2 processes: {two:,.0f} examples/s; ratio {two / one:.2f}x "
      f"(1-min load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
FIGURES["DDP 2 vs 1 process: examples/s ratio"] = two / one

# %% [markdown]
# **Memory: ZeRO and FSDP.** Chapter 01's formula: mixed-precision training with Adam
# holds 16 bytes per parameter (2 weights + 2 gradients + 4 master weights + 8 Adam
# moments), on *every* data-parallel process. **ZeRO** (零冗余优化器), from Rajbhandari et al.
# (2020) [ref:rajbhandari2020], shards them over the $N$ processes instead: stage 1 the
# optimizer state (master weights and moments), stage 2 the gradients too, stage 3 (=
# PyTorch's **fully sharded data parallel** (完全分片数据并行), FSDP) the weights too,
# gathered layer by layer when needed. Per process, for a 7-billion-parameter model on 8 GPUs:

# %% tags=["nbval-ignore-output"]
def zero_bytes_per_process(n_params, n, stage):
    parts = economics.training_memory(n_params, "bf16", "adam")
    opt_state = parts["optimizer_states"] + parts["master_weights"]
    return (parts["weights"] / (n if stage >= 3 else 1) + parts["gradients"] / (n if stage >= 2 else 1)
            + opt_state / (n if stage >= 1 else 1))


zero = {f"stage {s}" if s else "DDP (no sharding)": zero_bytes_per_process(7e9, 8, s) / 1e9 for s in range(4)}
for name, gb in zero.items():
    print(f"{name:>18}: {gb:6.1f} GB per GPU")
bml.check(zero["DDP (no sharding)"], 7e9 * 16 / 1e9, "chapter 01: 16 bytes per parameter")

# %% [markdown]
# ## 7. Smaller and faster for inference
#
# **Quantization** (量化) stores numbers in fewer bits. *Dynamic int8* quantization of a
# linear layer $y = xW^\top + b$: each row $w$ of $W$ becomes int8 with its own scale
# $s_w = \max|w|/127$, $w_q = \mathrm{round}(w/s_w)$; each input row is quantized the
# same way at run time, $s_x = \max|x|/127$; the product runs in integers and is scaled
# back, $y \approx s_x s_w\,(x_q w_q^\top) + b$. In torch 2.13 the classic
# `torch.ao.quantization.quantize_dynamic` is deprecated (it warns and points to the
# separate torchao package), so `compress.Int8DynamicLinear` is written from the formula
# above with torch's int8 matrix product `torch._int_mm`, which warns nothing:

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
layer = nn.Linear(384, 384)
q_layer = Int8DynamicLinear.from_linear(layer)
x = torch.randn(8, 384)
w_q = torch.round(layer.weight / (layer.weight.abs().amax(1, keepdim=True) / 127)).clamp(-127, 127)
s_w = layer.weight.abs().amax(1) / 127
x_q = torch.round(x / (x.abs().amax(1, keepdim=True) / 127))
s_x = x.abs().amax(1, keepdim=True) / 127
ours = (x_q @ w_q.T) * s_x * s_w + layer.bias
bml.check(q_layer(x), ours.detach(), "int8 layer = the formula", rtol=1e-4, atol=1e-4)
print(f"relative error vs float32: {((q_layer(x) - layer(x)).norm() / layer(x).norm()).item():.2%}")

# %% [markdown]
# The fine-tuned float32 encoder of section 2 against its int8 copy (every linear
# layer of the encoder and the head; the word-piece table stays float), on the same
# 240 test items, on the CPU:

# %% tags=["nbval-ignore-output"]
model.load_state_dict(runs["fp32"]["state"])
teacher = copy.deepcopy(model).cpu()
int8_model = quantize_dynamic_int8(teacher)
acc32, speed32, teacher_logits_test = accuracy(teacher)
acc8, speed8, _ = accuracy(int8_model)
print(f"fp32: {acc32:.1%}, {speed32:.0f} examples/s, {model_size_bytes(teacher) / 2**20:.1f} MB")
print(f"int8: {acc8:.1%}, {speed8:.0f} examples/s, {model_size_bytes(int8_model) / 2**20:.1f} MB")
bml.check(abs(acc32 - acc8) <= 0.02, True, "int8 accuracy within 2 points of fp32")
FIGURES["int8 vs fp32 inference: speed ratio"] = speed8 / speed32
FIGURES["int8 vs fp32: accuracy difference (points)"] = 100 * (acc8 - acc32)
FIGURES["int8 vs fp32: size ratio"] = model_size_bytes(int8_model) / model_size_bytes(teacher)

# %% [markdown]
# The size falls by about a third, not by four: the word-piece table (a third of the
# weights) stays float32. Whether int8 is also *faster* depends on the CPU's int8
# kernels and on the cost of quantizing the inputs at every call; compare the two
# examples/s figures of your run (a busy machine blurs them).

# %% [markdown]
# **Knowledge distillation** (知识蒸馏), from Hinton et al. (2015) [ref:hinton2015]: a small
# *student* learns from the *teacher*'s probabilities at temperature $T$,
# $p_T = \mathrm{softmax}(z/T)$ for logits $z$, which also say which wrong classes are
# close. The loss, with $\alpha$ the weight of the soft part and $y$ the true label:
#
# $$\mathcal{L} = \alpha\,T^2\,\mathrm{KL}\big(p_T^{\text{teacher}}\,\|\,p_T^{\text{student}}\big)
#   + (1-\alpha)\,\mathrm{CE}(z^{\text{student}}, y).$$
#
# Student: chapter 07's BiLSTM (about a tenth of the teacher's size), trained on hard
# labels and on the teacher's soft targets, same rows, same steps:

# %% tags=["nbval-ignore-output"]
DISTIL_ROWS = order[: bml.pick(default=640, gpu=1040)].tolist()
d_texts = [train_split.texts[i] for i in DISTIL_ROWS]
d_labels = torch.tensor([train_split.labels[i] for i in DISTIL_ROWS])
_, _, teacher_logits = accuracy(teacher, x={k: v.cpu() for k, v in encode(d_texts).items()}, y=d_labels)
vocab = Vocabulary.build([words(t) for t in train_split.texts], min_freq=1)


def ids_of(texts, length=40):
    out = torch.zeros(len(texts), length, dtype=torch.long)
    for r, t in enumerate(texts):
        ids = vocab.encode(words(t))[:length]
        out[r, : len(ids)] = torch.tensor(ids)
    return out


d_ids, test_ids = ids_of(d_texts), ids_of(test_split.texts)


def train_student(soft, epochs=6, batch=32):
    torch.manual_seed(0)
    student = BiLSTMClassifier(len(vocab), len(CLASSES), 32, 32, dropout=0.0)
    adam = torch.optim.Adam(student.parameters(), lr=3e-3)
    for epoch in range(epochs):
        perm = torch.randperm(len(d_ids), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(perm), batch):
            idx = perm[i : i + batch]
            logits = student(d_ids[idx])
            loss = (distillation_loss(logits, teacher_logits[idx], d_labels[idx], temperature=2.0, alpha=0.7)
                    if soft else F.cross_entropy(logits, d_labels[idx]))
            adam.zero_grad()
            loss.backward()
            adam.step()
    student.eval()
    start = time.perf_counter()
    with torch.no_grad():
        pred = student(test_ids).argmax(1)
    per_s = len(test_ids) / (time.perf_counter() - start)
    return (pred == test_y.cpu()).float().mean().item(), per_s, model_size_bytes(student)


students = {"hard labels": train_student(False), "soft targets": train_student(True)}
table = pd.DataFrame({"teacher (MiniLM, fp32)": (acc32, speed32, model_size_bytes(teacher)),
                      **{f"BiLSTM, {k}": v for k, v in students.items()}},
                     index=["test accuracy", "examples/s", "bytes"]).T
table["MB"] = table.pop("bytes") / 2**20
print(table.round(3).to_string())
FIGURES["student (soft targets) test accuracy"] = students["soft targets"][0]
FIGURES["student (hard labels) test accuracy"] = students["hard labels"][0]
FIGURES["student vs teacher: inference speed ratio"] = students["soft targets"][1] / speed32

# %% [markdown]
# The student is about a hundred times smaller than the teacher and far faster, and
# much less accurate: a BiLSTM trained on a few hundred rows cannot match an encoder
# pretrained on a billion sentences. Whether the soft targets beat the hard labels
# depends on how much the teacher knows beyond the labels and on the rows; compare the
# two rows of your run, remembering that on 240 test items one item is 0.4 points, so
# differences of a few points are within noise. Distillation pays most with many
# unlabelled rows for the teacher to label.

# %% [markdown]
# ## 8. Two more optimizers: AdaGrad and RMSProp
#
# Adam (chapter 03) combines momentum with a per-weight step size. That step size comes
# from two older methods. **AdaGrad** (自适应梯度算法), from Duchi et al. (2011) [ref:duchi2011], divides by the
# root of the *sum* of all squared gradients so far, $s_t = s_{t-1} + g_t^2$,
# $\theta_t = \theta_{t-1} - \eta\,g_t/(\sqrt{s_t}+\epsilon)$: rare features keep large
# steps, but $s_t$ only grows, so every step shrinks towards zero. **RMSProp** (均方根传播),
# from Hinton (2012), lecture 6e [ref:hinton2012], forgets: $v_t = \alpha v_{t-1} + (1-\alpha) g_t^2$,
# $\theta_t = \theta_{t-1} - \eta\,g_t/(\sqrt{v_t}+\epsilon)$. Both are in
# `bigmodel_lib.optim`, checked against `torch.optim` step by step; here on chapter 03's
# elongated valley:

# %% tags=["nbval-ignore-output"]
def valley(x, y):
    return 0.5 * x**2 + 10 * y**2


paths = {name: optim.optimize_2d(valley, (-4.0, 1.5), name, steps=60, **hyper)
         for name, hyper in {"sgd": dict(lr=0.04), "adagrad": dict(lr=0.8), "rmsprop": dict(lr=0.1),
                             "adam": dict(lr=0.3)}.items()}
for name, cls in (("adagrad", torch.optim.Adagrad), ("rmsprop", torch.optim.RMSprop)):
    bml.check(paths[name], optim.optimize_2d(valley, (-4.0, 1.5), cls, steps=60,
                                             lr={"adagrad": 0.8, "rmsprop": 0.1}[name]),
              f"our {name} path = torch.optim's", rtol=1e-9, atol=1e-12)
optim.plot_paths(valley, paths, xlim=(-4.5, 1.5), ylim=(-2, 2), minimum=(0, 0),
                 title="60 steps on 0.5 x^2 + 10 y^2")
plt.show()
print({name: round(float(valley(*p[-1])), 4) for name, p in paths.items()})

# %% [markdown]
# ## 9. Explore
#
# **Batch size, precision and accumulation.** Pick a batch size and a precision and
# split the batch into micro-batches: the left panel places you on the measured
# throughput curve (a micro-batch of $B/k$ runs at the speed measured for $B/k$), the
# right one on the memory curve (only one micro-batch's activations are alive at a time;
# the weights, gradients and AdamW states of the trainable parameters come on top). Look
# for the point where accumulation buys memory without losing much speed.

# %% tags=["nbval-ignore-output"]
trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
fixed_mb = economics.training_memory(trainable, "fp32", "adamw")["total"] / 2**20


def explore(batch=16, precision="fp32", accumulate=1):
    micro = max(1, batch // accumulate)
    part = sweep[sweep.precision == precision]
    speed_at = np.interp(np.log2(micro), np.log2(part.batch), part.examples_per_s)
    mem_at = np.interp(micro, part.batch, part.activation_mb)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.2))
    ax1.plot(part.batch, part.examples_per_s, "o-", label=f"{precision}, measured")
    ax1.plot(micro, speed_at, "s", color="C3", ms=10, label=f"micro-batch {micro}")
    ax1.set(xscale="log", xlabel="micro-batch size", ylabel="examples / s",
            title=f"{speed_at:.0f} examples/s")
    ax2.plot(part.batch, part.activation_mb + fixed_mb, "o-", label="activations + fixed")
    ax2.plot(micro, mem_at + fixed_mb, "s", color="C3", ms=10, label=f"batch {batch} = {accumulate} x {micro}")
    ax2.set(xscale="log", xlabel="micro-batch size", ylabel="MB", title=f"{mem_at + fixed_mb:.0f} MB")
    for ax in (ax1, ax2):
        ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()


widgets.interact(explore,
                 batch=widgets.SelectionSlider(options=SWEEP, value=SWEEP[-1], description="batch"),
                 precision=widgets.Dropdown(options=["fp32", LOW], value="fp32", description="precision"),
                 accumulate=widgets.IntSlider(value=1, min=1, max=8, description="accumulate"));

# %% [markdown]
# ## 10. Pitfalls
#
# **Accumulating without dividing the loss.** Summing $k$ mean losses gives $k$ times
# the gradient: with SGD, a learning rate $k$ times too large. Shown failing, then fixed:

# %% tags=["nbval-ignore-output"]
small.zero_grad()
for part in torch.arange(10).tensor_split(2):
    F.cross_entropy(small(xs[part]), ys[part]).backward()          # forgot the n_i / B weight
wrong = torch.cat([p.grad.flatten() for p in small.parameters()])
print("wrong: the micro-batch losses summed")
try:
    bml.check(wrong, torch.cat([g.flatten() for g in whole]), "accumulated = whole batch", rtol=1e-6, atol=1e-6)
except bml.checks.CheckFailed:
    print("(raised, because this notebook is running as a test)")
print("right: each weighted by its share (what accumulated_step does)")
bml.check(torch.cat([g.flatten() for g in by_hand]), torch.cat([g.flatten() for g in whole]),
          "accumulated = whole batch", rtol=1e-6, atol=1e-6)

# %% [markdown]
# **A backend the machine lacks** is a clear error before any process starts (and so is a
# world size larger than the data: `distributed.shard_sampler` refuses it; tested):

# %% tags=["nbval-ignore-output"]
for attempt in (lambda: distributed.check_backend("nccl" if device.type == "cpu" else "mpi"),
                lambda: distributed.spawn(distributed.train_data_parallel, 2, backend="mpi")):
    try:
        attempt()
    except distributed.DistributedSetupError as err:
        print("error:", err)

# %% [markdown]
# Two more, in words: in a data-parallel run, a **time limit checked by each process**
# lets one process stop a step early while the others wait for its gradients forever
# (`finetune` turns the time budget off under `torchrun` and says so); and **every rank
# printing** multiplies the output by $N$ (use `distributed.print0`).
#
# ## 11. On a GPU
#
# With `BIGMODEL_PROFILE=gpu` the same cells use fp16 autocast with a `GradScaler`,
# larger batches and longer runs, and the benchmark's data-parallel runs use nccl with one
# process per GPU: `torchrun --nproc-per-node 8 -m bigmodel_lib.bench news ...`. The
# speed benchmark measures every technique of this chapter in one run:
#
# ```
# python -m bigmodel_lib.bench speed --out speed.json
# ```
#
# ## 12. Every figure measured in this run

# %% tags=["nbval-ignore-output"]
print(pd.Series(FIGURES).round(3).to_string())

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** With ZeRO stage 2 (optimizer state and gradients sharded), how many GB
# per GPU does a 13-billion-parameter model need on 16 GPUs in bf16 with Adam? Compute
# it from the 2 + 2 + 12 bytes per parameter and check with `zero_bytes_per_process`.
#
# **Exercise 2.** AdaGrad on $f(x) = 3x$ (a constant gradient $g = 3$) from $x_0 = 0$
# with $\eta = 1$: after $t$ steps $s_t = 9t$, so step $t$ moves by $1/\sqrt t$. Write
# $x_{10}$ as a sum and check it against `optim.optimize_2d` (use $f(x, y) = 3x + 0\cdot y$).
#
# **Exercise 3.** How many bytes does the int8 version of one $384\times1536$ linear
# layer (with bias) hold? Count int8 weights, one float32 scale per output and the float32
# bias, and check with `model_size_bytes(Int8DynamicLinear.from_linear(nn.Linear(384, 1536)))`.

# %% [markdown]
# ### Solutions
# Expand the hidden cell to see them.

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
# Exercise 1: weights 2 bytes each stay whole; gradients (2) and optimizer state (12) are split 16 ways.
by_hand_gb = (13e9 * 2 + 13e9 * (2 + 12) / 16) / 1e9
bml.check(by_hand_gb, zero_bytes_per_process(13e9, 16, 2) / 1e9, "ZeRO-2 GB per GPU")

# Exercise 2: x_10 = -sum_{t=1..10} 1 / sqrt(t) (the eps is negligible).
x10 = -sum(1 / np.sqrt(t) for t in range(1, 11))
path = optim.optimize_2d(lambda x, y: 3 * x + 0 * y, (0.0, 0.0), "adagrad", steps=10, lr=1.0)
bml.check(path[-1, 0], x10, "AdaGrad after 10 steps", rtol=1e-6)

# Exercise 3: 384*1536 int8 weights, 1536 float32 scales, 1536 float32 biases.
bml.check(model_size_bytes(Int8DynamicLinear.from_linear(nn.Linear(384, 1536))),
          384 * 1536 + 1536 * 4 + 1536 * 4, "int8 layer bytes")

# %% [markdown]
# ## Summary
# - Measure before optimizing: every technique here has a cost, and what it buys depends
#   on the machine (the table above is this machine's).
# - **Mixed precision**: bf16 keeps float32's range and needs no loss scaling; fp16 loses
#   small gradients to underflow unless the loss is scaled (`GradScaler`).
# - **Batch size**: throughput rises with the batch until the hardware is full; scale the
#   learning rate linearly with warm-up, up to the critical batch size.
# - **Gradient accumulation** gives exactly the big batch's update (weight each
#   micro-batch's mean loss by its share); **activation checkpointing** gives the same
#   gradients with a fraction of the activation memory, for about one more forward pass.
# - **Data parallelism** averages gradients with an all-reduce; DDP and `torchrun` run the
#   course's own fine-tuning on N processes or N machines; ZeRO/FSDP shard the 16 bytes
#   per parameter.
# - **int8 quantization** and **distillation** make inference smaller and faster, at a
#   measured cost in accuracy.
#
# **Further reading**
# - Micikevicius et al. (2018), *Mixed Precision Training*, ICLR 2018, arXiv:1710.03740 [ref:micikevicius2018]
# - Goyal et al. (2017), *Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour*, arXiv:1706.02677 [ref:goyal2017]
# - McCandlish et al. (2018), *An Empirical Model of Large-Batch Training*, arXiv:1812.06162 [ref:mccandlish2018]
# - Chen et al. (2016), *Training Deep Nets with Sublinear Memory Cost*, arXiv:1604.06174 [ref:chen2016]
# - Li et al. (2020), *PyTorch Distributed: Experiences on Accelerating Data Parallel Training*, VLDB 2020, arXiv:2006.15704 [ref:li2020]
# - Rajbhandari et al. (2020), *ZeRO: Memory Optimizations Toward Training Trillion Parameter Models*, SC 2020, arXiv:1910.02054 [ref:rajbhandari2020]
# - Zhao et al. (2023), *PyTorch FSDP: Experiences on Scaling Fully Sharded Data Parallel*, VLDB 2023, arXiv:2304.11277 [ref:zhao2023]
# - Jacob et al. (2018), *Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference*, CVPR 2018, arXiv:1712.05877 [ref:jacob2018]
# - Hinton, Vinyals & Dean (2015), *Distilling the Knowledge in a Neural Network*, arXiv:1503.02531 [ref:hinton2015]
# - Duchi, Hazan & Singer (2011), *Adaptive Subgradient Methods for Online Learning and Stochastic Optimization*, JMLR 12 [ref:duchi2011]
# - Hinton, Srivastava & Swersky (2012), *Neural Networks for Machine Learning*, lecture 6e (RMSProp), University of Toronto / Coursera [ref:hinton2012]
#
# Next: chapter 11.
