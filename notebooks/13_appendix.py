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
# # 13 · Appendix 附录: glossary, chapter summaries, errata, FAQ map, references
# *中文：附录——术语表、每章要点、原文勘误、常见问题对照与参考文献*
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/bigmodel-course/bigmodel-course/blob/main/notebooks/13_appendix.ipynb)
#
# Many learners reach this course from a Chinese article on AI big models, the source
# the course implements, and think about the subject in Chinese. This appendix is the
# bridge between the two: every term in both languages, every chapter in five Chinese
# lines, every error of the article with its correction and the chapter that shows it
# running, every question of its FAQ mapped to code, and every work the course cites.
#
# **You will learn**
# - to find any term of the course by its English or its Chinese name (术语表), with the
#   chapter that defines it and a one-line definition in each language;
# - what each chapter teaches, in five Chinese bullet points (每章要点);
# - which formulas, code, numbers and citations of the source article are wrong, what is
#   right, and where the course shows it, four of them run here (原文勘误);
# - which chapter answers each FAQ question and each "future trend or challenge" of the
#   article with code (常见问题对照);
# - where each cited work comes from: authors, venue, arXiv id or DOI (参考文献).

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
import html
from pathlib import Path

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import Markdown, display

from bigmodel_lib import cjk, glossary, references
from bigmodel_lib.economics import gpu_hours, training_flops
from bigmodel_lib.optim import Adam

NOTEBOOKS = glossary.GLOSSARY_CSV.parent.parent / "notebooks"  # the course's chapters, wherever it runs
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))

# %% tags=["nbval-ignore-output"]
# Chinese in figures needs a font with Chinese glyphs; the optional extra installs one
# (pip install -e ".[zh]"). Without it, figures keep their English labels.
FONT = cjk.use_cjk_font()
print(f"font for Chinese in figures: {FONT or 'none found, figures use English labels'}")

# %% [markdown]
# ## 1. Glossary 术语表
#
# `data/glossary.csv` holds one row per technical term the chapters define: the English
# term, its standard Chinese name, the chapter that defines it, and a one-line definition
# in each language. `bigmodel_lib.glossary.lookup(term)` finds a row by either name. It
# ignores case and character width (NFKC turns full-width `ＡＤＡＭ` into `ADAM`), treats
# spaces, hyphens and underscores alike, accepts a plural, an adjective or participle for
# its noun ("k-anonymous", "calibrated") and British spellings ("-ise"), and takes an
# abbreviation that closes the English definition ("SGD", "MSE"). A miss says so and
# suggests the closest names.
#
# **The rule that keeps the glossary complete.** A chapter *introduces* a term where its
# markdown writes the term in bold immediately followed by the Chinese name in
# parentheses: `**self-attention** (自注意力) is …` (a citation may follow the Chinese name
# after a semicolon or comma: `**k-anonymous** (k-匿名; Sweeney 2002)`). A test (`tests/test_glossary.py`)
# collects every such pair from every chapter and fails when the term is not in the
# glossary or the glossary gives it another Chinese name, and when one Chinese name
# stands for two different terms. Bold text without a Chinese name after it (emphasis,
# **Exercise 1.**) introduces nothing.

# %%
for query in ["Dropout", "随机失活", "ＣＲＯＳＳ－ＥＮＴＲＯＰＹ", "Bayesian optimisation", "SGD", "logits"]:
    entry = glossary.lookup(query)
    print(f"{query!r:>26} → {entry.term} ({entry.zh}), chapter {entry.chapter}")
print()
print(glossary.lookup("交叉熵"))
print()
for miss in ["dropot", "注意"]:
    try:
        glossary.lookup(miss)
    except KeyError as error:
        print(error)
bml.check(glossary.lookup("随机失活").term, "dropout", "lookup by the Chinese name")
bml.check(glossary.lookup("ｄｒｏｐｏｕｔ") == glossary.lookup("DROPOUT"), True, "case and width do not matter")

# %% [markdown]
# The same rule, run over every chapter: each pair `**term** (中文)` a chapter writes is
# looked up, and its Chinese name compared with the glossary's.

# %% tags=["nbval-ignore-output"]
# (The counts grow whenever a chapter introduces a term: their output is not fixed, the check is.)
problems, introduced = [], {}
for path in CHAPTERS:
    pairs = glossary.introduced_terms(glossary.chapter_markdown(path))
    introduced[path.name[:2]] = pairs
    for term, zh in pairs:
        try:
            if glossary.normalize(glossary.lookup(term).zh) != glossary.normalize(zh):
                problems.append(f"{path.name}: **{term}** ({zh}), the glossary says {glossary.lookup(term).zh}")
        except KeyError as error:
            problems.append(f"{path.name}: {error}")
print("terms introduced per chapter:", {ch: len(pairs) for ch, pairs in introduced.items()})
bml.check(problems, [], "every introduced term is in the glossary with the same Chinese name")

# %% [markdown]
# ### Search the glossary
#
# Type an English or a Chinese name, or part of one (`attention`, `注意力`, `梯度`,
# `precision`): the table lists the matching terms, exact matches first, with the
# chapter to read. Look for the same idea under its two names, and for where a term
# first appears in the course.

