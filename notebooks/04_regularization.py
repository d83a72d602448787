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
# # 04 · Regularization: L1, L2, weight decay, dropout
# *中文：正则化：L1、L2、权重衰减与随机失活*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/04_regularization.ipynb)
#
# A model with enough parameters can memorise its training data, noise included, and
# then predicts new data badly. *Regularization* is everything we do to prefer simpler
# explanations: penalties on the weights, noise in the network, stopping in time.
# Big models use all of them: AdamW's weight decay, dropout in BERT and GPT-2, early
# stopping when fine-tuning.
#
# **You will learn**
# - to see over-fitting in training and validation curves;
# - how L1 and L2 penalties differ: exact zeros (sparsity) against shrinkage, as paths over λ;
# - why weight decay equals an L2 penalty under SGD but not under Adam;
# - how inverted dropout works, its ensemble view, and why it rescales by $1/(1-p)$;
# - why early stopping is a regularizer too.

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

device = bml.setup(seed=0, threads=1)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import copy

from torch import nn

from bigmodel_lib.optim import SGD, Adam, AdamW
from bigmodel_lib.regularization import Dropout, dropout, l1_penalty, l2_penalty


# %% [markdown]
# ## 1. Over-fitting made visible
#
# Twenty noisy points from the curve $y = \sin(3x)$ (noise standard deviation 0.3), and a
# network with two hidden layers of 50 units, about 2,700 parameters: far more than
# the 20 points can pin down. We train it with Adam and measure the mean squared
# error on the 20 training points and on 500 fresh validation points from the same
# curve. The best any model can do on new points is the noise variance, $0.3^2 = 0.09$.

# %%
def target(x):
    return torch.sin(3 * x)


data_gen = torch.Generator().manual_seed(0)
n_train, noise = 20, 0.3
x_train = torch.rand(n_train, 1, generator=data_gen) * 2 - 1
y_train = target(x_train) + noise * torch.randn(n_train, 1, generator=data_gen)
x_val = torch.rand(500, 1, generator=data_gen) * 2 - 1
y_val = target(x_val) + noise * torch.randn(500, 1, generator=data_gen)
x_grid = torch.linspace(-1, 1, 200)[:, None]


