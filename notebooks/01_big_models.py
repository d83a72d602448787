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
# # 01 · Big models and the economics of scale
# *中文：大模型与规模经济*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/01_big_models.ipynb)
#
# People say that only a few companies can build the biggest models because only they
# have the capital. This chapter turns that sentence into arithmetic you can check:
# how many numbers a model holds, how many operations it takes to train, how much memory
# and how many GPU-hours that needs, and what the bill comes to.
#
# **You will learn**
# - what makes a model *big* (parameters, depth, pretraining) and how to count its
#   parameters exactly from a config, without allocating a byte;
# - why training costs about $6 \cdot N \cdot D$ floating-point operations, and check it
#   against PyTorch's own FLOP counter;
# - how many bytes per parameter training really needs (16 with mixed-precision Adam);
# - how to turn FLOPs into GPU-days and dollars, and how to size a model for a budget
#   (Chinchilla's 20 tokens per parameter);
# - where the money comes from and goes, and the risks that grow with scale.

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

device = bml.setup(seed=0, threads=None)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import math

import pandas as pd
from transformers import AutoModel, BertConfig, GPT2Config, GPT2LMHeadModel

from bigmodel_lib.economics import (
    GPUS,
    KNOWN_MODELS,
    activation_memory,
    chinchilla_loss,
    chinchilla_optimal,
    count_parameters,
    gpu_hours,
    training_cost,
    training_flops,
    training_memory,
    transformer_params,
    wall_clock_days,
)


