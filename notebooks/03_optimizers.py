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
# # 03 · Optimizers: GD, SGD, momentum, Adam, AdamW
# *中文：优化器：梯度下降、随机梯度下降、动量、Adam 与 AdamW*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/03_optimizers.ipynb)
#
# A loss function (chapter 02) says how wrong a model is; an *optimizer* decides how to
# change the weights to make it less wrong. Every big model you have heard of was
# trained by one of the few update rules in this chapter, most of them by AdamW.
#
# **You will learn**
# - why gradient descent has a largest stable learning rate, $2/L$, and what happens above it;
# - how the minibatch size sets the noise of SGD, and how momentum gets through narrow valleys;
# - how Adam's moment estimates are exponential moving averages, and why they need bias correction;
# - why AdamW's decoupled weight decay is not the same as Adam plus an L2 penalty;
# - how to compare optimizers by their paths on 2-D surfaces.

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

from torch import nn

from bigmodel_lib.optim import SGD, Adam, AdamW, optimize_2d, plot_paths

torch.set_default_dtype(torch.float64)  # 2-D toy problems: exact arithmetic makes clean pictures


def rosenbrock(x, y):
    """A curved, flat-bottomed valley; minimum 0 at (1, 1). Works on tensors and arrays."""
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def valley(x, y):
    """An ill-conditioned quadratic: curvature 1 along x, 20 along y; minimum 0 at (0, 0)."""
    return 0.5 * (x**2 + 20 * y**2)


def losses_along(fn, path):
    return fn(path[:, 0], path[:, 1])

# %% [markdown]
# ## 1. Intuition: walking downhill in a narrow valley
#
# Here is a valley that is 20 times steeper across ($y$) than along ($x$). Three
# optimizers start at the same point (circle) and take 40 steps each (a square marks where
# each one ends). Before any formula, look
# at how differently they travel: plain gradient descent zig-zags across the valley
# and crawls along it; momentum builds up speed along the valley floor; Adam rescales
# each direction and heads almost straight for the minimum.

# %%
start = (-4.0, 1.0)
intro_paths = {
    "gradient descent, lr=0.09": optimize_2d(valley, start, "gd", steps=40, lr=0.09),
    "momentum 0.8, lr=0.02": optimize_2d(valley, start, "sgd", steps=40, lr=0.02, momentum=0.8),
    "Adam, lr=0.3": optimize_2d(valley, start, "adam", steps=40, lr=0.3),
}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plot_paths(valley, intro_paths, xlim=(-4.5, 1.5), ylim=(-1.5, 1.5), minimum=(0, 0), ax=axes[0],
           title="40 steps on the valley $\\frac{1}{2}(x^2 + 20y^2)$")
for name, path in intro_paths.items():
    axes[1].semilogy(losses_along(valley, path), label=name)
axes[1].set(title="loss along each path", xlabel="step", ylabel="f(x, y)  (log scale)")
axes[1].legend()
axes[1].grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Gradient descent and the step-size limit $2/L$
#
# Gradient descent moves the parameters $\theta$ against the gradient of the loss $f$:
#
# $$\theta_{t+1} = \theta_t - \eta\, \nabla f(\theta_t),$$
#
# where $\eta > 0$ is the **learning rate** (学习率) or step size, and $t$ counts the steps.
#
# Take a quadratic, $f(\theta) = \tfrac12\, \theta^\top A\, \theta$ with $A$ symmetric and
# positive definite. Its gradient is $A\theta$, so one step multiplies $\theta$ by the
# matrix $(I - \eta A)$. Along an eigenvector of $A$ with eigenvalue (curvature)
# $\lambda_i$, the coordinate is multiplied by $1 - \eta\lambda_i$ at every step. It
# shrinks only if $|1 - \eta\lambda_i| < 1$, that is $0 < \eta < 2/\lambda_i$, for
# every $i$. So gradient descent converges exactly when
#
# $$\eta < \frac{2}{L}, \qquad L = \lambda_{\max}(A),$$
#
# where $L$ is the largest curvature (for any smooth loss, $L$ bounds how fast the
# gradient can change). The *slowest* direction, curvature $\mu = \lambda_{\min}$,
# shrinks by $1 - \eta\mu$ per step: with $\eta$ capped by $2/L$, progress along it is
# governed by the **condition number** (条件数) $\kappa = L/\mu$. Our valley has $L = 20$,
# $\mu = 1$, $\kappa = 20$, so the limit is $\eta < 0.1$.

# %%
L = 20.0
rates = [0.02, 0.07, 0.095, 0.105]
fig, ax = plt.subplots(figsize=(7, 4))
gd_paths = {}
for lr in rates:
    gd_paths[lr] = optimize_2d(valley, start, "gd", steps=60, lr=lr)
    ax.semilogy(losses_along(valley, gd_paths[lr]), label=f"lr = {lr}  ({lr * L:.2f} / L)")