def make_net(p=0.0, drop=Dropout, hidden=50, seed=0):
    """1 -> hidden -> hidden -> 1 with tanh, and dropout (probability p) after each hidden layer."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), drop(p),
                         nn.Linear(hidden, hidden), nn.Tanh(), drop(p), nn.Linear(hidden, 1))


def mse(model, x, y):
    model.eval()
    with torch.no_grad():
        return ((model(x) - y) ** 2).mean().item()



def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(x).flatten().numpy()


def train(model, steps=800, lr=0.01, l2=0.0, l1=0.0, optimizer=None, every=10, snapshots=(),
          keep_best=False):
    """Full-batch training on the 20 points, minimising  MSE + l2·Σw² + l1·Σ|w|.

    Returns a dict of curves: "step", "train", "val" (MSE every `every` steps, in eval mode),
    and "fits": {step: predictions on x_grid} for the steps in `snapshots`. With
    keep_best=True the model ends with the weights of its lowest validation error.
    """
    opt = optimizer or Adam(model.parameters(), lr=lr)
    curves = {"step": [], "train": [], "val": [], "fits": {}}
    best_val, best_state = float("inf"), None
    for step in range(steps + 1):
        if step % every == 0:
            curves["step"].append(step)
            curves["train"].append(mse(model, x_train, y_train))
            curves["val"].append(mse(model, x_val, y_val))
            if keep_best and curves["val"][-1] < best_val:
                best_val, best_state = curves["val"][-1], copy.deepcopy(model.state_dict())
        if step in snapshots:
            curves["fits"][step] = predict(model, x_grid)
        if step == steps:
            break
        model.train()
        loss = ((model(x_train) - y_train) ** 2).mean()
        if l2:
            loss = loss + l2 * l2_penalty(model)
        if l1:
            loss = loss + l1 * l1_penalty(model)
        opt.zero_grad()
        loss.backward()
        opt.step()
    if keep_best:
        model.load_state_dict(best_state)
    return curves


def draw_fit_and_curves(axes, curves, title):
    axes[0].plot(x_grid, target(x_grid), "k--", lw=1, label="true curve sin(3x)")
    for step, fit in curves["fits"].items():
        axes[0].plot(x_grid, fit, label=f"fit after {step} steps")
    axes[0].plot(x_train, y_train, "o", color="k", ms=4, label="20 training points")
    axes[0].set(title=title, xlabel="x", ylabel="y", ylim=(-2, 2))
    axes[0].legend(fontsize=8, loc="lower right")
    axes[1].semilogy(curves["step"], curves["train"], label="training MSE")
    axes[1].semilogy(curves["step"], curves["val"], label="validation MSE")
    axes[1].axhline(noise**2, color="gray", ls=":", label="noise variance (best possible)")
    axes[1].set(title="training and validation error", xlabel="step", ylabel="MSE (log scale)",
                ylim=(1e-3, 3))
    axes[1].legend(fontsize=8, loc="lower left")
    axes[1].grid(alpha=0.3)


# %%
plain = make_net()
plain_curves = train(plain, snapshots=(60, 200, 800))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
draw_fit_and_curves(axes, plain_curves, "no regularization: the fit chases the noise")
plt.tight_layout()
plt.show()
best = int(np.argmin(plain_curves["val"]))
print(f"best validation MSE {plain_curves['val'][best]:.3f} at step {plain_curves['step'][best]}; "
      f"after 800 steps: training {plain_curves['train'][-1]:.3f}, validation {plain_curves['val'][-1]:.3f}")

# %% [markdown]
# The training error keeps falling far below the noise level: the network is fitting
# the noise. Validation error first falls (the network learns the curve), then rises
# (it learns the noise). That growing gap is **over-fitting** (过拟合). Every method in this
# chapter narrows it.
#
# ## 2. L2 and L1 penalties
#
# A penalty adds a price for large weights to the loss $\mathcal L(w)$:
#
# $$\mathcal L_{\text{L2}}(w) = \mathcal L(w) + \lambda \sum_j w_j^2, \qquad
#   \mathcal L_{\text{L1}}(w) = \mathcal L(w) + \lambda \sum_j |w_j|,$$
#
# where the sums run over the weights $w_j$ and $\lambda \ge 0$ sets the strength.
# `l2_penalty(params)` is $\sum_j w_j^2$ (no factor $\tfrac12$) and `l1_penalty(params)`
# is $\sum_j |w_j|$. Their gradients tell the difference:
#
# - L2 adds $2\lambda w_j$: a pull towards zero *proportional* to the weight, so weights
#   shrink but a small weight is hardly pulled at all and never reaches zero;
# - L1 adds $\lambda\,\mathrm{sign}(w_j)$: the same pull however small the weight, so
#   weights that do not earn their keep are driven to **exactly zero** (sparsity).
#
# First a check that the penalties are what they say, against sums written by hand:

# %%
w_demo = [torch.tensor([[1.0, -2.0], [3.0, -4.0]]), torch.tensor([0.5])]
bml.check(l1_penalty(w_demo).item(), 1 + 2 + 3 + 4 + 0.5, "l1_penalty = Σ|w|")
bml.check(l2_penalty(w_demo).item(), 1 + 4 + 9 + 16 + 0.25, "l2_penalty = Σw²")

# %% [markdown]
# ### Coefficient paths: shrinkage against sparsity
#
# The difference is clearest on a linear model, $\hat y = Xw$, with 8 features of which
# only 4 matter (true weights $3, -2, 1.5, 0, 0, 1, 0, 0$), 50 samples with noise of
# standard deviation 0.5, and the loss
# $\mathcal L(w) = \frac1n\lVert y - Xw\rVert^2$. The L2 problem has a closed form,
# $w = (X^\top X/n + \lambda I)^{-1} X^\top y / n$. The L1 problem has none; we solve it by
# *proximal gradient descent* (ISTA): a gradient step on $\mathcal L$, then the
# **soft-thresholding** (软阈值) step that the L1 term calls for,
# $w_j \leftarrow \mathrm{sign}(w_j)\max(|w_j| - \eta\lambda, 0)$, which sets small
# weights to exactly zero. Both are checked against scikit-learn's `Ridge` and `Lasso`
# (which scale $\lambda$ differently).

# %%
from sklearn.linear_model import Lasso, Ridge

rng = np.random.default_rng(0)
n, d = 50, 8
X = rng.standard_normal((n, d))
w_true = np.array([3.0, -2.0, 1.5, 0.0, 0.0, 1.0, 0.0, 0.0])
y = X @ w_true + 0.5 * rng.standard_normal(n)


def ridge_solution(lam):
    """argmin (1/n)|y - Xw|² + lam·Σw²  (closed form)."""
    return np.linalg.solve(X.T @ X / n + lam * np.eye(d), X.T @ y / n)


def soft_threshold(z, t):
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0) + 0.0  # + 0.0 turns -0.0 into 0.0


def lasso_solution(lam, w=None, iters=1000):
    """argmin (1/n)|y - Xw|² + lam·Σ|w|  by ISTA (gradient step, then soft-thresholding)."""
    eta = 1 / (2 * np.linalg.eigvalsh(X.T @ X / n).max())  # 1/L: a safe step (chapter 03)
    w = np.zeros(d) if w is None else w.copy()
    for _ in range(iters):
        gradient = 2 * X.T @ (X @ w - y) / n
        w = soft_threshold(w - eta * gradient, eta * lam)
    return w


lam = 0.3

# %% tags=["nbval-ignore-output"]
# scikit-learn's references (its Ridge minimises |y - Xw|² + αΣw², its Lasso (1/2n)|y - Xw|² + αΣ|w|)
sk_ridge = Ridge(alpha=n * lam, fit_intercept=False).fit(X, y).coef_
sk_lasso = Lasso(alpha=lam / 2, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y).coef_

# %%
bml.check(ridge_solution(lam), sk_ridge, "ridge closed form vs sklearn Ridge", rtol=1e-8)
bml.check(lasso_solution(lam, iters=5000), sk_lasso, "lasso by ISTA vs sklearn Lasso", rtol=1e-6, atol=1e-9)

# %%
lams = np.geomspace(1e-3, 10, 40)
ridge_path = np.array([ridge_solution(lam) for lam in lams])
lasso_path, w = [], None
for lam in lams[::-1]:  # from strong to weak, each solve starts from the previous one
    w = lasso_solution(lam, w, iters=400)
    lasso_path.append(w)
lasso_path = np.array(lasso_path[::-1])

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), sharey=True)
for ax, path, name in [(axes[0], ridge_path, "L2 (ridge): everything shrinks"),
                       (axes[1], lasso_path, "L1 (lasso): weights hit exactly zero")]:
    for j in range(d):
        ax.semilogx(lams, path[:, j], color=f"C{j}", ls="-" if w_true[j] else "--",
                    label=f"w{j} (true {w_true[j]:g})")
    ax.axhline(0, color="k", lw=0.5)
    ax.set(title=name, xlabel="λ (log scale)")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("fitted weight")
axes[1].legend(fontsize=8, ncol=2)
plt.tight_layout()
plt.show()
for lam_show in (0.01, 0.3, 3.0):
    i = int(np.argmin(np.abs(lams - lam_show)))
    print(f"λ = {lams[i]:.3f}: weights exactly zero: ridge {np.sum(ridge_path[i] == 0)}, "
          f"lasso {np.sum(lasso_path[i] == 0)} of {d}")

# %% [markdown]
# Reading the paths from left to right: as λ grows, ridge shrinks every weight smoothly
# and none of them reaches zero. Lasso sets the four useless features (dashed) to exactly
# zero first (by λ ≈ 0.3), then the weakest real one ($w_5$, near λ ≈ 1.5), then the
# others: it *selects* features. The price is that the surviving weights are shrunk
# too (biased towards zero).
#
# Back to the network: the same penalties, added to the loss with `l2_penalty` and
# `l1_penalty`, close the gap between training and validation error.

# %%
l2_net = make_net()
l2_curves = train(l2_net, l2=1e-3, snapshots=(800,))
l1_net = make_net()
l1_curves = train(l1_net, l1=1e-3, snapshots=(800,))
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
axes[0].plot(x_grid, target(x_grid), "k--", lw=1, label="true curve")
axes[0].plot(x_train, y_train, "o", color="k", ms=4, label="training points")
for name, curves in [("no penalty", plain_curves), ("L2, λ=1e-3", l2_curves), ("L1, λ=1e-3", l1_curves)]:
    axes[0].plot(x_grid, curves["fits"][800], label=name)
    axes[1].semilogy(curves["step"], curves["val"], label=f"{name}: validation")
axes[0].set(title="fits after 800 steps", xlabel="x", ylabel="y", ylim=(-2, 2))
axes[0].legend(fontsize=8)
axes[1].axhline(noise**2, color="gray", ls=":", label="noise variance")
axes[1].set(title="validation error", xlabel="step", ylabel="MSE (log scale)")
axes[1].legend(fontsize=8)
axes[1].grid(alpha=0.3)
plt.tight_layout()
plt.show()
for name, curves in [("no penalty", plain_curves), ("L2", l2_curves), ("L1", l1_curves)]:
    print(f"{name:<10} final training MSE {curves['train'][-1]:.3f}, validation MSE {curves['val'][-1]:.3f}")

# %% [markdown]
# ## 3. Weight decay: the same as L2 under SGD, not under Adam
#
# **Weight decay** shrinks every weight by a small fraction at each step. With SGD,
# `weight_decay=λ` adds $\lambda w$ to the gradient, which is exactly the gradient of
# $\frac\lambda2 \sum_j w_j^2$ = `(λ / 2) * l2_penalty(params)` (hence the ½). So the
# two are the same update:
#
# $$w \leftarrow w - \eta\,(\nabla\mathcal L + \lambda w) = (1 - \eta\lambda)\,w - \eta\,\nabla\mathcal L .$$
#
# Adam divides the gradient by $\sqrt{\hat v}$, a running size of each weight's past
# gradients (chapter 03). `Adam(weight_decay=λ)` still adds $\lambda w$ to the gradient,
# so the decay is divided too: weight $j$ shrinks by *roughly* $\eta\lambda w_j/(\sqrt{\hat v_j}+\epsilon)$
# per step: little for weights with large gradients, a lot for weights with small ones.
# Roughly, because the $\lambda w$ term also enters the averages: it is part of the
# gradient that $\hat m$ smooths over past steps and that $\hat v$ squares (making
# $\hat v$ larger), so the decay cannot be split off from the rest of the step exactly.
# **AdamW** applies $w \leftarrow (1 - \eta\lambda)\,w$ separately, the same rate for
# every weight. Let us check both statements on the network, in float64:

# %%
def run_pair(make_a, make_b, lam, steps=100):
    """Net A trained with optimizer make_a; net B, same start, with make_b on MSE + lam/2·Σw²."""
    a, b = make_net().double(), make_net().double()
    opt_a, opt_b = make_a(a.parameters()), make_b(b.parameters())
    xs, ys = x_train.double(), y_train.double()
    for _ in range(steps):
        opt_a.zero_grad()
        ((a(xs) - ys) ** 2).mean().backward()
        opt_a.step()
        opt_b.zero_grad()
        (((b(xs) - ys) ** 2).mean() + lam / 2 * l2_penalty(b)).backward()
        opt_b.step()
    return max((p - q).abs().max().item() for p, q in zip(a.parameters(), b.parameters(), strict=True))


lam = 0.1
bml.check(run_pair(lambda ps: SGD(ps, lr=0.05, weight_decay=lam), lambda ps: SGD(ps, lr=0.05), lam) < 1e-12,
          True, "SGD: weight_decay=λ is the same as adding (λ/2)·l2_penalty")
bml.check(run_pair(lambda ps: Adam(ps, lr=0.01, weight_decay=lam), lambda ps: Adam(ps, lr=0.01), lam) < 1e-12,
          True, "Adam: weight_decay=λ is also an L2 term (its decay is rescaled by 1/√v̂)")
bml.check(run_pair(lambda ps: AdamW(ps, lr=0.01, weight_decay=lam), lambda ps: Adam(ps, lr=0.01), lam) > 1e-3,
          True, "AdamW: decoupled decay is NOT an L2 term")

# %% [markdown]
# How uneven is the decay under Adam + L2? The L2 term's gradient $\lambda w_j$ reaches
# weight $j$ divided by $\sqrt{\hat v_j}+\epsilon$, so its strength is multiplied by
# $1/(\sqrt{\hat v_j}+\epsilon)$, a factor Adam computes from that weight's own gradient
# history. Adam keeps $v$ in its state, so after training we can look at these factors
# for all 2,701 weights. (Under AdamW the factor is 1 for every weight.)

# %%
net_adam = make_net()
adam_opt = Adam(net_adam.parameters(), lr=0.01, weight_decay=1e-2)
train(net_adam, optimizer=adam_opt)
factors = []
for p in net_adam.parameters():
    state = adam_opt.state[p]
    v_hat = state["exp_avg_sq"] / (1 - 0.999 ** state["step"])
    factors.append((1 / (v_hat.sqrt() + 1e-8)).flatten())
factors = torch.cat(factors).numpy()
relative = factors / np.median(factors)

fig, ax = plt.subplots(figsize=(7, 4))
ax.hist(np.log10(relative), bins=50, color="C1", label="Adam + L2: one strength per weight")
ax.axvline(0.0, color="C2", lw=3, label="AdamW: the same strength for every weight")
ax.set(title="how strongly weight decay acts on each weight (after 800 steps)",
       xlabel="log10(decay strength / median strength)", ylabel="number of weights")
ax.legend(loc="upper right", fontsize=9)
plt.show()
print(f"Adam + L2: decay strengths span {np.log10(relative.max() / relative.min()):.1f} decades "
      f"over {len(relative)} weights")

# %% [markdown]
# Under Adam + L2 some weights are decayed a thousand times more strongly than others,
# only because their gradients were smaller. AdamW's decay does what its name says,
# the same for every weight, and its strength no longer depends on the gradients'
# scale. That is why large models are trained with AdamW (typically with
# `weight_decay` between 0.01 and 0.1).
#
# ## 4. Dropout
#
# **Dropout** (随机失活) of Srivastava et al. (2014) [ref:srivastava2014] zeroes each activation at random during
# training, with probability $p$, so no unit can rely on one particular other unit.
# *Inverted* dropout also scales the survivors by $1/(1-p)$:
#
# $$y_i = \frac{m_i\, x_i}{1-p}, \qquad m_i \sim \mathrm{Bernoulli}(1-p)\ \text{independently},$$
#
# where $x_i$ is an activation, $m_i \in \{0, 1\}$ its random mask and $y_i$ the output.
# Then $\mathbb E[y_i] = (1-p)\,x_i/(1-p) = x_i$: on average the next layer sees the same
# input as without dropout, so at evaluation time dropout is simply switched off (the
# identity), with nothing to rescale. Here is one mask on a vector of ones, $p = 0.5$:

# %%
mask_gen = torch.Generator().manual_seed(0)
print(dropout(torch.ones(16), 0.5, generator=mask_gen))
print(dropout(torch.ones(16), 0.5, generator=mask_gen))
print("eval mode:", dropout(torch.ones(16), 0.5, training=False))

# %% [markdown]
# Each call draws a new mask; survivors become $1/(1-0.5) = 2$. Averaged over many
# masks, the output is the input, and the library's `dropout` behaves like PyTorch's:

# %%
x = torch.linspace(-2, 2, 9, dtype=torch.float64)
average = torch.stack([dropout(x, 0.3, generator=mask_gen) for _ in range(20_000)]).mean(0)
bml.check(average.round(decimals=2), x, "mean over 20,000 masks equals the input", atol=0.05, rtol=0.0)
big = torch.ones(1_000_000)
ours_fraction = (dropout(big, 0.3, generator=mask_gen) == 0).float().mean().item()
torch.manual_seed(0)
torch_fraction = (nn.functional.dropout(big, 0.3) == 0).float().mean().item()
bml.check(ours_fraction, torch_fraction, "fraction dropped: ours vs torch (≈ 0.3)", atol=0.003)
bml.check(dropout(x, 0.0) is x and Dropout(0.3).eval()(x) is x, True, "p = 0 and eval mode are the identity")

# %% [markdown]
# ### The ensemble view
#
# Every mask picks a *thinned* sub-network; a network with $n$ droppable units has
# $2^n$ of them, all sharing weights. Training with dropout trains this whole family
# at once, and evaluation mode (no mask, thanks to the rescale) is a cheap stand-in
# for averaging all their predictions. For a linear layer the average is exact; through
# the tanh layers it is an approximation. Let us train with $p = 0.3$ and compare
# eval mode with the average of 1,000 random sub-networks (train-mode forward passes).

# %%
drop_net = make_net(p=0.3)
drop_curves = train(drop_net, snapshots=(800,))
drop_net.train()  # masks on: every forward pass is a different sub-network
with torch.no_grad():
    members = torch.stack([drop_net(x_grid).flatten() for _ in range(1000)])
eval_prediction = predict(drop_net, x_grid)

fig, ax = plt.subplots(figsize=(7, 4.2))
for member in members[:30]:
    ax.plot(x_grid, member, color="C0", alpha=0.15, lw=0.8)
ax.plot([], [], color="C0", alpha=0.4, label="30 sub-networks (random masks)")
ax.plot(x_grid, members.mean(0), color="C1", lw=2.5, label="average of 1,000 sub-networks")
ax.plot(x_grid, eval_prediction, "k--", lw=1.5, label="eval mode (no mask)")
ax.plot(x_train, y_train, "o", color="k", ms=4, label="training points")
ax.set(title="dropout p = 0.3: eval mode ≈ the average of the sub-networks", xlabel="x", ylabel="y",
       ylim=(-2, 2))
ax.legend(fontsize=8)
plt.show()
gap = np.abs(members.mean(0).numpy() - eval_prediction).max()
print(f"largest gap between the ensemble average and eval mode: {gap:.2f}")
print(f"validation MSE with dropout: {drop_curves['val'][-1]:.3f} (without: {plain_curves['val'][-1]:.3f})")

# %% [markdown]
# The last layer is linear, so behind it the average is exact: averaging the output
# layer over masks of its input gives the eval-mode output (up to sampling noise).

# %%
torch.manual_seed(1)
layer = nn.Linear(50, 1)
h = torch.randn(4, 50)
with torch.no_grad():
    mc = torch.stack([layer(dropout(h, 0.3, generator=mask_gen)) for _ in range(20_000)]).mean(0)
    bml.check(mc.double().round(decimals=2), layer(h), "linear layer: average over masks = eval-mode output",
              atol=0.03, rtol=0.0)

# %% [markdown]
# ## 5. Early stopping
#
# The validation curve of section 1 has a minimum. **Early stopping** (早停) keeps the
# weights from that step and stops there (in practice: after `patience` evaluations
# without improvement). It regularizes because gradient descent starting from small
# weights explores simple functions first: stopping early limits how far the weights
# travel from their small initial values, much like an L2 penalty limits their size.

# %%
norm_net = make_net()
norms, val_curve = [], []
opt = Adam(norm_net.parameters(), lr=0.01)
for step in range(801):
    if step % 10 == 0:
        norms.append(l2_penalty(norm_net).sqrt().item())
        val_curve.append(mse(norm_net, x_val, y_val))
    if step == 800:
        break
    norm_net.train()
    opt.zero_grad()
    ((norm_net(x_train) - y_train) ** 2).mean().backward()
    opt.step()

stopped = make_net()
stopped_curves = train(stopped, keep_best=True)
best_step = stopped_curves["step"][int(np.argmin(stopped_curves["val"]))]
fig, ax = plt.subplots(figsize=(7, 4))
steps_axis = np.arange(0, 801, 10)
ax.plot(steps_axis, val_curve, color="C1", label="validation MSE")
ax.axvline(best_step, color="gray", ls=":", label=f"early stop (step {best_step})")
ax.set(title="early stopping: keep the weights of the best validation step", xlabel="step",
       ylabel="validation MSE")
ax2 = ax.twinx()
ax2.plot(steps_axis, norms, color="C0", label="weight norm ‖w‖")
ax2.set_ylabel("‖w‖ (all weights)")
fig.legend(loc="upper center", bbox_to_anchor=(0.45, 0.85), fontsize=8)
plt.show()
bml.check(round(mse(stopped, x_val, y_val), 4), round(min(stopped_curves["val"]), 4),
          "restored model has the best validation MSE")

# %% [markdown]
# ## 6. Explore: λ and p
#
# Each change re-trains the network from the same start (800 steps of Adam on the 20
# points, well under a second on a CPU) with an L2 penalty $\lambda\sum w^2$ and dropout
# probability $p$, then redraws the fit and the curves. Look for: with $\lambda = 0$ and
# $p = 0$ the gap between the curves; a moderate $\lambda$ (around $10^{-3}$) or $p$
# (0.2–0.4) closing it; too much of either (λ = 0.1, p = 0.8) making the fit too flat
# to follow the curve: *under*-fitting, with both errors high.

# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

LAMBDAS = [0.0, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1]


def explore(lam=0.0, p=0.0):
    model = make_net(p=p)
    curves = train(model, l2=lam, snapshots=(800,))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    draw_fit_and_curves(axes, curves, f"λ = {lam:g}, dropout p = {p:.1f}")
    axes[1].set_title(f"final MSE: training {curves['train'][-1]:.3f}, validation {curves['val'][-1]:.3f}")
    plt.tight_layout()
    plt.show()


lam_slider = widgets.SelectionSlider(options=[(f"{v:g}", v) for v in LAMBDAS], value=0.0,
                                     description="λ (L2)", continuous_update=False)
p_slider = widgets.FloatSlider(value=0.0, min=0.0, max=0.8, step=0.1, description="dropout p",
                               continuous_update=False)

# %% tags=["nbval-ignore-output"]
widgets.interact(explore, lam=lam_slider, p=p_slider);

# %% [markdown]
# ## 7. Pitfalls
#
# **Dropping without the rescale.** A popular mistake (and the original paper's
# convention, done wrong) is to zero activations in training but not scale the
# survivors, then evaluate without a mask. The next layer was trained on inputs
# $(1-p)$ times smaller than it gets at evaluation time, so every prediction is off.

# %%
class DropoutNoRescale(nn.Module):
    """The mistake: zero with probability p, but do not divide the survivors by 1 - p."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        return x * (torch.rand_like(x) >= self.p)