def human(x, unit=""):
    """1.75e11 -> '175 B'; the suffixes people use for parameter and token counts."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {suffix}{unit}"
    return f"{x:.3g} {unit}".strip()


# %% [markdown]
# ## 1. What is a big model?
#
# A neural network is a function with adjustable numbers, its **parameters** (参数), the weights
# and biases. A model is *big* when it has billions of them, stacked in many layers
# (**depth**), and when it went through **pretraining** (预训练): trained once, at great cost, on a huge
# general corpus (web pages, books, code) to predict missing or next words, and then
# adapted cheaply to many tasks (chapter 08 fine-tunes one on news topics).
#
# Before any formula, look inside one. BERT-base, the encoder of chapter 08, is built
# here from its configuration on PyTorch's `meta` device: every tensor gets a shape but
# no storage, so this costs no memory and downloads nothing. Where do its parameters live?

# %%
with torch.device("meta"):
    bert = AutoModel.from_config(BertConfig())


def part_of(name):
    if "LayerNorm" in name:
        return "layer norms"
    if name.startswith("embeddings.word"):
        return "token embeddings"
    if name.startswith("embeddings"):
        return "position + type embeddings"
    if ".attention." in name:
        return "attention (Q, K, V, output)"
    if ".intermediate." in name or ".output." in name:
        return "MLP (feed-forward)"
    return "pooler"


parts = {}
for name, p in bert.named_parameters():
    parts[part_of(name)] = parts.get(part_of(name), 0) + p.numel()
parts = dict(sorted(parts.items(), key=lambda kv: kv[1]))

fig, ax = plt.subplots(figsize=(7, 3.4))
ax.barh(list(parts), [v / 1e6 for v in parts.values()], color="C0")
for i, v in enumerate(parts.values()):
    ax.text(v / 1e6 + 0.5, i, f"{v / 1e6:.2f} M", va="center")
ax.set(title=f"Where BERT-base's {sum(parts.values()) / 1e6:.1f} M parameters live",
       xlabel="parameters (millions)", xlim=(0, 70))
fig.tight_layout()
plt.show()
print(f"device of the weights: {next(bert.parameters()).device}; total {sum(parts.values()):,}")

# %% [markdown]
# Two things to notice. The 12 transformer layers hold most of the parameters, and
# inside each layer the MLP holds twice as many as attention. The embedding table is a
# fixed cost (one row of 768 numbers per word piece) that matters less as models grow.
#
# **Why big models matter.** Bigger models trained on more data keep getting better in a
# predictable way (the *scaling laws* of Kaplan et al. 2020 [ref:kaplan2020] and Hoffmann et al. 2022 [ref:hoffmann2022]),
# and one pretrained model serves many tasks: search, translation, summarisation, code
# completion, chat assistants, protein structure, speech recognition. Pretraining once
# and fine-tuning many times is the economic engine of the field.
#
# **What stands in the way.**
#
# | challenge | what it means | where this course treats it |
# |---|---|---|
# | compute | $10^{23}$–$10^{25}$ operations: thousands of GPUs for months | this chapter; chapter 10 (mixed precision, data parallelism) |
# | memory | the training state of a 70B model does not fit on 10 GPUs | this chapter; chapter 10 |
# | privacy | models can memorise and repeat training text (Carlini et al. 2021 [ref:carlini2021]) | chapter 11 (differentially private SGD) |
# | generalisation | big models can over-fit, and benchmarks can leak into training data | chapters 04 (regularization) and 06 (evaluation) |
# | ethics and bias | models reproduce the biases of their data (Bender et al. 2021 [ref:bender2021]) | chapters 06 and 08 (per-class reports: who does the model fail?) |
# | regulation | the EU AI Act presumes "systemic risk" above $10^{25}$ training FLOPs | section 6 below |
#
# ## 2. Where the capital flows
#
# Building a frontier model is a capital cycle: money buys compute, data and people;
# the model earns money through products; the returns attract the next, larger round.
# Most of the money for compute ends with the chip maker and the cloud provider.

# %% [markdown]
# ```mermaid
# flowchart TD
#     INV["Investors and states<br/>(venture capital, big tech, public funds)"] -->|equity, grants| LAB["AI lab"]
#     LAB -->|buys or rents GPUs| CLOUD["Chip makers and clouds"]
#     LAB -->|salaries| PEOPLE["Researchers and engineers"]
#     LAB -->|licences, crawling, labelling| DATA["Training data"]
#     CLOUD -->|FLOPs, electricity| RUN["Pretraining run"]
#     PEOPLE --> RUN
#     DATA --> RUN
#     RUN --> MODEL["Big model"]
#     MODEL -->|API, products, licences| USERS["Users and businesses"]
#     USERS -->|revenue| LAB
#     LAB -->|returns, valuation| INV
# ```
#
# *The capital cycle of a big model (JupyterLab 4 draws this diagram; other viewers show its source).*
#
# The rest of the chapter puts numbers on the arrows from the lab to the pretraining run.
#
# ## 3. Counting parameters
#
# A transformer layer of width $d$ (`d_model`) has
#
# - attention: four $d \times d$ projections (queries, keys, values, output): $4d^2$ weights;
# - an MLP that widens to $d_{ff} = 4d$ and back: $2 \cdot d \cdot 4d = 8d^2$ weights;
# - biases and two layer norms: $13d$ numbers, negligible next to $d^2$.
#
# So $L$ layers hold about $12\,L\,d^2$ parameters, plus the embeddings: a vocabulary of
# $V$ tokens and $T$ positions each get a vector of $d$ numbers:
#
# $$N \approx 12\,L\,d^2 + (V + T)\,d .$$
#
# The number of attention heads does not appear: heads split $d$ into pieces, they do not
# add weights. `transformer_params` adds up every term exactly; `count_parameters` builds
# the real model from its config on the `meta` device and counts what PyTorch holds.

# %%
configs = {
    "BERT-base": BertConfig(),
    "BERT-large": BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                             intermediate_size=4096),
    "GPT-2 small": GPT2Config(),
    "GPT-2 XL": GPT2Config(n_embd=1600, n_layer=48, n_head=25),
    "GPT-3 175B": GPT2Config(n_embd=12288, n_layer=96, n_head=96, n_positions=2048),
}


def sizes(config):
    """(layers, width, vocabulary, context, extras) of a BERT or GPT-2 config."""
    if isinstance(config, BertConfig):
        return (config.num_hidden_layers, config.hidden_size, config.vocab_size,
                config.max_position_embeddings, dict(n_token_types=config.type_vocab_size, pooler=True))
    return config.n_layer, config.n_embd, config.vocab_size, config.n_positions, {}


rows = []
for name, config in configs.items():
    L, d, V, T, extras = sizes(config)
    exact = count_parameters(config)  # built on the meta device: no memory, no download
    rows.append({"model": name, "layers": L, "d_model": d, "exact (meta model)": exact,
                 "closed form": transformer_params(L, d, V, T, **extras),
                 "12·L·d²": 12 * L * d * d, "12·L·d² share": f"{12 * L * d * d / exact:.1%}"})
table = pd.DataFrame(rows).set_index("model")
table

# %% [markdown]
# The closed form is exact for BERT and GPT-2 (it counts every bias and norm), and the
# GPT-3 config, built with GPT-2's architecture at GPT-3's sizes (96 layers, width 12288,
# context 2048), gives 174.6 billion: the "175B". The bare $12Ld^2$ is only 68% of GPT-2
# small (its 38.6M-number embedding table is a large share of a small model) but 99.6% of GPT-3.
#
# **Checked.** The closed form against the meta-device count, and the meta-device count
# against a real model, instantiated with storage (small, so that it fits):

# %%
for name, row in table.iterrows():
    bml.check(int(row["closed form"]), int(row["exact (meta model)"]), f"closed form = exact, {name}")

small = BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=2, intermediate_size=512)
real = AutoModel.from_config(small)  # real tensors on the CPU
bml.check(count_parameters(small), sum(p.numel() for p in real.parameters()),
          "meta-device count = real model's count");

# %% [markdown]
# ## 4. Training compute: about 6 · N · D
#
# Training a model with $N$ parameters on $D$ tokens (word pieces) costs about
#
# $$C \approx 6\,N\,D \ \text{floating-point operations (FLOPs)}.$$
#
# Why 6? For each token, every weight takes part in one multiply and one add in the
# **forward pass** (前向传播): 2 FLOPs. The **backward pass** (反向传播) needs two such products per weight:
# one to pass the gradient to the layer's input, one for the gradient of the weight
# itself (4 FLOPs). $2 + 4 = 6$.
#
# GPT-3 (175 billion parameters, 300 billion tokens) reported $3.14 \times 10^{23}$ FLOPs:

# %%
gpt3_flops = training_flops(175e9, 300e9)
print(f"6·N·D for GPT-3: {gpt3_flops:.3g} FLOPs")
bml.check(gpt3_flops, 3.14e23, "GPT-3 training FLOPs vs the paper", rtol=0.05);

# %% [markdown]
# **Checked against the framework.** PyTorch's `FlopCounterMode` counts the FLOPs of
# every matrix product that actually runs. Train one step of a tiny GPT-2 and compare.
# The rule omits the attention scores ($QK^\top$ and the weighted sum of $V$:
# $12 \cdot L \cdot T \cdot d$ FLOPs per token with the backward pass), which
# `training_flops` adds when given the shape; and $N$ must count the weights that are
# multiplied, not embeddings (a table look-up costs nothing) nor biases and norms.

# %%
from torch.utils.flop_counter import FlopCounterMode

tiny_config = GPT2Config(n_layer=2, n_embd=128, n_head=4, n_positions=64, vocab_size=1000,
                         bos_token_id=0, eos_token_id=0)
tiny = AutoModel.from_config(tiny_config)
batch, seq = 4, 64
tokens = batch * seq
ids = torch.randint(0, tiny_config.vocab_size, (batch, seq))

counter = FlopCounterMode(display=False)
with counter:
    tiny(input_ids=ids).last_hidden_state.sum().backward()
measured = counter.get_total_flops()

n_all = count_parameters(tiny)
n_matmul = sum(p.numel() for name, p in tiny.named_parameters() if name.startswith("h.") and p.dim() == 2)
print(f"parameters: {n_all:,} in all, {n_matmul:,} in the layers' weight matrices")
print(f"measured by torch:          {measured:>13,} FLOPs")
print(f"6·N·D, N = all parameters:  {training_flops(n_all, tokens):>13,.0f}  (embeddings wrongly included)")
print(f"6·N·D, N = matrix weights:  {training_flops(n_matmul, tokens):>13,.0f}  (attention scores missing)")
with_attention = training_flops(n_matmul, tokens, n_layers=2, n_ctx=seq, d_model=128)
print(f"  + attention term:         {with_attention:>13,.0f}")
bml.check(with_attention, measured, "6ND + attention vs torch's FLOP counter");

# %% [markdown]
# At GPT-3's scale both corrections are small:

# %%
gpt3 = configs["GPT-3 175B"]
attention_share = training_flops(175e9, 300e9, n_layers=96, n_ctx=2048, d_model=12288) / gpt3_flops - 1
embedding_share = (gpt3.vocab_size + gpt3.n_positions) * gpt3.n_embd / count_parameters(gpt3)
print(f"GPT-3: the attention term adds {attention_share:.1%} to 6ND; embeddings are {embedding_share:.2%} of N")

# %% [markdown]
# (Kernels that skip the masked half of causal attention halve the attention term.) This is
# why $6ND$ is the number everyone quotes. Other things it leaves out are listed in
# `help(training_flops)`: recomputing activations (≈ $8ND$ in all), and the experiments
# and failed runs before the final one, which can cost more than the run itself.
#
# ## 5. Memory: 16 bytes per parameter
#
# Training keeps, for every parameter:
#
# | what | mixed precision (bf16) + Adam | fp32 + Adam |
# |---|---|---|
# | weights | 2 bytes (bf16) | 4 bytes |
# | gradients | 2 bytes | 4 bytes |
# | Adam's two moments $m, v$ (fp32) | 8 bytes | 8 bytes |
# | fp32 master copy of the weights | 4 bytes | — |
# | **total** | **16 bytes** | **16 bytes** |
#
# (The accounting of Rajbhandari et al. 2020, "ZeRO" [ref:rajbhandari2020].) A 7-billion-parameter model
# needs 112 GB just for this state, more than one 80 GB GPU, before a single activation.

# %%
mem_rows = []
for precision, optimizer in [("fp32", "sgd"), ("fp32", "momentum"), ("fp32", "adam"),
                             ("bf16", "adam"), ("fp16", "adamw")]:
    m = training_memory(7e9, precision, optimizer)
    mem_rows.append({"precision": precision, "optimizer": optimizer,
                     **{k: f"{v / 1e9:.0f} GB" for k, v in m.items()},
                     "bytes/param": m["total"] / 7e9})
pd.DataFrame(mem_rows).set_index(["precision", "optimizer"])

# %% [markdown]
# **Checked.** Take a real model, run one Adam step in fp32, and add up the bytes of every
# tensor PyTorch keeps: parameters, gradients and Adam's state.

# %%
torch.manual_seed(0)
mlp = torch.nn.Sequential(torch.nn.Linear(256, 512), torch.nn.GELU(), torch.nn.Linear(512, 10))
adam = torch.optim.Adam(mlp.parameters(), lr=1e-3)
mlp(torch.randn(32, 256)).square().mean().backward()
adam.step()

held = 0
for p in mlp.parameters():
    held += p.numel() * p.element_size() + p.grad.numel() * p.grad.element_size()
    held += sum(s.numel() * s.element_size() for s in adam.state[p].values() if s.shape == p.shape)
print(f"{count_parameters(mlp):,} parameters; torch holds {held:,} bytes")
bml.check(training_memory(count_parameters(mlp), "fp32", "adam")["total"], held,
          "fp32 Adam training state");

# %% [markdown]
# **Activations** (激活值) come on top: every layer keeps its inputs for the backward pass.
# Korthikanti et al. (2022) [ref:korthikanti2022] count $s\,b\,h\,(34 + 5\,a\,s/h)$ bytes per layer, for
# sequence length $s$, batch $b$, width $h$ and $a$ heads. They grow with the batch and
# with the square of the sequence length, not with $N$. For GPT-3 with one 2048-token
# sequence:

# %%
for recompute in ("none", "selective", "full"):
    gb = activation_memory(96, 12288, 96, seq_len=2048, batch_size=1, recompute=recompute) / 1e9
    print(f"recompute={recompute:<9}  activations of one sequence: {gb:7.1f} GB")

# %% [markdown]
# 275 GB for a single sequence: this is why big models recompute activations in the
# backward pass (the extra forward pass that turns $6ND$ into about $8ND$) and split
# every layer across GPUs (chapter 10).
#
# ## 6. From FLOPs to GPU-days and dollars
#
# A GPU's datasheet gives its **peak** FLOP/s. Real training reaches a fraction of it,
# the *model FLOPs utilisation* (MFU) $u$: communication, memory traffic and small
# kernels eat the rest. Large runs report $u \approx 0.35$–$0.5$ (PaLM 46%, Llama 3 405B
# 38–43%). Then
#
# $$\text{GPU-hours} = \frac{C}{\text{peak} \cdot u \cdot 3600}, \qquad
#   \text{cost} = \text{GPU-hours} \times \text{price per GPU-hour}.$$
#
# **The GPU presets** (`GPUS`) are dense 16-bit tensor-core peaks from NVIDIA's datasheets
# (as of 2024; they do not change). Datasheets print the H100's 1,979 TFLOPS *with
# sparsity*, a feature training does not use: the dense figure is half.
#
# **The prices are inputs**, and they move fast: AWS listed its 8 × H100 instance
# (p5.48xlarge) at \$98.32 an hour (\$12.29 per GPU-hour) in 2023, and after its June 2025
# price cut at \$55.04 an hour (\$6.88 per GPU-hour) on demand: 44% less. The T4 and
# V100 defaults below are Google Cloud's list prices; the A100, H100 and H200 defaults
# are round figures near what specialist GPU clouds charge on demand, where the
# hyperscalers list about twice as much. Each row gives the list prices it was set
# against, from the providers' own pricing pages, with when they were listed; set your
# own:
#
# | GPU | peak (dense bf16/fp16) | memory | default price | list prices per GPU-hour, on demand (provider's page, when) |
# |---|---|---|---|---|
# | T4 (2018) | 65 TFLOP/s | 16 GB | \$0.35 | Google Cloud \$0.35, us-central1 ([GPU pricing](https://cloud.google.com/compute/gpus-pricing), early 2026) |
# | V100 (2017) | 125 TFLOP/s | 32 GB | \$2.48 | Google Cloud \$2.48, us-central1 ([GPU pricing](https://cloud.google.com/compute/gpus-pricing), early 2026) |
# | A100 80GB (2020) | 312 TFLOP/s | 80 GB | \$1.80 | RunPod \$1.39–1.79 ([pricing](https://www.runpod.io/pricing), Nov 2026); AWS p4de.24xlarge \$27.45/h = \$3.43 ([EC2 on-demand pricing](https://aws.amazon.com/ec2/pricing/on-demand/), us-east-1, Nov 2026) |
# | H100 SXM (2022) | 989 TFLOP/s | 80 GB | \$3.00 | RunPod \$2.69–3.99 ([pricing](https://www.runpod.io/pricing), Nov 2026); AWS p5.48xlarge \$55.04/h = \$6.88 ([EC2 on-demand pricing](https://aws.amazon.com/ec2/pricing/on-demand/), us-east-1, Nov 2026) |
# | H200 SXM (2024) | 989 TFLOP/s | 141 GB | \$3.80 | Hyperstack \$3.99 ([GPU pricing](https://www.hyperstack.cloud/gpu-pricing), Aug 2026); AWS p5en.48xlarge \$63.296/h = \$7.91 ([EC2 on-demand pricing](https://aws.amazon.com/ec2/pricing/on-demand/), us-east-1, Aug 2026) |
#
# Peaks: NVIDIA datasheets for [T4](https://www.nvidia.com/en-us/data-center/tesla-t4/),
# [V100](https://www.nvidia.com/en-us/data-center/v100/),
# [A100](https://www.nvidia.com/en-us/data-center/a100/),
# [H100](https://www.nvidia.com/en-us/data-center/h100/),
# [H200](https://www.nvidia.com/en-us/data-center/h200/).

# %%
PRICES = {"T4": 0.35, "V100": 2.48, "A100": 1.80, "H100": 3.00, "H200": 3.80}  # $/GPU-hour, 2026
pd.DataFrame([{"GPU": g.name, "peak TFLOP/s": g.peak_flops / 1e12, "memory GB": g.memory_gb,
               "year": g.year, "$/GPU-hour": PRICES[g.name], "datasheet": g.source}
              for g in GPUS.values()]).set_index("GPU")

# %% [markdown]
# GPT-3 then and now: on the V100s it was trained on (at 30% of peak and Google Cloud's V100
# price), on A100s, or on today's H100s.

# %%
for gpu, u in [("V100", 0.3), ("A100", 0.4), ("H100", 0.4)]:
    hours = gpu_hours(gpt3_flops, gpu, u)
    cost = training_cost(gpt3_flops, gpu, u, PRICES[gpu])
    days = wall_clock_days(gpt3_flops, gpu, u, n_gpus=1024)
    print(f"GPT-3 on {gpu:<4} at u={u:.0%}: {hours / 24:>9,.0f} GPU-days, "
          f"{days:5.1f} days on 1,024 GPUs, about ${cost / 1e6:4.1f} M")

# %% [markdown]
# The same model gets cheaper every year, but frontier budgets grow faster: the training
# compute of notable models has grown about 4–5× per year since 2010 (Epoch AI). The bill
# for the final run is also only part of the capital: the cluster itself has to exist.
# Llama 3 was trained on up to 16,000 H100s; at an assumed \$30,000 per GPU (reported
# prices ranged roughly \$25,000–40,000 in 2023–24) that is about
# \$0.5 billion of chips before buildings, networking and power.
#
# ## Explore: a cost calculator
#
# Choose a model size $N$, a number of training tokens $D$, a GPU, the utilisation you
# expect, the price you would pay and the number of GPUs. The left panel places your run
# among real models; the right panel shows its training state (weights, gradients, Adam,
# master copy at 16 bytes/parameter) against the memory of the GPUs you chose.
#
# **What to look for:** doubling $N$ at a fixed $D$ doubles the cost; the memory bar
# crosses one GPU's memory at about 5 billion parameters; a 2017 GPU (V100) is not much
# cheaper per hour but several times more expensive per FLOP.

# %%
def compute_landscape(ax, highlight=None):
    """Training compute vs parameters, log-log: real models, reference lines, and `highlight`."""
    n = np.logspace(8, 12.5, 50)
    ax.plot(n, 6 * n * 20 * n, "--", color="C2", label="compute-optimal, D = 20 N")
    ax.plot(n, 6 * n * 300e9, ":", color="C1", label="GPT-3 recipe, D = 300 B tokens")
    ax.axhline(1e25, color="C3", lw=1, alpha=0.7)
    ax.text(1.3e8, 1.5e25, "EU AI Act: systemic-risk presumption, 10²⁵ FLOPs", color="C3", fontsize=8)
    # label placement (dx, dy in points, alignment) where real models crowd together
    place = {"GPT-3": (0, -13, "center"), "Gopher": (7, -3, "left"), "Chinchilla": (-7, -3, "right"),
             "LLaMA-65B": (-7, -12, "right"), "Llama 2 70B": (0, 7, "center"),
             "Llama 3 8B": (-7, -3, "right"), "Llama 3.1 405B": (-7, -3, "right")}
    for m in KNOWN_MODELS:
        c = training_flops(m.n_params, m.n_tokens)
        ax.plot(m.n_params, c, "o", color="C0", ms=5)
        dx, dy, ha = place.get(m.name, (7, -3, "left"))
        ax.annotate(f"{m.name} ({m.year})", (m.n_params, c), xytext=(dx, dy), ha=ha,
                    textcoords="offset points", fontsize=8)
    low = 1e19
    if highlight is not None:
        ax.plot(*highlight, "*", color="C3", ms=16, label="your run", zorder=5)
        low = min(low, highlight[1] / 5)
    ax.set(xscale="log", yscale="log", xlim=(7e7, 3e12), ylim=(low, 3e26),
           xlabel="parameters N", ylabel="training compute C = 6ND (FLOPs)")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="lower right", fontsize=8)


def duration(hours, prefix=""):
    """'12 GPU-minutes' below an hour, '36 GPU-hours' below two days, '1,234 GPU-days' above."""
    if hours < 1:
        return f"{hours * 60:.2g} {prefix}minutes"
    return f"{hours:,.3g} {prefix}hours" if hours < 48 else f"{hours / 24:,.0f} {prefix}days"


def draw_calculator(n_params=7e9, n_tokens=140e9, gpu="H100", utilization=0.4, price=3.00, n_gpus=256):
    flops = training_flops(n_params, n_tokens)
    hours = gpu_hours(flops, gpu, utilization)
    cost = training_cost(flops, gpu, utilization, price)
    days = wall_clock_days(flops, gpu, utilization, n_gpus)
    memory = training_memory(n_params, "bf16", "adam")
    gpu_gb = GPUS[gpu].memory_gb

    # Constrained layout: tight_layout raised a ValueError for some slider settings.
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [3, 2]},
                                      layout="constrained")
    compute_landscape(left, highlight=(n_params, flops))
    left.set_title(f"{human(n_params)} parameters × {human(n_tokens)} tokens = {flops:.2g} FLOPs")

    # The training state: whole, and the share of each GPU when spread over all of them (ZeRO-3).
    parts = ["weights", "gradients", "optimizer_states", "master_weights"]
    for x, divide in ((0, 1), (1, n_gpus)):
        bottom = 0.0
        for i, part in enumerate(parts):
            gb = memory[part] / 1e9 / divide
            right.bar(x, gb, bottom=bottom, color=f"C{i}", label=part.replace("_", " ") if x == 0 else None)
            bottom += gb
        right.text(x, bottom, f"{bottom:,.0f} GB" if bottom >= 10 else f"{bottom:.2g} GB",
                   ha="center", va="bottom")
    right.axhline(gpu_gb, color="k", ls="--", lw=1, label=f"memory of one {gpu}: {gpu_gb:g} GB")
    right.set_xticks([0, 1], ["whole training state\n(bf16 weights + Adam)", f"per GPU, spread\nover {n_gpus} GPU{'s' * (n_gpus > 1)}"])
    right.set(ylabel="memory (GB), activations not included", ylim=(0, 1.6 * max(memory["total"] / 1e9, gpu_gb)),
              title=f"needs ≥ {math.ceil(memory['total'] / 1e9 / gpu_gb)} × {gpu} to hold the state")
    right.legend(fontsize=8, loc="upper right", ncol=2)
    fig.suptitle(f"{duration(hours, 'GPU-')} on {gpu} at {utilization:.0%} → {duration(days * 24)} on "
                 f"{n_gpus} × {gpu} → \\${cost:,.{0 if cost >= 100 else 2}f} at \\${price:.2f}/GPU-hour",
                 fontweight="bold")
    plt.show()


draw_calculator()

# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

style = {"description_width": "110px"}
controls = {
    "n_params": widgets.FloatLogSlider(value=7e9, base=10, min=8, max=12.3, step=0.05,
                                       description="parameters N", readout_format=".3g", style=style,
                                       continuous_update=False),
    "n_tokens": widgets.FloatLogSlider(value=140e9, base=10, min=9, max=13.5, step=0.05,
                                       description="tokens D", readout_format=".3g", style=style,
                                       continuous_update=False),
    "gpu": widgets.Dropdown(options=list(GPUS), value="H100", description="GPU", style=style),
    "utilization": widgets.FloatSlider(value=0.4, min=0.05, max=1.0, step=0.05, description="utilisation",
                                       readout_format=".0%", style=style, continuous_update=False),
    "price": widgets.FloatSlider(value=PRICES["H100"], min=0.1, max=10.0, step=0.05,
                                 description="$ per GPU-hour", readout_format=".2f", style=style,
                                 continuous_update=False),
    "n_gpus": widgets.SelectionSlider(options=[2**k for k in range(0, 15)], value=256,
                                      description="number of GPUs", style=style, continuous_update=False),
}


def on_gpu_change(change):
    controls["price"].value = PRICES[change["new"]]  # each GPU starts at its default price


controls["gpu"].observe(on_gpu_change, names="value")
output = widgets.interactive_output(draw_calculator, controls)
widgets.VBox([widgets.HBox([widgets.VBox([controls[k] for k in ("n_params", "n_tokens", "gpu")]),
                            widgets.VBox([controls[k] for k in ("utilization", "price", "n_gpus")])]),
              output])

# %% [markdown]
# ## 7. Compute-optimal size: Chinchilla
#
# Given a budget $C$, should you train a bigger model on fewer tokens, or a smaller one on
# more? Hoffmann et al. (2022) [ref:hoffmann2022] trained over 400 models and found that $N$ and $D$ should
# grow together: about **20 tokens per parameter**. With $C = 6ND$ and $D = 20N$:
#
# $$N_{\text{opt}} = \sqrt{\frac{C}{6 \cdot 20}}, \qquad D_{\text{opt}} = 20\,N_{\text{opt}} .$$
#
# Their fitted loss, $L(N, D) = E + A/N^{\alpha} + B/D^{\beta}$ (constants as refitted by
# Besiroglu et al. 2024 [ref:besiroglu2024]), shows why: at a fixed budget, a model too small cannot learn
# enough, and a model too large has seen too little data. Move the budget and watch the
# valley move; the red dot is `chinchilla_optimal`.

# %%
def draw_isoflop(log10_budget=23.76):
    budget = 10.0 ** log10_budget
    n = np.logspace(7.5, 13, 300)
    loss = [chinchilla_loss(x, budget / (6 * x)) for x in n]
    n_opt, d_opt = chinchilla_optimal(budget)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(n, loss, label=f"fixed budget C = {budget:.2g} FLOPs")
    ax.plot(n_opt, chinchilla_loss(n_opt, d_opt), "o", color="C3", ms=8,
            label=f"20 tokens/param: N = {human(n_opt)}, D = {human(d_opt)}")
    ax.set(xscale="log", ylim=(1.8, 4.0), xlabel="parameters N (tokens D = C / 6N)",
           ylabel="predicted loss (nats/token)", title="One budget, many ways to spend it")
    ax.grid(alpha=0.3)
    ax.legend()
    plt.show()


draw_isoflop()

# %% tags=["nbval-ignore-output"]
widgets.interact(draw_isoflop, log10_budget=widgets.FloatSlider(
    value=23.76, min=19, max=26, step=0.1, description="log₁₀ C", continuous_update=False));

# %% [markdown]
# GPT-3 (175B on 300B tokens, under 2 tokens per parameter) sits far to the right of its
# valley; Chinchilla (70B on 1.4T tokens) beat the 4× larger Gopher with the same budget.
# Newer models go *past* 20 tokens per parameter on purpose (Llama 3 8B: 15T tokens,
# almost 2,000 per parameter): a small model costs less every time it answers a question,
# so spending more on training buys cheaper inference.

# %%
n_opt, d_opt = chinchilla_optimal(5.76e23)  # Gopher's budget, on which Chinchilla was trained
print(f"Chinchilla-optimal for 5.76e23 FLOPs: {human(n_opt)} parameters, {human(d_opt)} tokens")
bml.check([n_opt, d_opt], [70e9, 1.4e12], "what Chinchilla actually was", rtol=0.02);

# %% [markdown]
# ### Training compute of real models
#
# Every model below is placed at its published $N$ and $D$, with $C = 6ND$. The green line
# is compute-optimal training; the orange one is GPT-3's fixed 300B tokens; the red line is
# the $10^{25}$ FLOPs above which the EU AI Act (Regulation 2024/1689, Article 51) presumes a
# general-purpose model carries systemic risk.

# %%
fig, ax = plt.subplots(figsize=(8.5, 5.2))
compute_landscape(ax)
ax.set_title("Training compute vs parameters of real models")
fig.tight_layout()
plt.show()

pd.DataFrame([{"model": m.name, "year": m.year, "parameters": human(m.n_params),
               "tokens": human(m.n_tokens), "tokens/param": round(m.n_tokens / m.n_params),
               "6ND (FLOPs)": f"{training_flops(m.n_params, m.n_tokens):.2g}",
               "reported": f"{m.reported_flops:.2g}" if m.reported_flops else "", "source": m.source}
              for m in KNOWN_MODELS]).set_index("model")

# %% [markdown]
# ## Pitfalls
#
# **1. Using the datasheet's headline FLOP/s.** The H100 datasheet says 1,979 TFLOPS for
# bf16, but that assumes 2:4 structured sparsity. Meta's model card reports that Llama 3.1
# 405B (3.8e25 FLOPs) took 30.84 million H100 GPU-hours. At 40% utilisation:

# %%
reported_hours = 30.84e6  # Llama 3.1 model card, 405B pretraining on H100-80GB
llama_flops = 3.8e25
wrong = gpu_hours(llama_flops, 1979e12, 0.4)  # the sparse headline figure
print(f"with 1,979 TFLOP/s: {wrong / 1e6:5.1f} M GPU-hours ({wrong / reported_hours:.0%} of what was reported)")
right = gpu_hours(llama_flops, "H100", 0.4)  # the dense peak, 989 TFLOP/s
print(f"with   989 TFLOP/s: {right / 1e6:5.1f} M GPU-hours ({right / reported_hours:.0%} of what was reported)")
bml.check(right, reported_hours, "H100-hours of Llama 3.1 405B, dense peak", rtol=0.2);

# %% [markdown]
# The sparse figure halves the estimate. With the dense peak we land within 15%; the rest
# is utilisation (the reported hours imply about 35%) and work beyond the final run.
#
# **2. Counting tied weights twice.** GPT-2's output layer reuses the token-embedding
# matrix. Its `state_dict` lists that matrix under two names; summing it counts
# 38.6 million parameters that do not exist.

# %%
with torch.device("meta"):
    gpt2_lm = GPT2LMHeadModel(GPT2Config())
naive = sum(t.numel() for t in gpt2_lm.state_dict().values())
print(f"sum over state_dict: {naive:,}   count_parameters: {count_parameters(gpt2_lm):,}")
bml.check(count_parameters(gpt2_lm), count_parameters(GPT2Config()), "the LM head adds no parameters");

# %% [markdown]
# **3. "Mixed precision halves the memory."** It halves the weights and gradients, but
# keeps an fp32 master copy and fp32 Adam state: 16 bytes per parameter, exactly as in
# fp32. Mixed precision saves time and activation memory, not optimizer state.

# %%
naive_gb = 7e9 * 2 / 1e9  # "bf16 = 2 bytes per parameter"
actual_gb = training_memory(7e9, "bf16", "adam")["total"] / 1e9
print(f"7B model, bf16 weights only: {naive_gb:.0f} GB;  full mixed-precision Adam state: {actual_gb:.0f} GB")
bml.check(actual_gb, training_memory(7e9, "fp32", "adam")["total"] / 1e9, "bf16+Adam = fp32+Adam");

# %% [markdown]
# **4. Assuming 100% utilisation.** No large run gets near the peak; at $u = 1$ you would
# quote a third of the real bill. Use 0.3–0.5, or better, measure it (chapter 10).
#
# **5. 6·N·D for small models with embeddings in N.** For the tiny GPT-2 of section 4,
# counting the embeddings overestimated the FLOPs by a quarter: a look-up is not a matrix
# product. For big models the difference vanishes.
#
# ## Exercises
#
# **Exercise 1.** Use `transformer_params` to compute BERT-large's parameter count
# (24 layers, width 1024, MLP width 4096, vocabulary 30,522, 512 positions, 2 token types,
# with pooler), and check it against `count_parameters` of its config.
#
# **Exercise 2.** GPT-3's budget was $3.14 \times 10^{23}$ FLOPs. What model size and token
# count would have been compute-optimal (20 tokens per parameter)? Compute them from the
# formula by hand (`math.sqrt`), then check `chinchilla_optimal`.
#
# **Exercise 3.** Narayanan et al. (2021) [ref:narayanan2021] estimated that GPT-3 would train in about 34 days
# on 1,024 A100s sustaining 140 TFLOP/s each, counting $8ND$ FLOPs because activations are
# recomputed. Reproduce their 34 days with `wall_clock_days`.
#
# **Exercise 4.** What is the smallest number of 80 GB GPUs that can hold the training
# state (bf16 weights and gradients, fp32 master copy, Adam) of a 70-billion-parameter model,
# before any activation?
#
# **Exercise 5.** A lab wants to train a compute-optimal model with exactly the EU AI Act's
# $10^{25}$ FLOPs. How many parameters and tokens, and what does the final run cost on H100s
# at 40% utilisation and \$3.00 per GPU-hour?

# %% [markdown]
# ### Solutions
# Expand the hidden cell to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: BERT-large with the closed form, checked against the meta-device model.
bert_large = transformer_params(24, 1024, 30522, 512, d_ff=4096, n_token_types=2, pooler=True)
print(f"BERT-large: {bert_large:,} parameters")
bml.check(bert_large, count_parameters(configs["BERT-large"]), "BERT-large closed form")

# Exercise 2: N = sqrt(C / 120), D = 20 N.
n_by_hand = math.sqrt(3.14e23 / 120)
n2, d2 = chinchilla_optimal(3.14e23)
print(f"GPT-3's budget, compute-optimal: {human(n2)} parameters on {human(d2)} tokens")
bml.check([n2, d2], [n_by_hand, 20 * n_by_hand], "compute-optimal for GPT-3's budget")

# Exercise 3: 8ND FLOPs at 140 TFLOP/s per A100 = utilisation 140/312.
days = wall_clock_days(training_flops(175e9, 300e9) * 8 / 6, "A100", 140 / 312, n_gpus=1024)
print(f"GPT-3 on 1,024 A100s: {days:.1f} days")
bml.check(days, 34, "days for GPT-3 (Narayanan et al.)", rtol=0.02)

# Exercise 4: 16 bytes per parameter, rounded up to whole GPUs.
state = training_memory(70e9, "bf16", "adam")["total"]
n_gpu = math.ceil(state / 80e9)
print(f"70B training state: {state / 1e9:,.0f} GB -> at least {n_gpu} GPUs of 80 GB")
bml.check(n_gpu, math.ceil(70e9 * (2 + 2 + 4 + 8) / 80e9), "GPUs to hold a 70B training state")

# Exercise 5: the compute-optimal model at 1e25 FLOPs, and its bill.
n5, d5 = chinchilla_optimal(1e25)
cost5 = training_cost(1e25, "H100", 0.4, 3.00)
print(f"1e25 FLOPs: {human(n5)} parameters on {human(d5)} tokens, about ${cost5 / 1e6:.0f} M on H100s")
bml.check(n5, math.sqrt(1e25 / 120), "compute-optimal parameters at 1e25 FLOPs")
bml.check(cost5, 1e25 / (989e12 * 0.4) / 3600 * 3.00, "cost of a 1e25-FLOP run");

# %% [markdown]
# ## Summary
# - A transformer holds about $12\,L\,d^2$ parameters plus embeddings; `count_parameters`
#   counts any config exactly on the `meta` device, for free.
# - Training costs about $6ND$ FLOPs (2 forward, 4 backward per parameter per token);
#   GPT-3 needed $3.14 \times 10^{23}$.
# - Mixed-precision Adam keeps 16 bytes per parameter, before activations.
# - GPU-hours $= C / (\text{peak} \cdot u \cdot 3600)$ with the *dense* peak and a
#   realistic utilisation; the price is an input that changes every quarter.
# - Compute-optimal models use about 20 tokens per parameter; budgets grow ~4–5× a year,
#   which is why capital decides who trains the largest models.
#
# **Further reading:**
# Kaplan et al. 2020, [Scaling Laws for Neural Language Models](https://arxiv.org/abs/2001.08361) [ref:kaplan2020];
# Hoffmann et al. 2022, [Training Compute-Optimal Large Language Models](https://arxiv.org/abs/2203.15556) [ref:hoffmann2022];
# Besiroglu et al. 2024, [Chinchilla Scaling: A replication attempt](https://arxiv.org/abs/2404.10102) [ref:besiroglu2024];
# Brown et al. 2020, [Language Models are Few-Shot Learners](https://arxiv.org/abs/2005.14165) (GPT-3, appendix D) [ref:brown2020];
# Narayanan et al. 2021, [Efficient Large-Scale Language Model Training on GPU Clusters](https://arxiv.org/abs/2104.04473) [ref:narayanan2021];
# Rajbhandari et al. 2020, [ZeRO](https://arxiv.org/abs/1910.02054) [ref:rajbhandari2020];
# Korthikanti et al. 2022, [Reducing Activation Recomputation](https://arxiv.org/abs/2205.05198) [ref:korthikanti2022];
# Llama Team 2024, [The Llama 3 Herd of Models](https://arxiv.org/abs/2407.21783) [ref:grattafiori2024];
# Carlini et al. 2021, [Extracting Training Data from LLMs](https://arxiv.org/abs/2012.07805) [ref:carlini2021];
# Bender et al. 2021, [On the Dangers of Stochastic Parrots](https://dl.acm.org/doi/10.1145/3442188.3445922) [ref:bender2021];
# Epoch AI, [Notable AI models](https://epoch.ai/data/notable-ai-models);
# [EU AI Act, Article 51](https://eur-lex.europa.eu/eli/reg/2024/1689/oj).
# Next: chapter 02, the loss functions these FLOPs are spent minimising.