ax.axhline(losses_along(valley, np.array([start]))[0], color="gray", ls=":", label="starting loss")
ax.set(title="gradient descent on the valley: the limit is lr < 2/L = 0.1",
       xlabel="step", ylabel="f(x, y)  (log scale)")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# Just below the limit ($\eta = 0.095$) the steep coordinate flips sign at every step
# but shrinks; just above it ($\eta = 0.105$) it flips *and grows*: the loss explodes.
# The theory predicts the factor per step exactly, so we can check it:

# %%
for lr in rates:
    y = gd_paths[lr][:, 1]
    bml.check(y[11] / y[10], 1 - lr * L, f"y shrink factor per step at lr={lr}")

# %% [markdown]
# ## 3. Stochastic gradient descent: noise from minibatches
#
# With data, the loss is an average over $n$ examples, $f(\theta) = \frac1n\sum_{i=1}^n
# \ell_i(\theta)$. **SGD** (随机梯度下降) estimates the gradient from a random minibatch $B$ of $|B|$
# examples, $g_t = \frac{1}{|B|}\sum_{i\in B}\nabla \ell_i(\theta_t)$, and takes the same
# step $\theta_{t+1} = \theta_t - \eta\, g_t$. The estimate is right on average
# ($\mathbb{E}[g_t] = \nabla f$), and its variance falls like $1/|B|$ (for examples drawn
# independently): four times the batch halves the noise.
#
# We fit a line $\hat y = w x + b$ to 1,000 noisy points. With two parameters we can
# draw the whole loss surface and watch SGD wander on it.

# %%
gen = torch.Generator().manual_seed(0)
n = 1000
X = 1.0 + torch.randn(n, generator=gen)
Y = 2.0 * X - 1.0 + 0.5 * torch.randn(n, generator=gen)


def mse(w, b, x=X, y=Y):
    """Mean squared error of the line (w, b); w, b may be tensors or NumPy grids."""
    if isinstance(w, np.ndarray):
        xs, ys = x.numpy(), y.numpy()
        return ((w[..., None] * xs + b[..., None] - ys) ** 2).mean(-1)
    return ((w * x + b - y) ** 2).mean()


def sgd_path(batch_size, steps=150, lr=0.05, seed=0):
    """SGD (our SGD class) on the line fit with minibatches drawn with replacement."""
    draw = torch.Generator().manual_seed(seed)
    wb = torch.tensor([-1.0, 2.0], requires_grad=True)
    opt = SGD([wb], lr=lr)
    path = [wb.detach().clone()]
    for _ in range(steps):
        idx = torch.randint(n, (batch_size,), generator=draw)
        opt.zero_grad()
        mse(wb[0], wb[1], X[idx], Y[idx]).backward()
        opt.step()
        path.append(wb.detach().clone())
    return torch.stack(path).numpy()


batch_paths = {f"batch {b}": sgd_path(b) for b in (1, 10, 100, n)}
design = torch.stack([X, torch.ones(n)], dim=1)
best = torch.linalg.lstsq(design, Y[:, None]).solution.flatten().tolist()  # least-squares (w, b)
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plot_paths(mse, batch_paths, xlim=(-1.5, 3.0), ylim=(-2.0, 2.5), minimum=best, ax=axes[0],
           title="SGD on the line fit: 150 steps, lr=0.05")
axes[0].set(xlabel="slope w", ylabel="intercept b")
for name, path in batch_paths.items():
    axes[1].semilogy([mse(torch.tensor(w), torch.tensor(b)).item() for w, b in path], label=name)
axes[1].set(title="full-data loss along each path", xlabel="step", ylabel="MSE (log scale)")
axes[1].legend()
axes[1].grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# Batch 1 jitters around the minimum and never settles; batch 1,000 (all the data,
# plain gradient descent) glides. The noise is measurable: at a fixed point, draw
# many minibatch gradients and look at their spread.

# %%
def gradient_spread(batch_size, draws=400, seed=1):
    """Standard deviation (over draws) of the minibatch gradient's slope component."""
    draw = torch.Generator().manual_seed(seed)
    w = torch.tensor(0.0, requires_grad=True)
    grads = []
    for _ in range(draws):
        idx = torch.randint(n, (batch_size,), generator=draw)
        (g,) = torch.autograd.grad(mse(w, torch.tensor(0.0), X[idx], Y[idx]), w)
        grads.append(g.item())
    return float(np.std(grads))


sizes = [1, 4, 16, 64, 256]
spread = [gradient_spread(b) for b in sizes]
fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(sizes, spread, "o-", label="measured")
ax.loglog(sizes, spread[0] / np.sqrt(sizes), "k--", label=r"$\propto 1/\sqrt{|B|}$")
ax.set(title="minibatch gradient noise at w = b = 0", xlabel="batch size |B|",
       ylabel="std of the gradient")
ax.legend()
ax.grid(alpha=0.3, which="both")
plt.show()
bml.check(spread[0] / spread[4], np.sqrt(256), "noise ratio batch 1 / batch 256", rtol=0.2)