wrong_net = make_net(p=0.5, drop=DropoutNoRescale)
wrong_curves = train(wrong_net, snapshots=(800,))
right_net = make_net(p=0.5)
right_curves = train(right_net, snapshots=(800,))
fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot(x_grid, target(x_grid), "k--", lw=1, label="true curve")
ax.plot(x_train, y_train, "o", color="k", ms=4, label="training points")
ax.plot(x_grid, wrong_curves["fits"][800], color="C3", label="no rescale, eval mode")
ax.plot(x_grid, right_curves["fits"][800], color="C2", label="inverted dropout, eval mode")
ax.set(title="dropout p = 0.5 with and without the 1/(1-p) rescale", xlabel="x", ylabel="y", ylim=(-2.5, 2.5))
ax.legend(fontsize=8)
plt.show()
print(f"validation MSE without the rescale: {wrong_curves['val'][-1]:.3f}; "
      f"with it: {right_curves['val'][-1]:.3f}")

# %% [markdown]
# **Forgetting `model.eval()`.** Dropout stays on in training mode, so predictions are
# random and worse. Evaluate in `model.eval()` (our `mse` and `predict` do), and go back
# to `model.train()` before the next training step.

# %%
drop_net.train()
with torch.no_grad():
    first, second = drop_net(x_val), drop_net(x_val)