# %% tags=["nbval-ignore-output"]
search_box = widgets.Text(value="注意力", placeholder="English or 中文, e.g. dropout / 梯度",
                          description="Search 搜索", continuous_update=True,
                          layout=widgets.Layout(width="420px"))
results = widgets.HTML()


def show_matches(change=None):
    query = search_box.value
    if not query.strip():
        results.value = "<i>Type a term in English or 中文.</i>"
        return
    hits = glossary.search(query, limit=12)
    if not hits:  # an abbreviation ("SGD") or a plural is found by lookup, not by search
        try:
            hits = [glossary.lookup(query)]
        except KeyError as error:
            results.value = f"<p>{html.escape(str(error))}</p>"
            return
    table = pd.DataFrame([(e.term, e.zh, e.chapter, e.definition, e.definition_zh) for e in hits],
                         columns=["term", "中文", "chapter", "definition", "定义"])
    results.value = table.to_html(index=False, escape=True)


search_box.observe(show_matches, names="value")
show_matches()
widgets.VBox([search_box, results])

# %% [markdown]
# The whole glossary, by chapter. The figure counts the terms each chapter defines.

# %% tags=["nbval-ignore-output"]
table = pd.DataFrame(glossary.load_glossary()).rename(
    columns={"zh": "中文", "definition_zh": "定义"}).sort_values(["chapter", "term"], key=lambda s: s.str.lower())
bml.check(len(table) >= 150, True, "the glossary has at least 150 terms")
bml.check(sorted(table.chapter.unique()), [f"{n:02d}" for n in range(13)], "every chapter 00-12 has terms")

per_chapter = table.groupby("chapter").size()
fig, ax = plt.subplots(figsize=(8, 3.2))
ax.bar(per_chapter.index, per_chapter.values, color="tab:blue")
ax.set_xlabel(cjk.zh_or_en("章节", "chapter"))
ax.set_ylabel(cjk.zh_or_en("术语数", "terms"))
ax.set_title(cjk.zh_or_en(f"术语表：共 {len(table)} 个术语", f"Glossary: {len(table)} terms by chapter"))
plt.tight_layout()
plt.show()
with pd.option_context("display.max_rows", None, "display.max_colwidth", None):
    display(table.reset_index(drop=True))