# %% [markdown]
# ## 4. Momentum
#
# In the valley of section 1, consecutive gradients across the valley point in
# opposite directions, while those along it agree. **Momentum** (动量) keeps a running sum of
# past gradients, a *velocity* $u$ (PyTorch calls it the momentum buffer), and steps
# along it:
#
# $$u_t = \beta\, u_{t-1} + (1 - \tau)\, g_t, \qquad \theta_{t+1} = \theta_t - \eta\, u_t,$$
#
# with the momentum coefficient $\beta \in [0, 1)$ (typically 0.9; PyTorch's `momentum`),
# dampening $\tau$ (usually 0) and $u_1 = g_1$. Opposite gradients cancel in $u$; agreeing
# ones add up. With a constant gradient $g$ the velocity tends to $g/(1-\beta)$: momentum
# 0.9 takes steps ten times longer than $\eta g$ on a steady slope. **Nesterov momentum** (Nesterov 动量)
# steps along $g_t + \beta\, u_t$ instead: a look at where the velocity is about to carry us.
# (In this chapter $\mu$ stays the smallest curvature of section 2, $b$ the intercept of
# section 3, and $v$ Adam's average of $g^2$ in section 5.)
#
# First the steady slope: on $f(x, y) = x + y$ the gradient is always $(1, 1)$.

# %%
def slope(x, y):
    return x + y


path = optimize_2d(slope, (0.0, 0.0), "sgd", steps=200, lr=0.01, momentum=0.9)
bml.check(path[-2, 0] - path[-1, 0], 0.01 / (1 - 0.9), "last step length with momentum 0.9")

# %% [markdown]
# Now the valley, at the same learning rate for all three:

# %%
momentum_paths = {
    "gradient descent": optimize_2d(valley, start, "gd", steps=60, lr=0.03),
    "momentum 0.8": optimize_2d(valley, start, "sgd", steps=60, lr=0.03, momentum=0.8),
    "Nesterov 0.8": optimize_2d(valley, start, "sgd", steps=60, lr=0.03, momentum=0.8, nesterov=True),
}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plot_paths(valley, momentum_paths, xlim=(-4.5, 1.5), ylim=(-1.5, 1.5), minimum=(0, 0), ax=axes[0],
           title="60 steps, lr = 0.03")
for name, path in momentum_paths.items():
    axes[1].semilogy(losses_along(valley, path), label=name)
axes[1].set(title="loss", xlabel="step", ylabel="f(x, y)  (log scale)")
axes[1].legend()
axes[1].grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% [markdown]
# Momentum overshoots and swings across the valley floor, but it travels along it
# much faster; Nesterov's look-ahead damps the swings. Our `SGD` is written from the
# equations above; PyTorch's `torch.optim.SGD` must give the same path:

# %%
for name, hyper in [("momentum", dict(momentum=0.8)), ("Nesterov", dict(momentum=0.8, nesterov=True)),
                    ("dampening", dict(momentum=0.8, dampening=0.5))]:
    ours = optimize_2d(rosenbrock, (-1.0, 1.5), SGD, steps=200, lr=1e-3, **hyper)
    theirs = optimize_2d(rosenbrock, (-1.0, 1.5), torch.optim.SGD, steps=200, lr=1e-3, **hyper)
    bml.check(bool(np.abs(ours - theirs).max() < 1e-12), True,
              f"SGD with {name} follows torch.optim.SGD (difference < 1e-12)")

# %% [markdown]
# ## 5. Adam: moving averages of the gradient and its square
#
# Adam keeps two **exponential moving averages** (指数移动平均), EMAs, per parameter: of the
# gradient $g_t$ and of its elementwise square $g_t^2$,
#
# $$m_t = \beta_1\, m_{t-1} + (1-\beta_1)\, g_t, \qquad v_t = \beta_2\, v_{t-1} + (1-\beta_2)\, g_t^2,$$
#
# starting from $m_0 = v_0 = 0$. Here $\beta_1$ (typically 0.9) and $\beta_2$ (typically
# 0.999) set how long the memory is: about $1/(1-\beta)$ steps, so 10 steps for $m$ and
# 1,000 for $v$. $m_t$ estimates the mean gradient (like momentum), $v_t$ its mean
# square. The step divides one by the square root of the other,
#
# $$\theta_{t+1} = \theta_t - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon},$$
#
# so every coordinate moves by about $\eta$ whatever the scale of its gradients
# ($\epsilon \approx 10^{-8}$ only prevents division by zero). The hats are the
# **bias correction** (偏差校正). Unrolling the recursion gives
# $m_t = (1-\beta_1)\sum_{i=1}^t \beta_1^{\,t-i} g_i$, whose weights sum to
# $1-\beta_1^t$, not 1: starting from zero biases $m_t$ towards zero. Dividing fixes it:
#
# $$\hat m_t = \frac{m_t}{1-\beta_1^t}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^t}.$$
#
# Watch the bias on a noisy gradient whose true mean is 1:

# %%
def ema(values, beta):
    """The raw EMA m_t = beta m_{t-1} + (1 - beta) x_t from m_0 = 0, and its bias-corrected m_t / (1 - beta^t)."""
    raw, corrected, m = [], [], 0.0
    for t, x in enumerate(values, start=1):
        m = beta * m + (1 - beta) * x
        raw.append(m)
        corrected.append(m / (1 - beta**t))
    return np.array(raw), np.array(corrected)


rng = np.random.default_rng(0)
g = 1.0 + 0.3 * rng.standard_normal(300)
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for ax, beta, values, label in [(axes[0], 0.9, g, "g"), (axes[1], 0.999, g**2, "g²")]:
    raw, corrected = ema(values, beta)
    ax.plot(values, ".", ms=2, color="lightgray", label=f"{label}_t")
    ax.plot(raw, label=f"raw EMA (β={beta})")
    ax.plot(corrected, label="bias-corrected")
    ax.axhline(np.mean(values), color="k", ls=":", label=f"mean of {label}")
    ax.set(title=f"EMA of {label} with β = {beta}", xlabel="step t", ylim=(0, 2))
    ax.legend(loc="lower right", fontsize=8)
axes[0].set_ylabel("value")
plt.tight_layout()
plt.show()

# %% [markdown]
# With $\beta_2 = 0.999$ the raw average of $g^2$ is still far too small after 300
# steps. What does that do to the steps? Here is Adam written out from scratch, with
# a switch for each correction, on the Rosenbrock function.

# %%
def adam_path(fn, start, lr=0.1, betas=(0.9, 0.999), eps=1e-8, steps=200,
              correct_m=True, correct_v=True):
    """Adam from the equations, on fn(x, y); returns the path (steps + 1, 2)."""
    beta1, beta2 = betas
    theta = torch.tensor(start, requires_grad=True)
    m = torch.zeros(2)
    v = torch.zeros(2)
    path = [theta.detach().clone()]
    for t in range(1, steps + 1):
        (g,) = torch.autograd.grad(fn(theta[0], theta[1]), theta)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t) if correct_m else m
        v_hat = v / (1 - beta2**t) if correct_v else v
        with torch.no_grad():
            theta -= lr * m_hat / (v_hat.sqrt() + eps)
        path.append(theta.detach().clone())
    return torch.stack(path).numpy()


ours = adam_path(rosenbrock, (-1.5, 2.0), lr=0.05)
theirs = optimize_2d(rosenbrock, (-1.5, 2.0), torch.optim.Adam, steps=200, lr=0.05)
bml.check(bool(np.abs(ours - theirs).max() < 1e-9), True, "from-scratch Adam follows torch.optim.Adam")
library = optimize_2d(rosenbrock, (-1.5, 2.0), "adam", steps=200, lr=0.05)
bml.check(bool(np.abs(library - theirs).max() < 1e-9), True, "bigmodel_lib Adam follows torch.optim.Adam")

# %% [markdown]
# What goes wrong without the corrections? Take a round well, 1 deep, in a flat plain,
# $f(x, y) = 1 - e^{-((x-1)^2 + (y-1)^2)/0.5}$, start on its slope at $(0, 0.2)$ and run
# Adam with lr = 0.1, with and without the corrections.

# %%
def well(x, y):
    """A round well of depth 1 centred at (1, 1), in a flat plain (tensors or arrays)."""
    exp = torch.exp if isinstance(x, torch.Tensor) else np.exp
    return 1 - exp(-((x - 1) ** 2 + (y - 1) ** 2) / 0.5)


variants = {
    "Adam (both corrections)": adam_path(well, (0.0, 0.2), lr=0.1, steps=300),
    "no bias correction": adam_path(well, (0.0, 0.2), lr=0.1, steps=300, correct_m=False, correct_v=False),
    "m corrected, v not": adam_path(well, (0.0, 0.2), lr=0.1, steps=300, correct_v=False),
}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
for name, path in variants.items():
    axes[0].semilogy(np.abs(np.diff(path[:, 0])) / 0.1 + 1e-12, label=name)
    axes[1].plot(losses_along(well, path), label=name)
axes[0].axhline(1.0, color="gray", ls=":", label="the step lr asks for")
axes[0].set(title="step length along x, in units of lr", xlabel="step",
            ylabel="|Δx| / lr  (log scale)", ylim=(1e-4, 100))
axes[1].set(title="loss: the well is at 0, the plain at 1", xlabel="step", ylabel="f(x, y)")
for ax in axes:
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()
for name, path in variants.items():
    print(f"{name:<24} ends at ({path[-1, 0]:.2f}, {path[-1, 1]:.2f}), loss {losses_along(well, path)[-1]:.3f}")