print(f"train mode: two predictions of the same inputs differ by up to {(first - second).abs().max():.2f}")
train_mode_mse = ((first - y_val) ** 2).mean().item()
print(f"validation MSE in train mode: {train_mode_mse:.3f}; in eval mode: {mse(drop_net, x_val, y_val):.3f}")

# %% [markdown]
# **Expecting exact zeros from an L1 term and gradient descent.** Adding `l1_penalty`
# to the loss and running SGD or Adam pushes weights *towards* zero, but each step
# overshoots and they jitter around it instead of landing on it. Exact zeros come from
# the proximal (soft-thresholding) step of section 2, or from pruning small weights.

# %%
Xt, yt = torch.tensor(X), torch.tensor(y)
w_l1 = torch.zeros(d, dtype=torch.float64, requires_grad=True)
opt = SGD([w_l1], lr=0.01)
for _ in range(3000):
    opt.zero_grad()
    (((Xt @ w_l1 - yt) ** 2).mean() + 0.3 * l1_penalty([w_l1])).backward()
    opt.step()
with np.printoptions(precision=4, suppress=True):
    print("SGD on MSE + 0.3·Σ|w|:   ", w_l1.detach().numpy().round(4))
    print("ISTA (soft-thresholding):", lasso_solution(0.3, iters=5000).round(4))