# %% [markdown]
# ## 2. 每章要点 (five points per chapter, in Chinese)
#
# ### 00 · 环境配置与课程导览
# - 环境检查逐项打印 OK 或 FAIL；离线模型先校验 sha256 再加载，默认配置从不联网。
# - 两种运行配置档：default 面向笔记本 CPU（CI 也用它），gpu 在有 CUDA 时自动启用，数据和模型更大。
# - 交互控件：拖动滑块即重画图像，每章都有一个"探索"控件，并写明该观察什么。
# - 实时损失曲线在训练中原地刷新；自检 `bml.check` 把结果与可信参考对比，作为测试运行时出错即失败。
# - 在 Colab 上，第一个代码单元会克隆课程并安装库，保留 Colab 自带的 torch。
#
# ### 01 · 大模型与规模经济
# - "大"指参数多（数十亿以上）、层数深，并在海量语料上预训练；参数量可由真实配置精确数出（约 12·L·d² 加嵌入）。
# - 训练算力约为 6·N·D 次浮点运算：GPT-3 约 3.14×10²³ 次，而不是原文说的"数千到数万个时钟周期"。
# - 混合精度加 Adam 训练，每个参数约需 16 字节（权重、梯度、两个矩估计、fp32 主副本），激活另计。
# - 由峰值算力、模型算力利用率和每 GPU 小时价格，可算出训练天数与成本；价格是输入，会随时变化。
# - Chinchilla：固定算力下约每个参数 20 个词元最优；资本决定谁能训练大模型，隐私、偏见与监管风险在后续章节量化。
#
# ### 02 · 损失函数
# - 均方误差是高斯噪声下的最大似然，用于回归。
# - 交叉熵来自分类的最大似然：对真实类别的概率取 −log，公式对类别求和，独热标签只留下真实类别一项。
# - 用 log-softmax（对数求和指数技巧）计算，避免溢出；把对数几率直接交给 `cross_entropy`，不要先做 softmax。
# - 二元交叉熵应在对数几率上计算（`binary_cross_entropy_with_logits`），先 sigmoid 再取对数会在 float32 下出错。
# - GAN：判别器损失把真、假两部分相加；生成器损失只在生成样本上计算，非饱和形式 −log D(G(z)) 在训练初期梯度更大。
#
# ### 03 · 优化器
# - 梯度下降的步长受曲率限制：η < 2/L，否则发散；条件数大时路径呈之字形。
# - SGD 用小批量估计梯度，噪声随批次增大而减小；这种噪声也帮助离开鞍点。
# - 动量累积历史梯度，加速平稳方向、抑制振荡；Nesterov 在前瞻点取梯度。
# - Adam = 动量（梯度的一阶矩）+ RMSProp 式缩放（梯度平方的二阶矩），两者都作用于梯度而不是参数差，并需偏差校正。
# - AdamW 把权重衰减与梯度解耦；在 Adam 下 L2 惩罚不等于权重衰减，`Adam(weight_decay=...)` 不是 AdamW。
#
# ### 04 · 正则化
# - 过拟合看得见：训练误差持续下降，验证误差先降后升。
# - L2 惩罚 λ·Σw² 使权重收缩，L1 惩罚 λ·Σ|w| 使部分权重恰为零（软阈值）；λ 决定惩罚的强度，不可省略。
# - 在 SGD 下权重衰减等于 L2，在 Adam 下不等，应使用 AdamW。
# - 随机失活作用在激活上（作用在权重上的是 DropConnect），训练时保留的激活乘以 1/(1−p)，推理时用 `model.eval()` 关闭。
# - 早停：验证损失不再改善时停止，并恢复最佳一轮的权重。
#
# ### 05 · 训练循环
# - 五步：初始化一次，然后反复前向、计算损失、反向、更新，每次更新前清零梯度。
# - 二分类用一个对数几率配 sigmoid 与二元交叉熵，或两个对数几率配 softmax 与交叉熵，绝不用两个 sigmoid 输出。
# - 预处理（标准化、词表）只在训练集上拟合，否则数据泄漏使分数虚高；数据增强必须保持标签不变。
# - 小批量、学习率调度（阶梯衰减、余弦、预热加线性衰减），实时曲线与早停。
# - 检查点保存权重、优化器状态和随机状态，中断后可以精确恢复训练。
#
# ### 06 · 模型评估与模型选择
# - 类别不平衡时准确率会骗人：按类别看精确率、召回率和 F1，并区分宏平均与微平均。
# - 混淆矩阵显示模型把哪一类错当成哪一类；"每类准确率"含义不清，应报告每类召回率。
# - ROC 曲线与精确率-召回率曲线随阈值变化；正样本稀少时后者更有信息量。
# - k 折交叉验证让每个样本恰好验证一次，而不是一次训练/验证划分；分层折保持类别比例。
# - 网格、随机与贝叶斯搜索选择超参数；集成（如装袋法）平均多个模型，通常胜过其中任何一个。
#
# ### 07 · 从零开始的文本分类
# - 清洗、分词，只用训练集建立词表；词频服从齐普夫定律。
# - 填充与截断使一个批次的文本等长，长度分桶减少填充浪费。
# - 嵌入、双向 LSTM、掩码池化、线性分类器：一段文本只给一个预测。
# - 四类新闻要用 softmax 交叉熵，不能用二元损失；逐时间步的 Dense 层是另一个（更差的）模型。
# - 用每类报告和出错的样例评价模型，而不只看一个准确率。
#
# ### 08 · BERT 案例研究
# - 迁移学习：同一个网络，从预训练权重出发远胜从随机权重出发。
# - WordPiece 把标题切成子词，得到编号与注意力掩码；平均池化时要排除填充位置。
# - 在 CPU 上几分钟完成的微调配方：预热加线性衰减、动态填充、bfloat16、冻结嵌入，每一步都有测量。
# - 学习率 1e-3 适合从零训练，却会损坏预训练编码器；BERT 原文微调用 2e-5 到 5e-5，本课程针对小模型 MiniLM 的短时 CPU 配方用 2e-4，都配合预热。
# - 与 TF-IDF 和 BiLSTM 基线在同一批数据上比较，并如实报告成本。
#
# ### 09 · 深入编码器：注意力与 Transformer
# - 注意力是"软字典查找"：softmax(QKᵀ/√d)V，除以 √d 防止 softmax 饱和。
# - 多头注意力、前馈网络、残差连接与层归一化（BERT 为后置 LayerNorm）组成一个编码器层。
# - 从零实现的编码器载入真实的 MiniLM 权重后，与 `transformers` 的 `BertModel` 输出一致。
# - 参数量与每个词元的 FLOPs 都可以数出；注意力的代价随序列长度平方增长，所以 48 个词元比 128 个便宜。
# - 忘记填充掩码会改变句向量；注意力权重不等于解释（见第 11 章）。
#
# ### 10 · 训练提速与规模化
# - 混合精度：bf16 与 fp32 指数位相同，无需损失缩放；fp16 的小梯度会下溢，需要 `GradScaler`。
# - 吞吐量与内存随批次大小变化；线性缩放规则要配合预热，并有失效的边界。
# - 梯度累积：k 个微批次的更新等于一个 k 倍大的批次；激活检查点以重算换内存。
# - 用 `torch.distributed` 做数据并行（CPU 上 gloo，GPU 上 nccl），与单进程训练得到相同的权重；ZeRO/FSDP 分片节省内存。
# - 推理更小更快：int8 动态量化与知识蒸馏；AdaGrad 与 RMSProp 与 `torch.optim` 逐步对照。
#
# ### 11 · 负责任的大模型：隐私、公平与解释
# - 成员推断攻击测量隐私泄漏：过拟合越重泄漏越多（这里的"泄漏"指隐私，不同于第 05、07 章的训练/测试数据泄漏）。
# - DP-SGD 从零实现（逐样本梯度裁剪到范数 C，加 σ·C 高斯噪声），与 Opacus 对照，用 Opacus 的会计计算 ε。
# - 去标识化与 k-匿名能防什么、不能防什么：连接准标识符即可重识别。
# - 在真实人口普查数据上按性别和种族计算各组指标，与 fairlearn 对照；只删除敏感列无效，因为有代理变量。
# - 积分梯度解释预测并用完备性公理检验；GDPR 与欧盟 AI 法案要点，加密与 sha256 完整性校验。
#
# ### 12 · 应用：五个领域，五个真实小案例
# - 语言：句向量语义搜索与零样本主题分类，与第 08 章微调的模型比较。
# - 视觉：小型 CNN，以及旋转、缩放、裁剪等数据增强（属于图像，不属于文本），在标签少时最有用。
# - 医疗：筛查模型按召回率 ≥ 0.98 选择阈值，并用可靠性图检查概率是否校准。
# - 金融：按数据集自带的代价矩阵（接受坏贷款的代价是拒绝好客户的 5 倍）选择期望代价最小的阈值，理论上为 1/6 而不是 0.5。
# - 电商：隐式反馈矩阵分解对比流行度基线与共现，以命中率@10 评价；冷启动可借助商品描述的文本嵌入。