# %% [markdown]
# Without correcting $v$, the denominator $\sqrt{v_t}$ starts $\sqrt{1-\beta_2^t}$ times
# too small ($\sqrt{0.001} \approx 0.03$ at $t = 1$), so the first step is about 30
# times longer than lr: the "m corrected, v not" run jumps clean over the well onto the
# flat plain. There the gradient is almost zero, while $v$ still remembers the large
# gradients of the first steps (its memory is ~1,000 steps), so the steps shrink to
# nothing and it stays stuck. Removing *both* corrections partly cancels
# ($0.1/0.03 \approx 3$ times too long at $t = 1$) and happens to work here, but the
# step length is then off by a factor that drifts for thousands of steps: the learning
# rate you tuned is not the one you get. With both corrections the first step is
# exactly lr per coordinate:

# %%
first_step = variants["Adam (both corrections)"][1] - variants["Adam (both corrections)"][0]
bml.check(np.abs(first_step), [0.1, 0.1], "first Adam step, per coordinate", rtol=1e-6)
first_bad = variants["m corrected, v not"][1] - variants["m corrected, v not"][0]
bml.check(np.abs(first_bad), [0.1 / np.sqrt(1 - 0.999)] * 2, "first step without correcting v", rtol=1e-4)

# %% [markdown]
# ## 6. AdamW: weight decay is not an L2 term under Adam
#
# **Weight decay** (权重衰减) shrinks the weights a little at every step. For plain SGD it is the
# same as adding an L2 penalty $\frac\lambda2\lVert\theta\rVert^2$ to the loss: the
# penalty's gradient $\lambda\theta$ joins $g$ and the step subtracts $\eta\lambda\theta$.
# Under Adam the two differ. `Adam(weight_decay=λ)` adds $\lambda\theta$ to the
# gradient, which then passes through the division by $\sqrt{\hat v_t}$: weights with
# large gradients are hardly decayed, weights with small ones strongly. **AdamW** (解耦权重衰减 Adam)
# (Loshchilov & Hutter, 2019 [ref:loshchilov2019]) *decouples* the decay from the gradient:
#
# $$\theta_{t+1} = \theta_t - \eta\lambda\,\theta_t - \eta\,\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon},$$
#
# so every weight shrinks at the same rate, whatever its gradients. A test that makes
# the difference visible: a loss that is 100 times steeper in $x$ than in $y$,
# $f(x, y) = \frac12\,(100\,(x-1)^2 + (y-1)^2)$, minimum at $(1, 1)$, with $\lambda = 1$.

# %%
def lopsided(x, y):
    return 0.5 * (100 * (x - 1) ** 2 + (y - 1) ** 2)


decay_paths = {
    "Adam, no decay": optimize_2d(lopsided, (0.0, 0.0), "adam", steps=300, lr=0.05),
    "Adam + L2 (weight_decay=1)": optimize_2d(lopsided, (0.0, 0.0), "adam", steps=300, lr=0.05, weight_decay=1.0),
    "AdamW (weight_decay=1)": optimize_2d(lopsided, (0.0, 0.0), "adamw", steps=300, lr=0.05, weight_decay=1.0),
}
ax = plot_paths(lopsided, decay_paths, xlim=(-0.1, 1.2), ylim=(-0.1, 1.2), minimum=(1, 1),
                title="300 steps of Adam with an L2 term vs AdamW")
ridge = (100 / (100 + 1.0), 1 / (1 + 1.0))  # minimum of f + (1/2)·|θ|²
ax.plot(*ridge, "X", color="C1", ms=10, label="minimum of f + ½|θ|²")
ax.legend(fontsize=8)
plt.show()
for name, path in decay_paths.items():
    print(f"{name:<28} ends at x = {path[-1, 0]:.3f}, y = {path[-1, 1]:.3f}")

# %% [markdown]
# Adam + L2 goes to the minimum of the penalised loss: $x$, with its steep gradients,
# is barely shrunk (0.99), $y$ is halved. AdamW shrinks both coordinates by the same
# factor: Adam does not care about the scale of a gradient, and the decoupled decay
# does not either. That uniform, predictable shrinkage is why AdamW is the default for
# training transformers. Both match PyTorch:

# %%
for name, ours_cls, torch_cls in [("Adam + L2", Adam, torch.optim.Adam), ("AdamW", AdamW, torch.optim.AdamW)]:
    ours = optimize_2d(lopsided, (0.0, 0.0), ours_cls, steps=300, lr=0.05, weight_decay=1.0)
    theirs = optimize_2d(lopsided, (0.0, 0.0), torch_cls, steps=300, lr=0.05, weight_decay=1.0)
    bml.check(bool(np.abs(ours - theirs).max() < 1e-9), True, f"{name} follows torch.optim")

# %% [markdown]
# ## 7. Side by side on the Rosenbrock valley
#
# The Rosenbrock function $f(x, y) = (1-x)^2 + 100\,(y-x^2)^2$ is a classic test: a
# curved, narrow valley whose floor is almost flat, with its minimum at $(1, 1)$. Its
# curvature across the valley reaches about 1,000 near the minimum, so plain gradient
# descent needs a learning rate below about $2/1000$, and then crawls along the floor.
# 1,000 steps each, from $(-1.5, 2)$:

# %%
rosen_paths = {
    "gradient descent, lr=1e-3": optimize_2d(rosenbrock, (-1.5, 2.0), "gd", steps=1000, lr=1e-3),
    "momentum 0.9, lr=1e-3": optimize_2d(rosenbrock, (-1.5, 2.0), "sgd", steps=1000, lr=1e-3, momentum=0.9),
    "Nesterov 0.9, lr=1e-3": optimize_2d(rosenbrock, (-1.5, 2.0), "sgd", steps=1000, lr=1e-3, momentum=0.9,
                                         nesterov=True),
    "Adam, lr=0.1": optimize_2d(rosenbrock, (-1.5, 2.0), "adam", steps=1000, lr=0.1),
}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
plot_paths(rosenbrock, rosen_paths, xlim=(-2, 2), ylim=(-1, 3), minimum=(1, 1), ax=axes[0],
           title="1,000 steps on Rosenbrock")
for name, path in rosen_paths.items():
    axes[1].semilogy(losses_along(rosenbrock, path) + 1e-16, label=name)
axes[1].set(title="loss along each path", xlabel="step", ylabel="f(x, y)  (log scale)")
axes[1].legend(fontsize=8)
axes[1].grid(alpha=0.3)
plt.tight_layout()
plt.show()
for name, path in rosen_paths.items():
    print(f"{name:<26} ends at ({path[-1, 0]:.3f}, {path[-1, 1]:.3f}), loss {losses_along(rosenbrock, path)[-1]:.1e}")

# %% [markdown]
# Gradient descent is still far from the minimum after 1,000 steps: the learning rate
# that keeps it stable across the valley is tiny along it. Momentum and Nesterov build
# up speed along the floor; Adam, after a wobbly start, follows the valley because it
# scales each coordinate separately. No optimizer wins everywhere: compare them on
# your own surfaces in the widget below.

# %% [markdown]
# ## 8. Checked on a real network
#
# The library's `SGD`, `Adam` and `AdamW` are `torch.optim.Optimizer` subclasses: they
# work in any PyTorch training loop, with learning-rate schedulers and checkpoints.
# Here each trains a small MLP for 200 steps next to its PyTorch twin, in float64,
# and we compare every weight at the end.

# %%
def make_mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 1))


data_gen = torch.Generator().manual_seed(1)
inputs = torch.randn(256, 4, generator=data_gen)
targets = torch.sin(inputs.sum(1, keepdim=True))


def train_mlp(make_optimizer, steps=200):
    model = make_mlp()
    opt = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ((model(inputs) - targets) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses


pairs = {
    "SGD, Nesterov": (lambda p: SGD(p, lr=0.05, momentum=0.9, nesterov=True),
                      lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True)),
    "Adam + L2": (lambda p: Adam(p, lr=1e-2, weight_decay=1e-3),
                  lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=1e-3)),
    "AdamW": (lambda p: AdamW(p, lr=1e-2), lambda p: torch.optim.AdamW(p, lr=1e-2)),
}
for name, (ours, theirs) in pairs.items():
    model_a, losses_a = train_mlp(ours)
    model_b, losses_b = train_mlp(theirs)
    diff = max((p - q).abs().max().item() for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True))
    print(f"{name:<14} loss {losses_a[0]:.3f} -> {losses_a[-1]:.4f}")
    bml.check(diff < 1e-7, True, f"{name}: every weight within 1e-7 of torch.optim's")

# %% [markdown]
# ## 9. Explore: pick an optimizer, watch its path
#
# Choose a surface, an optimizer and its hyperparameters; the path and the loss curve
# redraw (sliders apply when you release them). One slider serves as SGD's momentum
# $\beta$ and as Adam's $\beta_1$: both set how long the running average of gradients
# remembers. Things to try:
# - SGD with momentum 0 (plain gradient descent) on the valley, lr just under and just
#   over 0.1 (the $2/L$ limit);
# - SGD with momentum 0.9 on Rosenbrock at lr = 0.001, then tick Nesterov;
# - Adam with $\beta_1 = 0$ (no averaging of $g$, only the per-coordinate scaling);
# - Adam and AdamW with weight decay 0.5 on the valley: where does each one stop?

# %% tags=["nbval-ignore-output"]
import ipywidgets as widgets

SURFACES = {
    "Rosenbrock": dict(fn=rosenbrock, start=(-1.5, 2.0), xlim=(-2, 2), ylim=(-1, 3), minimum=(1, 1)),
    "ill-conditioned valley": dict(fn=valley, start=(-4.0, 1.0), xlim=(-4.5, 1.5), ylim=(-1.5, 1.5),
                                   minimum=(0, 0)),
}