print(f"exact zeros: SGD {int((w_l1 == 0).sum())}, ISTA {int((lasso_solution(0.3, iters=5000) == 0).sum())}")

# %% [markdown]
# **Passing `model.parameters()` twice.** It is a generator: the second use is empty.
# The library refuses an empty list instead of returning a silent zero penalty:

# %%
params = make_net().parameters()
first_penalty = l2_penalty(params)
try:
    l2_penalty(params)
except ValueError as err:
    print("ValueError:", err)

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (ridge by hand).** For one feature and no intercept, minimise
# $\sum_i (y_i - w x_i)^2 + \lambda w^2$. Show that $w^\ast = \sum_i x_i y_i / (\sum_i x_i^2 + \lambda)$,
# then check it on $x = (1, 2, 3)$, $y = (2, 3, 7)$, $\lambda = 4$ by minimising the same loss
# with `SGD` and `l2_penalty`.
#
# **Exercise 2 (inverted dropout).** With $p = 0.25$, what value does a surviving
# activation $x_i = 3$ take? Check with `dropout`. Then estimate the mean of
# `dropout(torch.full((200_000,), 3.0), 0.25)` and compare it with 3.
#
# **Exercise 3 (lasso with orthogonal features).** If the features are orthogonal with
# $X^\top X = nI$, the L1 problem of section 2 separates per weight and its solution is
# the least-squares weight, soft-thresholded: $w_j = \mathrm{sign}(b_j)\max(|b_j| - \lambda/2, 0)$
# with $b = X^\top y / n$. Build such an $X$ (hint: `np.linalg.qr`), and check the formula
# against scikit-learn's `Lasso(alpha=λ/2, fit_intercept=False)`.