# %% [markdown]
# ## 3. 原文勘误 Errata of the source article
#
# Each row: where the article says it (its section number and heading), what it says
# (a few words or the formula), what is right, and where the course shows the right
# version running and checked. "§" numbers are the article's.
#
# | # | Article (原文) | What it says | What is right | Where the course shows it |
# |---|---|---|---|---|
# | 1 | §4.1.2 优化算法, Adam | $m_t = \frac{1}{\beta_1}(m_{t-1} + \beta_1(\theta_t - \theta_{t-1}))$, the same for $v_t$ with squared differences; uses $\hat m_t, \hat v_t$ without defining them | moments of the **gradient**: $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$, $v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2$, and the bias correction $\hat m_t = m_t/(1-\beta_1^t)$, $\hat v_t = v_t/(1-\beta_2^t)$ [ref:kingma2015] | 03 §5 (checked step by step against `torch.optim.Adam`); the slider in this section |
# | 2 | §4.1.2, Adam | "Adam优化器结合了SGD和动量方法" | Adam is momentum (first moment of the gradient) plus RMSProp-style per-parameter scaling by the root of the second moment | 03 §5; RMSProp and AdaGrad in 10 §8 |
# | 3 | §4.1.2, SGD | "SGD … 容易陷入局部最小值" | in high dimensions the critical points that slow training are mostly saddle points, not bad local minima [ref:dauphin2014]; SGD's mini-batch noise helps it leave them [ref:ge2015]; its real costs are noise and a step size bounded by curvature | 03 §2 (the $2/L$ limit), §3 (noise vs batch size) |
# | 4 | §4.1.2, SGD | "每次迭代仅随机选择一个样本" | in practice a random mini-batch of examples | 03 §3, 05 §5 |
# | 5 | §4.1.1 损失函数, cross-entropy | $CE = -\frac{1}{n}\sum_i y_i\log(\hat y_i)$ | a sum over the classes too: $-\frac1n\sum_i\sum_c y_{i,c}\log p_{i,c} = -\frac1n\sum_i \log p_{i,y_i}$; read with $y_i$ a class number, the article's formula ignores every example of class 0 (run below) | 02 §2, §3 |
# | 6 | §4.1.1, adversarial loss | $AL = -\frac1n\sum_i \log D(G(x_i))$ with $x_i$ "第 i 个真实样本" | the generator maps **noise** $z$: $-\frac1n\sum_i \log D(G(z_i))$ (non-saturating); real samples enter only the discriminator's loss [ref:goodfellow2014] | 02 §6, §8 pitfall 1 |
# | 7 | §4.1.3 正则化, L1 and L2 | "L1 Loss" $=\sum_i\sum_j \lvert w_{ij}\rvert$, "L2 Loss" $=\sum w_{ij}^2$, no $\lambda$, no data term; "通过增加模型参数的绝对值" | the penalty is added to the data loss with a strength: $\mathcal L = \mathcal L_{\text{data}} + \lambda\sum_j \lvert w_j\rvert$ (or $\lambda\sum_j w_j^2$); it *penalises* large weights, it does not increase them | 04 §2, §6 (λ slider) |
# | 8 | §4.1.3, Dropout | $\hat w_{ij} = w_{ij}$ with probability $1-p$, else 0 | zeroing **weights** is DropConnect [ref:wan2013]; dropout zeroes **activations** and scales the kept ones by $1/(1-p)$ so their expectation is unchanged, and is off at inference [ref:srivastava2014] (run below) | 04 §4, §7 |
# | 9 | §3.1.1 数据预处理 and FAQ 2 | data augmentation "如旋转、缩放、裁剪" for a news-classification task | rotation, scaling and cropping are image transforms; text needs label-preserving text changes (or none) | images: 12 §2 (vision, few labels); tabular noise: 05 §4 |
# | 10 | §3.2.2 优化方法 and §3.3.5 | cross-validation described as one split "划分为训练集和验证集" | k-fold: k splits, every row validated exactly once, a mean and a spread; it *estimates* how well a model generalises (it does not itself lower over-fitting), and a test set is still held out | 06 §5 |
# | 11 | §3.3.4 模型训练 | BERT fine-tuned at "学习率为 0.001" | BERT's authors fine-tune at 2e-5 to 5e-5 with warm-up [ref:devlin2019] (the course's short CPU recipe for the small MiniLM uses 2e-4); 1e-3 damages the pretrained encoder | 08 §9 (measured) |
# | 12 | §3.3.6 结果展示 | a table of "准确率" per class (体育 0.92 …) next to precision, recall, F1 | one class has no accuracy of its own: one-vs-rest accuracy is dominated by true negatives, and per-class recall is a different number from the table's; report precision, recall, F1 and support per class, and a confusion matrix | 06 §2 ("A warning about per-class accuracy"), 08 §7 |
# | 13 | §4.2.2 模型构建 | a two-layer perceptron for a binary task with two sigmoid outputs | one logit with sigmoid and binary cross-entropy, or two logits with softmax and cross-entropy | 05 §3 |
# | 14 | §5.2 源代码详细实现 | "基于 BERT 的文本分类任务" | the listing has no BERT in it: it is an embedding and a BiLSTM | the BiLSTM: 07; BERT fine-tuning: 08 |
# | 15 | §5.2, model | `LSTM(64, return_sequences=True)` into `Dense(1, activation='sigmoid')` | that gives one prediction per time step, shape (batch, 100, 1); one text needs one prediction: pool over time with the padding masked (or `return_sequences=False`) | 07 §4, §7 |
# | 16 | §5.2, compile | `loss='binary_crossentropy'` with one sigmoid output, for news in several topics | C outputs and softmax cross-entropy (Keras: `sparse_categorical_crossentropy`) | 07 §4, 02 §2 |
# | 17 | §5.2, data | `train_labels`, `test_labels` never defined; 3 texts split by `[:80]` and `[80:]` | labels read with the texts; a split by fraction, stratified, with a fixed seed; that split leaves the test set empty (run below) | 05 §4, 07 §1 |
# | 18 | §5.4 运行结果展示 | a log of 784 steps per epoch and "Test Accuracy: 0.9400" | 784 steps of 32 with `validation_split=0.2` mean about 31,000 rows, not 3 texts, and an empty test set has no accuracy; every number the course states is printed by the run that made it | every chapter (self-checks) |
# | 19 | §9 问题 1 | training needs "数千到数万个 CPU 或 GPU 时钟周期" | GPT-3 took about $3.14\times10^{23}$ FLOPs [ref:brown2020], hundreds of GPU-years (run below) | 01 §4, §6 |
# | 20 | §1 背景介绍 | GPT-3 "拥有超过1750亿个参数" | 175 billion | 01 §3 |
# | 21 | §10.1 相关论文 | "GPT-3: Language Models are Few-Shot Learners" | the title is *Language Models are Few-Shot Learners*, Brown et al. 2020 [ref:brown2020] | references below |
# | 22 | §10.2 技术报告 | PyTorch: "Pavlo et al., 2018", arXiv 1806.05393 | Paszke et al. 2019, NeurIPS, arXiv:1912.01703 [ref:paszke2019]; 1806.05393 is Xiao et al. 2018 on training 10,000-layer CNNs [ref:xiao2018] | references below |
# | 23 | §10.2 | Keras as a report, arXiv 1502.03167 | that id is Ioffe & Szegedy's batch normalization [ref:ioffe2015]; Keras is cited as software: Chollet et al. 2015, keras.io [ref:chollet2015] | references below |
# | 24 | §10.2 | TensorFlow: the title "…on Heterogeneous Systems" with the link arXiv 1603.04467 | that title is the 2015 whitepaper's [ref:abadi2015]; the arXiv version (2016) is "…on Heterogeneous **Distributed** Systems": cite one or the other, with its own title | references below |
# | 25 | §7.1 学习资源推荐 | "A Theoretical Framework for Backpropagation" by Rumelhart, Hinton and Williams | that title is LeCun's 1988 paper [ref:lecun1988]; Rumelhart, Hinton and Williams wrote *Learning representations by back-propagating errors*, Nature 1986 [ref:rumelhart1986] | references below; backpropagation in 05 §2 |
# | 26 | §7.1 and §10.4 | 《Python 深度学习》"(Python Deep Learning)" by "FranÃ§ois Chollet", linked to an unrelated tutorial site | *Deep Learning with Python*, François Chollet, Manning 2017 (2nd ed. 2021) [ref:chollet2017]; its Chinese edition is 《Python深度学习》 | references below |
# | 27 | §7.2 开发工具框架推荐 | Keras "基于 TensorFlow 和 Theano" | Theano's development ended in 2017; Keras 3 runs on TensorFlow, JAX or PyTorch | — |
# | 28 | §7.1 and §10.4 | 《自然语言处理与深度学习》 by "dwarf 学者孙乐、唐杰" | a garbled author line; we could not verify this book or its address, and the course does not cite it | — |
# | 29 | §3.3.5 模型评估 | scores reported on the validation set that was used for tuning | tune on validation data, report once on a held-out test set | 05 §4, 06 §5 |
# | 30 | §5.1 开发环境搭建 | Python 3.8 and `conda install tensorflow keras` | Python 3.8 reached its end of life in October 2024; the course needs 3.11+ and installs from one `pyproject.toml` | README, 00 §1 |
#
# Four of these, run: the article's cross-entropy, dropout without the rescale, Adam
# without bias correction (with a slider), the Keras split, and the compute of GPT-3.