def explore(surface="Rosenbrock", optimizer="Adam", lr=0.1, momentum=0.9, nesterov=False,
            beta2=0.999, weight_decay=0.0, steps=500):
    s = SURFACES[surface]
    if optimizer == "SGD + momentum":
        name, hyper = "sgd", dict(lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)
        label = f"SGD, lr={lr:.4f}, momentum={momentum:.2f}{', Nesterov' if nesterov else ''}"
    else:
        name, hyper = optimizer.lower(), dict(lr=lr, betas=(momentum, beta2), weight_decay=weight_decay)
        label = f"{optimizer}, lr={lr:.4f}, β=({momentum:.2f}, {beta2:.4f})"
    label += f", wd={weight_decay:.2f}" if weight_decay else ""
    try:
        path = optimize_2d(s["fn"], s["start"], name, steps=steps, **hyper)
    except ValueError as err:
        print("ValueError:", err)
        return
    finite = np.all(np.isfinite(path), axis=1) & (np.abs(path).max(axis=1) < 1e6)
    shown = path if finite.all() else path[: np.argmin(finite)]
    note = "" if finite.all() else f", diverged at step {len(shown)}"
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    plot_paths(s["fn"], {label: shown}, xlim=s["xlim"], ylim=s["ylim"], minimum=s["minimum"],
               ax=axes[0], title=f"{surface}: {steps} steps{note}")
    losses = losses_along(s["fn"], shown)
    axes[1].semilogy(losses + 1e-16)
    axes[1].set(title=f"loss (final {losses[-1]:.2e})", xlabel="step", ylabel="f(x, y)  (log scale)",
                xlim=(0, steps))
    axes[1].grid(alpha=0.3)
    plt.tight_layout()
    plt.show()


def slider(value, low, high, step, description, fmt):
    return widgets.FloatSlider(value=value, min=low, max=high, step=step, description=description,
                               readout_format=fmt, continuous_update=False)


controls = dict(
    surface=widgets.Dropdown(options=list(SURFACES), description="surface"),
    optimizer=widgets.Dropdown(options=["SGD + momentum", "Adam", "AdamW"], value="Adam",
                               description="optimizer"),
    lr=widgets.FloatLogSlider(value=0.1, base=10, min=-4, max=0, step=0.1, description="lr",
                              readout_format=".4f", continuous_update=False),
    momentum=slider(0.9, 0.0, 0.99, 0.01, "momentum / β₁", ".2f"),
    nesterov=widgets.Checkbox(value=False, description="Nesterov (SGD)"),
    beta2=slider(0.999, 0.9, 0.9999, 0.0001, "β₂ (Adam)", ".4f"),
    weight_decay=slider(0.0, 0.0, 1.0, 0.05, "weight decay", ".2f"),
    steps=widgets.IntSlider(value=500, min=10, max=1000, step=10, description="steps",
                            continuous_update=False),
)
for control in controls.values():
    control.style = {"description_width": "110px"}

# %% tags=["nbval-ignore-output"]
widgets.interact(explore, **controls);

# %% [markdown]
# ## 10. Pitfalls
#
# **Forgetting `zero_grad()`.** PyTorch *adds* each `backward()` into `.grad`. Without
# `optimizer.zero_grad()` the gradient of step $t$ is the sum of all gradients so far,
# a runaway momentum that the learning rate was never tuned for.

# %%
def train_line(zero_grad, steps=60, lr=0.1):
    wb = torch.tensor([-1.0, 2.0], requires_grad=True)
    opt = SGD([wb], lr=lr)
    losses = []
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()
        loss = mse(wb[0], wb[1])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


wrong, right = train_line(zero_grad=False), train_line(zero_grad=True)
fig, ax = plt.subplots(figsize=(6.4, 3.6))
ax.semilogy(wrong, label="without zero_grad (gradients pile up)")
ax.semilogy(right, label="with zero_grad")
ax.set(title="line fit with SGD, lr = 0.1", xlabel="step", ylabel="MSE (log scale)")
ax.legend()
ax.grid(alpha=0.3)
plt.show()
print(f"final loss without zero_grad: {wrong[-1]:.3g}; with it: {right[-1]:.3g}")

# %% [markdown]
# **Creating the optimizer inside the loop.** Adam's state ($m$, $v$, the step count)
# lives in the optimizer. A new optimizer at every step forgets it: every step becomes
# a "first step" of length $\eta$ per coordinate, with no averaging at all (sign
# descent), which cannot settle at the minimum. Create it once, before the loop, and
# save `optimizer.state_dict()` with the model when you checkpoint.

# %%
def train_valley(recreate, steps=200, lr=0.05):
    theta = torch.tensor([-4.0, 1.0], requires_grad=True)
    opt = Adam([theta], lr=lr)
    for _ in range(steps):
        if recreate:
            opt = Adam([theta], lr=lr)  # the mistake: fresh, empty state every step
        opt.zero_grad()
        valley(theta[0], theta[1]).backward()
        opt.step()
    return valley(theta[0], theta[1]).item()