# %% [markdown]
# ### Solutions
# Expand the hidden cell to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: d/dw [Σ(y - wx)² + λw²] = -2Σx(y - wx) + 2λw = 0  =>  w = Σxy / (Σx² + λ).
xs = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
ys = torch.tensor([2.0, 3.0, 7.0], dtype=torch.float64)
closed_form = (xs * ys).sum() / ((xs**2).sum() + 4.0)
w1 = torch.zeros(1, dtype=torch.float64, requires_grad=True)
opt = SGD([w1], lr=0.02)
for _ in range(500):
    opt.zero_grad()
    (((ys - w1 * xs) ** 2).sum() + 4.0 * l2_penalty([w1])).backward()
    opt.step()
bml.check(w1.item(), closed_form.item(), "ridge weight: SGD vs closed form")
bml.check(closed_form.item(), 29 / 18, "w* = 29/18")

# Exercise 2: survivors are x / (1 - p) = 3 / 0.75 = 4; the mean stays 3.
y2 = dropout(torch.full((200_000,), 3.0), 0.25, generator=torch.Generator().manual_seed(0))
bml.check(y2[y2 != 0].unique().tolist(), [4.0], "a surviving activation")
bml.check(y2.mean().item(), 3.0, "mean after dropout", rtol=0.01)