# %%
# Row 5: the article's cross-entropy, read with y_i a class number (news: 0-3), against the real one.
logits = torch.tensor([[4.0, 0.0, 0.0, 0.0], [0.0, 4.0, 0.0, 0.0], [-4.0, 0.0, 0.0, 0.0]])
labels = torch.tensor([0, 1, 0])  # the third example is class 0, and the model is sure it is not
p = logits.softmax(dim=1)
article = -(labels * p[torch.arange(3), labels].log()).mean()  # -1/n Σ y_i log ŷ_i
right = F.cross_entropy(logits, labels)
print(f"article's formula: {article:.4f}   cross-entropy: {right:.4f}")
bml.check(-(p[torch.arange(3), labels].log()).mean().item(), right.item(), "-1/n Σ log p(true class) = F.cross_entropy")
bml.check(article.item() < right.item() / 10, True, "the article's formula misses the class-0 examples")

# %%
# Row 8: dropout zeroes activations; without the 1/(1-p) rescale, the mean activation shrinks by (1 - p).
torch.manual_seed(0)
h, p_drop = torch.ones(100_000), 0.3
keep = (torch.rand_like(h) > p_drop).float()
print(f"mean activation: none dropped {h.mean():.3f}, dropped without rescale {(h * keep).mean():.3f}, "
      f"inverted dropout {(h * keep / (1 - p_drop)).mean():.3f}")