print(f"loss after 200 Adam steps, optimizer re-created each step: {train_valley(True):.2e}")
print(f"loss after 200 Adam steps, one optimizer:                  {train_valley(False):.2e}")

# %% [markdown]
# **`Adam(weight_decay=...)` is not AdamW.** In PyTorch, too, `torch.optim.Adam`'s
# `weight_decay` is an L2 term (section 6). If a paper says "AdamW, weight decay 0.1",
# use `AdamW`.
#
# ## Exercises
#
# **Exercise 1 (the $2/L$ limit).** For $f(x, y) = \frac12(x^2 + 50y^2)$, what is the
# largest learning rate for which gradient descent converges? Check it by running
# `optimize_2d(..., "gd", ...)` from $(1, 1)$ for 500 steps at 0.98 and 1.02 times your
# value: the first should end near 0, the second far away.
#
# **Exercise 2 (Adam ignores gradient scale).** From $(3, -2)$, take *one* Adam step
# with lr = 0.1 on $f(x, y) = 1000x^2 + 0.001y^2$. Predict the new point without
# running anything, then check with `optimize_2d`.
#
# **Exercise 3 (bias correction).** Feed the constant sequence $g_t = 5$ to an EMA with
# $\beta = 0.99$. Show that the corrected estimate $m_t/(1-\beta^t)$ is exactly 5 at
# every step, and find the raw $m_t$ at $t = 10$ in closed form.

# %% [markdown]
# ### Solutions
# Expand the hidden cell to see them.

# %% jupyter={"source_hidden": true}
# Exercise 1: the curvatures are 1 and 50, so L = 50 and the limit is 2 / L = 0.04.
def steep(x, y):
    return 0.5 * (x**2 + 50 * y**2)


limit = 2 / 50
bml.check(limit, 0.04, "largest stable learning rate")
below = optimize_2d(steep, (1.0, 1.0), "gd", steps=500, lr=0.98 * limit)
above = optimize_2d(steep, (1.0, 1.0), "gd", steps=500, lr=1.02 * limit)
bml.check(bool(np.abs(below[-1]).max() < 1e-3), True, "just below the limit: converged")
bml.check(bool(np.abs(above[-1]).max() > 1e3), True, "just above the limit: diverged")

# Exercise 2: m̂_1 = g_1 and v̂_1 = g_1², so the first step is lr·g/|g| = lr·sign(g) per
# coordinate (up to eps). At (3, -2), ∂f/∂x = 2000·x > 0 and ∂f/∂y = 0.002·y < 0:
# x goes down by 0.1 and y goes up by 0.1, although the gradients differ by a factor 10^6.
predicted = np.array([3.0 - 0.1, -2.0 + 0.1])
one_step = optimize_2d(lambda x, y: 1000 * x**2 + 0.001 * y**2, (3.0, -2.0), "adam", steps=1, lr=0.1)
bml.check(one_step[1], predicted, "point after one Adam step", rtol=1e-6)

# Exercise 3: m_t = (1 - beta^t)·5, so m_t / (1 - beta^t) = 5 exactly.
raw, corrected = ema([5.0] * 50, 0.99)
bml.check(corrected.round(12), [5.0] * 50, "corrected EMA of a constant")
bml.check(raw[9], 5 * (1 - 0.99**10), "raw EMA at t = 10")

# %% [markdown]
# ## Summary
# - Gradient descent: $\theta \leftarrow \theta - \eta\nabla f$; stable only for $\eta < 2/L$,
#   slow when the condition number $L/\mu$ is large.
# - SGD uses minibatch gradients: unbiased, with noise that falls like $1/\sqrt{|B|}$.
# - Momentum averages gradients: zig-zags cancel, steady slopes speed up by $1/(1-\beta)$.
# - Adam divides an EMA of $g$ by the root of an EMA of $g^2$, corrected for their start
#   at zero: each coordinate moves by about $\eta$, whatever its gradient's scale.
# - AdamW decays weights directly ($\theta \leftarrow \theta - \eta\lambda\theta$); Adam's
#   `weight_decay` is an L2 term whose effect depends on the gradient history.
# - `bigmodel_lib.optim.SGD / Adam / AdamW` match `torch.optim` and work in any training loop.
#
# **Further reading:**
# G. Goh, [Why momentum really works](https://distill.pub/2017/momentum/) (Distill, 2017) [ref:goh2017];
# D. Kingma, J. Ba, [Adam: a method for stochastic optimization](https://arxiv.org/abs/1412.6980) (2015) [ref:kingma2015];
# I. Loshchilov, F. Hutter, [Decoupled weight decay regularization](https://arxiv.org/abs/1711.05101) (2019) [ref:loshchilov2019];
# S. Ruder, [An overview of gradient descent optimization algorithms](https://arxiv.org/abs/1609.04747) (2016) [ref:ruder2016];
# [torch.optim documentation](https://pytorch.org/docs/stable/optim.html).
# Next: chapter 04, regularization: L1, L2, weight decay and dropout.