# Exercise 3: orthogonal columns scaled so that XᵀX = nI.
q, _ = np.linalg.qr(rng.standard_normal((n, d)))
X_orth = q * np.sqrt(n)
y_orth = X_orth @ w_true + rng.standard_normal(n)
b = X_orth.T @ y_orth / n
formula = soft_threshold(b, 0.6 / 2)

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
sk = Lasso(alpha=0.6 / 2, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X_orth, y_orth).coef_

# %% jupyter={"source_hidden": true}
bml.check(formula, sk, "soft-thresholded least squares vs sklearn Lasso (λ = 0.6)", atol=1e-8)

# %% [markdown]
# ## Summary
# - Over-fitting: training error keeps falling while validation error rises; watch both.
# - L2 ($\lambda\sum w^2$, `l2_penalty`, no ½) shrinks all weights; L1 ($\lambda\sum|w|$,
#   `l1_penalty`) sets weights exactly to zero when solved with a proximal step.
# - Weight decay $\lambda$ = the gradient of $\frac\lambda2\sum w^2$ under SGD; under Adam the
#   L2 term is rescaled per weight, so use AdamW's decoupled decay.
# - Inverted dropout: zero with probability $p$, scale survivors by $1/(1-p)$, identity
#   in eval mode; eval mode approximates the average of all the thinned sub-networks.
# - Early stopping keeps the weights of the best validation step: a regularizer for free.
#
# **Further reading:**
# N. Srivastava et al., [Dropout: a simple way to prevent neural networks from overfitting](https://jmlr.org/papers/v15/srivastava14a.html) (JMLR, 2014) [ref:srivastava2014];
# I. Loshchilov, F. Hutter, [Decoupled weight decay regularization](https://arxiv.org/abs/1711.05101) (2019) [ref:loshchilov2019];
# R. Tibshirani, [Regression shrinkage and selection via the lasso](https://doi.org/10.1111/j.2517-6161.1996.tb02080.x) (1996) [ref:tibshirani1996];
# I. Goodfellow, Y. Bengio, A. Courville, [Deep Learning, chapter 7](https://www.deeplearningbook.org/contents/regularization.html) [ref:goodfellow2016a].
# Next: chapter 05, the training loop.