bml.check((h * keep / (1 - p_drop)).mean().item(), 1.0, "inverted dropout keeps the mean", rtol=0.01)
bml.check(F.dropout(h, p_drop, training=True).mean().item(), 1.0, "torch's dropout rescales the same way", rtol=0.01)

# %% [markdown]
# **Row 1, explored: Adam without bias correction.** $m$ and $v$ start at 0, so their
# first values are too small: $m_1 = (1-\beta_1)\,g_1$, $v_1 = (1-\beta_2)\,g_1^2$. The
# step $\eta\, m_t / \sqrt{v_t}$ without correction is therefore off by
# $(1-\beta_1^t)/\sqrt{1-\beta_2^t}$. With a constant gradient, the corrected step is
# exactly $\eta$ from the first step on (the library's `Adam`, checked against torch in
# chapter 03); the uncorrected one is not. The cell below prints how far off it is at
# the default $\beta_2 = 0.999$: several times **too large**, not too small, because $v$
# is biased toward zero longer than $m$ is. Move $\beta_2$: look for the error growing
# with $\beta_2$ and lasting about $1/(1-\beta_2)$ steps; at $\beta_2 = 0.9 = \beta_1$ the
# first steps are too small instead.

# %%
def adam_steps(beta2: float, steps: int = 3000, beta1: float = 0.9, lr: float = 1e-3):
    """Step sizes (in units of lr) on a constant gradient of 1: the library's Adam, and the
    same moments without bias correction."""
    theta = torch.zeros(1, requires_grad=True)
    opt = Adam([theta], lr=lr, betas=(beta1, beta2), eps=1e-12)
    corrected, uncorrected, m, v, before = [], [], 0.0, 0.0, 0.0
    for _ in range(steps):
        opt.zero_grad()
        theta.sum().backward()  # gradient 1
        opt.step()
        corrected.append((before - theta.item()) / lr)
        before = theta.item()
        m, v = beta1 * m + (1 - beta1) * 1.0, beta2 * v + (1 - beta2) * 1.0**2
        uncorrected.append(m / v**0.5)
    return corrected, uncorrected


corrected, uncorrected = adam_steps(0.999)
bml.check(corrected[:3], [1.0, 1.0, 1.0], "bias-corrected Adam steps exactly lr on a constant gradient", rtol=1e-4)
bml.check(uncorrected[0], 0.1 / 0.001**0.5, "without correction the first step is (1-β1)/sqrt(1-β2) lr", rtol=1e-6)
peak = max(range(len(uncorrected)), key=uncorrected.__getitem__)
print(f"uncorrected step: {uncorrected[0]:.2f} × lr at step 1, {uncorrected[peak]:.2f} at its peak (step {peak + 1}), "
      f"{uncorrected[299]:.2f} at step 300, {uncorrected[-1]:.2f} at step {len(uncorrected)}")

# %% tags=["nbval-ignore-output"]
def show_adam(beta2=0.999):
    corrected, uncorrected = adam_steps(beta2)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(range(1, len(corrected) + 1), corrected, label=cjk.zh_or_en("有偏差校正（正确）", "with bias correction (right)"))
    ax.plot(range(1, len(uncorrected) + 1), uncorrected, label=cjk.zh_or_en("无偏差校正（原文）", "without (the article)"))
    ax.axhline(1.0, color="gray", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel(cjk.zh_or_en("步数 t", "step t"))
    ax.set_ylabel(cjk.zh_or_en("步长 / η", "step size / η"))
    ax.set_title(f"Adam, β1 = 0.9, β2 = {beta2:g}, " + cjk.zh_or_en("常数梯度", "constant gradient"))
    ax.legend()
    plt.tight_layout()
    plt.show()


beta2_slider = widgets.SelectionSlider(options=[0.9, 0.95, 0.99, 0.995, 0.999, 0.9999], value=0.999,
                                       description="β2", continuous_update=False)
widgets.interact(show_adam, beta2=beta2_slider);

# %%
# Row 17: the listing's split of its three example sentences.
text_data = ["This is an example sentence.", "Another example sentence.", "..."]
train_text, test_text = text_data[:80], text_data[80:]
print(f"training texts: {len(train_text)}, test texts: {len(test_text)}")
bml.check(len(test_text), 0, "the listing's test set is empty")

# %%
# Row 19: GPT-3's training compute, 6·N·D, and what it takes on real hardware.
flops = training_flops(175e9, 300e9)
years = gpu_hours(flops, "V100", 0.3) / (24 * 365)
print(f"GPT-3: {flops:.3g} FLOPs; at 30% of a V100's peak that is {years:,.0f} GPU-years")
bml.check(flops, 3.14e23, "6·N·D for GPT-3 against the paper's 3.14e23", rtol=0.01)

# %% [markdown]
# ## 4. 常见问题对照 FAQ map
#
# The article's FAQ (§9) and its "future trends and challenges" (§8; §1 lists the same
# challenges) answered with code: the chapter and section to open.
#
# | The article asks or claims | Chapter and section | What the code shows |
# |---|---|---|
# | **问题 1** 训练需要多少计算资源？ | 01 §3–§6 and its cost calculator; 10 §12 | parameters counted from real configs, $C \approx 6ND$ FLOPs, 16 bytes per parameter, GPU-hours and dollars from peak FLOP/s, utilisation and a price; chapter 10 measures speed-ups on your machine |
# | **问题 2** 如何提升泛化能力？ | 04 (all); 05 §4 (augmentation), §7 (early stopping); 06 §5, §7; 08 §2; 12 §2 (vision) | L1/L2, weight decay, dropout and early stopping closing the train/validation gap; k-fold estimates; ensembles; pretrained vs random weights; augmentation on images where it belongs |
# | **问题 3** 会导致数据泄露吗？ | 11 §2 (membership inference), §3 (DP-SGD), §4 (de-identification), §7 (regulation and practice) | a leak measured (attack AUC), then closed by DP-SGD at a stated ε; pseudonymisation and k-anonymity and what they miss; GDPR, encryption, a sha256 integrity check |
# | **问题 4** 如何优化训练速度？ | 10 §2 (mixed precision), §3 (batch size), §4 (accumulation), §5 (checkpointing), §6 (data parallel), §8 (AdaGrad, RMSProp); 03 §5; 08 §5 | data-parallel training with `torch.distributed`, mixed precision (bf16/fp16), batch size and throughput, gradient accumulation, checkpointing, AdaGrad/RMSProp; a CPU fine-tuning recipe measured step by step |
# | §8.1 性能提升 | 01 §7 | scaling laws: loss as a power law of parameters and data; Chinchilla sizing |
# | §8.1 泛化能力 | 04; 06; 08 | as question 2 |
# | §8.1 硬件加速 (GPU, TPU) | 01 §5–§6; 10 §2, §6, §11 | peak FLOP/s and memory of real GPUs; mixed precision and nccl on a GPU |
# | §8.1 跨领域应用 | 12 §1–§5, summary table §7 | language, vision, medicine, finance, e-commerce: one real case each, with a measured number |
# | §8.1 自主进化 (evolutionary algorithms) | not covered with code | the nearest the course comes is automated search over settings: random and Bayesian search in 06 §6 |
# | §8.2 数据隐私和安全 | 11 | as question 3 |
# | §8.2 算法公平性和透明度 | 11 §5 (fairness); 06 §2, §3 | per-group rates on census data checked against fairlearn, demographic parity and equalised odds, a mitigation and its cost; per-class reports and confusion matrices |
# | §8.2 计算资源需求 | 01 §4–§7; 10 | as questions 1 and 4 |
# | §8.2 模型解释性 | 11 §6 (integrated gradients); 09 §12 (attention maps), §13 (pitfalls) | attributions checked by the completeness axiom and against captum; why attention weights are not explanations |
# | §8.2 伦理和监管 | 01 §1 (risks); 11 §7 (regulation and practice) | the EU AI Act's compute threshold and risk tiers; GDPR's principles for training data |
# | §6 实际应用场景 (NLP, vision, medicine, FinTech, e-commerce) | 12 §1 (language), §2 (vision), §3 (medicine), §4 (finance), §5 (e-commerce); text classification in 07, 08 | the five fields, each on real data |
# | §3.2 模型评估与优化 | 06 | accuracy, precision, recall, F1, cross-validation, grid/random/Bayesian search |

# %% [markdown]
# ## 5. 参考文献 References
#
# Every work the chapters cite, from `data/references.bib`. In a chapter a citation is
# followed by its key, `[ref:vaswani2017]`; keys are the first author's family name in
# lowercase plus the year (plus a/b when one author has two works in a year). A test
# checks that every key a chapter uses is in the file, that every entry has authors, a
# year and a title, and that every arXiv id is well-formed. After each reference: the
# chapters that cite it.

# %% tags=["nbval-ignore-output"]
# (The list grows with the chapters: its output is not fixed, the check is.)
bib = references.load_bib()
cited_by: dict[str, list[str]] = {}
for path in CHAPTERS:
    for key in references.cited_keys(path.read_text(encoding="utf-8")):
        cited_by.setdefault(key, []).append(path.name[:2])
bml.check(sorted(set(cited_by) - set(bib)), [], "every cited key is in data/references.bib")
lines = [f"{i}. {references.format_reference(key, bib[key])} — cited in: {', '.join(cited_by.get(key, ['none yet']))}"
         for i, key in enumerate(sorted(bib, key=lambda k: (references.delatex(bib[k]['author']).lower(), k)), start=1)]
display(Markdown("\n".join(lines)))

# %% [markdown]
# ## Exercises
#
# **Exercise 1.** Use `glossary.lookup` to find the Chinese name of *gradient
# accumulation* and the chapter that defines it, then the English term for 知识蒸馏.
#
# **Exercise 2.** The article's table in §3.3.6 gives, per class, precision, recall and
# F1: 体育 (0.94, 0.90, 0.92), 财经 (0.90, 0.85, 0.87), 娱乐 (0.87, 0.80, 0.83). Check
# that each F1 is the harmonic mean of its precision and recall (to two decimals). Then
# say why its "准确率" column (0.92, 0.88, 0.84) cannot be per-class recall.
#
# **Exercise 3.** With `references.cited_keys`, find which chapter cites the most works.

# %% jupyter={"source_hidden": true}
# Solution 1
e1, e2 = glossary.lookup("gradient accumulation"), glossary.lookup("知识蒸馏")
print(f"{e1.term}: {e1.zh}, chapter {e1.chapter};  知识蒸馏: {e2.term}")
bml.check((e1.zh, e2.term), ("梯度累积", "knowledge distillation"), "exercise 1")

# %% jupyter={"source_hidden": true}
# Solution 2: the F1 column is consistent; the accuracy column is not the recall column
# (0.92 vs 0.90, 0.88 vs 0.85, 0.84 vs 0.80), and one-vs-rest accuracy of a class would be
# higher still, dominated by the many true negatives. So "per-class accuracy" names no
# defined metric here.
table_336 = {"体育": (0.94, 0.90, 0.92), "财经": (0.90, 0.85, 0.87), "娱乐": (0.87, 0.80, 0.83)}
for name, (precision, recall, f1) in table_336.items():
    harmonic = 2 * precision * recall / (precision + recall)
    print(f"{name}: 2PR/(P+R) = {harmonic:.4f}, table says {f1}")
    bml.check(round(harmonic, 2), f1, f"F1 of {name}")

# %% jupyter={"source_hidden": true} tags=["nbval-ignore-output"]
# Solution 3 (the answer changes as chapters grow)
counts = {path.name: len(references.cited_keys(path.read_text(encoding="utf-8")))
          for path in CHAPTERS if not path.name.startswith("13_")}
top = max(counts, key=counts.get)
print(f"{top} cites {counts[top]} works; all chapters: {counts}")
bml.check(counts[top], max(counts.values()), "exercise 3")

# %% [markdown]
# ## Summary
#
# - `bigmodel_lib.glossary.lookup` finds any of the course's terms by its English or
#   Chinese name; a chapter introduces a term as `**term** (中文名)`, and a test keeps the
#   glossary complete and every Chinese name unique.
# - Each chapter in five Chinese points (每章要点), for reading before or after it.
# - The source article's errors, from wrong formulas (Adam, cross-entropy, the GAN loss,
#   dropout) and broken code (the Keras BiLSTM) to wrong numbers and citations, each with
#   what is right and where the course runs it.
# - The article's FAQ and its trends and challenges map to chapters with code; one
#   ("自主进化") has no code in the course.
# - `data/references.bib` holds every work cited, checked for missing keys and malformed
#   arXiv ids.
#
# **Further reading:** 全国科学技术名词审定委员会, [术语在线](https://www.termonline.cn)
# (standard Chinese names of technical terms); the Chinese edition of Goodfellow, Bengio
# and Courville's *Deep Learning* [ref:goodfellow2016a], 《深度学习》 (人民邮电出版社, 2017),
# whose terms this glossary mostly follows; [JupyterLab's language packs](https://jupyterlab.readthedocs.io/en/latest/user/language.html).
