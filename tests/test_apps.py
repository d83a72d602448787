"""Tests for bigmodel_lib.apps (chapter 12): each function against a reference, plus bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve

from bigmodel_lib import apps

# ---------------------------------------------------------------------------- search and ranking


def test_search_matches_brute_force_cosine():
    g = torch.Generator().manual_seed(0)
    catalogue, queries = torch.randn(50, 8, generator=g) * 3, torch.randn(4, 8, generator=g)
    scores, idx = apps.search(queries, catalogue, k=5)
    cos = torch.nn.functional.cosine_similarity(queries[:, None, :], catalogue[None, :, :], dim=2)
    expected = torch.sort(cos, dim=1, descending=True)
    torch.testing.assert_close(scores, expected.values[:, :5])
    assert torch.equal(idx, expected.indices[:, :5])
    one_scores, one_idx = apps.search(queries[0], catalogue, k=50)  # one query as a vector, k = all
    assert one_idx.shape == (1, 50) and torch.equal(one_idx[0, :5], idx[0])


def test_search_bad_input():
    catalogue = torch.randn(10, 4)
    with pytest.raises(ValueError, match="larger than the catalogue"):
        apps.search(torch.randn(4), catalogue, k=11)
    with pytest.raises(ValueError, match="empty query"):
        apps.search(torch.empty(0, 4), catalogue, k=1)
    with pytest.raises(ValueError, match="same model"):
        apps.search(torch.randn(5), catalogue, k=1)
    with pytest.raises(ValueError, match="positive integer"):
        apps.search(torch.randn(4), catalogue, k=0)


def test_recall_at_k_against_a_hand_count():
    g = torch.Generator().manual_seed(1)
    sim = torch.randn(30, 40, generator=g)
    targets = torch.randint(0, 40, (30,), generator=g)
    for k in (1, 5, 40):
        by_hand = np.mean([int(t) in torch.argsort(row, descending=True)[:k].tolist()
                           for row, t in zip(sim, targets, strict=True)])
        assert apps.recall_at_k(sim, targets, k) == pytest.approx(by_hand)
    assert apps.recall_at_k(sim, targets, 40) == 1.0
    assert apps.recall_at_k(torch.zeros(3, 5), [0, 1, 2], 4) == 0.0  # all tied: no credit


def test_recall_at_k_bad_input():
    sim = torch.randn(3, 5)
    with pytest.raises(ValueError, match="larger than the catalogue"):
        apps.recall_at_k(sim, [0, 1, 2], 6)
    with pytest.raises(ValueError, match="one per row"):
        apps.recall_at_k(sim, [0, 1], 2)
    with pytest.raises(ValueError, match="item indices"):
        apps.recall_at_k(sim, [0, 1, 5], 2)
    with pytest.raises(ValueError, match="empty"):
        apps.recall_at_k(torch.empty(0, 5), [], 1)


def test_hit_rate_at_k_excludes_seen_items_and_accepts_baskets():
    scores = torch.tensor([[0.9, 0.8, 0.1, 0.0],
                           [0.1, 0.2, 0.3, 0.4]])
    assert apps.hit_rate_at_k(scores, [2, 0], k=1) == 0.0
    # user 0 already has items 0 and 1: the best new item is 2
    assert apps.hit_rate_at_k(scores, [2, 0], k=1, exclude=[{0, 1}, set()]) == 0.5
    mask = torch.tensor([[True, True, False, False], [False, False, False, False]])
    assert apps.hit_rate_at_k(scores, [2, 0], k=1, exclude=mask) == 0.5
    assert apps.hit_rate_at_k(scores, [{2, 3}, {0, 3}], k=1) == 0.5
    assert apps.hit_rate_at_k(scores, [2, 0], k=4) == 1.0


def test_hit_rate_at_k_equals_recall_at_k_with_one_item_and_no_ties():
    g = torch.Generator().manual_seed(2)
    scores = torch.rand(20, 30, generator=g)
    targets = torch.randint(0, 30, (20,), generator=g)
    assert apps.hit_rate_at_k(scores, targets.tolist(), 7) == pytest.approx(apps.recall_at_k(scores, targets, 7))


def test_hit_rate_at_k_bad_input():
    scores = torch.rand(2, 4)
    with pytest.raises(ValueError, match="larger than the catalogue"):
        apps.hit_rate_at_k(scores, [0, 1], k=5)
    with pytest.raises(ValueError, match="one per user"):
        apps.hit_rate_at_k(scores, [0], k=1)
    with pytest.raises(ValueError, match="no held-out item"):
        apps.hit_rate_at_k(scores, [set(), {1}], k=1)
    with pytest.raises(ValueError, match="indices in 0..3"):
        apps.hit_rate_at_k(scores, [0, 4], k=1)
    with pytest.raises(ValueError, match="shape of scores"):
        apps.hit_rate_at_k(scores, [0, 1], k=1, exclude=torch.zeros(2, 3, dtype=torch.bool))


# ---------------------------------------------------------------------------- recommendation model


def test_implicit_pairs_positives_and_negatives():
    pairs, labels = apps.implicit_pairs([{0, 2}, {1}], n_items=5, negatives=3, seed=0)
    assert pairs.dtype == torch.long and pairs.shape == (3 * 4, 2) and labels.shape == (12,)
    assert labels.sum() == 3
    positives = {tuple(p) for p in pairs[labels == 1].tolist()}
    assert positives == {(0, 0), (0, 2), (1, 1)}
    for u, i in pairs[labels == 0].tolist():
        assert (u, i) not in positives
    again, _ = apps.implicit_pairs([{0, 2}, {1}], n_items=5, negatives=3, seed=0)
    assert torch.equal(pairs, again)
    with pytest.raises(ValueError, match="bought every item"):
        apps.implicit_pairs([{0, 1}], n_items=2)
    with pytest.raises(ValueError, match="outside"):
        apps.implicit_pairs([{0, 7}], n_items=5)
    with pytest.raises(ValueError, match="no purchases"):
        apps.implicit_pairs([set()], n_items=5)


def test_matrix_factorization_scores_equal_forward_and_it_learns():
    torch.manual_seed(0)
    model = apps.MatrixFactorization(4, 6, dim=3)
    pairs = torch.tensor([[u, i] for u in range(4) for i in range(6)])
    torch.testing.assert_close(model(pairs).detach().view(4, 6), model.scores())
    with pytest.raises(ValueError, match="batch, 2"):
        model(torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="positive integer"):
        apps.MatrixFactorization(0, 3)
    # two groups of users with opposite tastes: after training each ranks its own items first
    user_items = [{0, 1, 2}, {0, 1, 2}, {3, 4, 5}, {3, 4, 5}]
    x, y = apps.implicit_pairs(user_items, 6, negatives=2, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        opt.step()
    top3 = torch.topk(model.scores(), 3, dim=1).indices
    assert [set(row.tolist()) for row in top3] == user_items


# ---------------------------------------------------------------------------- medicine


def test_threshold_for_recall_against_sklearn_curve():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = rng.normal(size=300) + 1.5 * y
    for floor in (0.5, 0.9, 0.98, 1.0):
        got = apps.threshold_for_recall(y, s, floor)
        precision, recall, thresholds = precision_recall_curve(y, s)
        ok = recall[:-1] >= floor
        best = np.argmax(np.where(ok, thresholds, -np.inf))
        assert got.threshold == pytest.approx(thresholds[best])
        assert got.recall == pytest.approx(recall[best]) and got.recall >= floor
        assert got.precision == pytest.approx(precision[best])


def test_threshold_for_recall_bad_input():
    with pytest.raises(ValueError, match="no positive"):
        apps.threshold_for_recall([0, 0], [0.1, 0.2], 0.9)
    with pytest.raises(ValueError, match=r"in \(0, 1\]"):
        apps.threshold_for_recall([0, 1], [0.1, 0.2], 1.5)
    with pytest.raises(ValueError, match="0 \\(negative\\) and 1"):
        apps.threshold_for_recall([0, 2], [0.1, 0.2], 0.9)
    with pytest.raises(ValueError, match="one per case"):
        apps.threshold_for_recall([0, 1, 1], [0.1, 0.2], 0.9)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 5, 10, 17])
def test_calibration_bins_equal_sklearn(strategy, n_bins):
    rng = np.random.default_rng(n_bins)
    p = rng.beta(0.7, 0.9, 500)
    p[:7] = [0.0, 1.0, 0.1, 0.2, 0.5, 0.3, 0.7]  # values on the bin edges
    y = (rng.random(500) < p ** 1.5).astype(int)
    frac, mean, counts = apps.calibration_bins(y, p, n_bins, strategy)
    ref_frac, ref_mean = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(frac, ref_frac)
    np.testing.assert_allclose(mean, ref_mean)
    assert counts.sum() == 500 and (counts > 0).all()


def test_expected_calibration_error():
    y = np.array([0, 1] * 50)
    assert apps.expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert apps.expected_calibration_error(y, np.where(y == 1, 0.95, 0.05)) == pytest.approx(0.05)


def test_calibration_bins_bad_input():
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        apps.calibration_bins([0, 1], [0.2, 1.2])
    with pytest.raises(ValueError, match="uniform"):
        apps.calibration_bins([0, 1], [0.2, 0.8], strategy="width")
    with pytest.raises(ValueError, match="empty"):
        apps.calibration_bins([], [])
    with pytest.raises(ValueError, match="NaN"):
        apps.calibration_bins([0, 1], [0.2, float("nan")])


# ---------------------------------------------------------------------------- finance


def test_expected_cost_by_hand():
    y = [1, 1, 0, 0, 0]
    p = [0.9, 0.2, 0.6, 0.1, 0.3]
    # threshold 0.5: the positive at 0.2 is missed (5), the negative at 0.6 is flagged (1)
    assert apps.expected_cost(y, p, 0.5) == pytest.approx(6 / 5)
    assert apps.expected_cost(y, p, 0.0) == pytest.approx(3 / 5)  # refuse everyone
    assert apps.expected_cost(y, p, 1.0) == pytest.approx(10 / 5)  # accept everyone (no p is 1)
    assert apps.expected_cost(y, p, 0.5, cost_fn=1, cost_fp=1) == pytest.approx(2 / 5)


def test_min_cost_threshold_scans_every_threshold():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
    t, cost = apps.min_cost_threshold(y, p, cost_fn=5, cost_fp=1)
    grid = np.linspace(0, 1, 2001)
    assert cost <= min(apps.expected_cost(y, p, float(g)) for g in grid) + 1e-12
    assert cost == pytest.approx(apps.expected_cost(y, p, t))


def test_bayes_threshold_is_optimal_for_calibrated_probabilities():
    rng = np.random.default_rng(4)
    p = rng.random(200_000)
    y = (rng.random(200_000) < p).astype(int)  # calibrated by construction
    t, _ = apps.min_cost_threshold(y, p, cost_fn=5, cost_fp=1)
    assert t == pytest.approx(1 / 6, abs=0.02)


def test_expected_cost_bad_input():
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        apps.expected_cost([0, 1], [0.2, 0.7], 1.5)
    with pytest.raises(ValueError, match=r"threshold must be a number in \[0, 1\]"):
        apps.expected_cost([0, 1], [0.2, 0.7], -0.1)
    with pytest.raises(ValueError, match="cost_fn"):
        apps.expected_cost([0, 1], [0.2, 0.7], 0.5, cost_fn=-1)
    with pytest.raises(ValueError, match="probabilities"):
        apps.min_cost_threshold([0, 1], [0.2, 7.0])


# ---------------------------------------------------------------------------- vision


def test_affine_identity_and_quarter_turn():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).view(2, 3, 5, 5)
    torch.testing.assert_close(apps.affine(x), x)
    # 90 degrees clockwise (torchvision's sense) on a square image: rot90 from W towards H
    torch.testing.assert_close(apps.affine(x, 90.0), torch.rot90(x, -1, dims=(2, 3)), atol=1e-4, rtol=0)
    # a shift by whole pixels moves the content and fills zeros
    shifted = apps.affine(x, translate=(1.0, 0.0))
    torch.testing.assert_close(shifted[..., 1:], x[..., :-1], atol=1e-4, rtol=0)
    assert shifted[..., 0].abs().max() < 1e-5


def test_pad_crop_is_a_shift():
    x = torch.rand(3, 1, 4, 6)
    torch.testing.assert_close(apps.pad_crop(x, 2, 2, 2), x)
    out = apps.pad_crop(x, 1, torch.tensor([0, 1, 2]), 1)
    torch.testing.assert_close(out[0, :, 1:], x[0, :, :-1])
    torch.testing.assert_close(out[1], x[1])
    torch.testing.assert_close(out[2, :, :-1], x[2, :, 1:])
    assert out[0, :, 0].abs().max() == 0 and out[2, :, -1].abs().max() == 0


def test_random_augment_is_repeatable_and_bounded():
    x = torch.rand(16, 1, 8, 8)
    a = apps.random_augment(x, generator=torch.Generator().manual_seed(0))
    b = apps.random_augment(x, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    still = apps.random_augment(x, max_angle=0.0, scale=(1.0, 1.0), padding=0)
    torch.testing.assert_close(still, x, atol=1e-5, rtol=0)


def test_augmentation_bad_input():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        apps.affine(torch.rand(8, 8))
    with pytest.raises(TypeError, match="floating point"):
        apps.affine(torch.zeros(1, 1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="one value per image"):
        apps.affine(torch.rand(2, 1, 4, 4), angle=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="integers in 0..2"):
        apps.pad_crop(torch.rand(2, 1, 4, 4), 1, 3, 0)
    with pytest.raises(ValueError, match="scale must be a range"):
        apps.random_augment(torch.rand(2, 1, 4, 4), scale=(1.1, 0.9))


def test_affine_and_pad_crop_match_torchvision():
    v2 = pytest.importorskip("torchvision.transforms.v2.functional", reason="torchvision is not installed")
    from torchvision.transforms import InterpolationMode

    g = torch.Generator().manual_seed(0)
    x = torch.rand(1, 2, 9, 7, generator=g)
    for angle, scale, translate in [(0.0, 1.0, (0.0, 0.0)), (17.0, 1.0, (0.0, 0.0)), (-30.0, 0.8, (1.0, -2.0)),
                                    (45.0, 1.3, (0.5, 0.25))]:
        ours = apps.affine(x, angle, scale, translate)
        theirs = v2.affine(x, angle=angle, translate=list(translate), scale=scale, shear=[0.0, 0.0],
                           interpolation=InterpolationMode.BILINEAR)
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
    ours = apps.pad_crop(x, 2, 3, 1)
    theirs = v2.crop(v2.pad(x, [2]), 3, 1, 9, 7)
    torch.testing.assert_close(ours, theirs)


# ---------------------------------------------------------------------------- embeddings


@pytest.fixture(scope="module")
def encoder():
    torch.set_num_threads(1)
    return apps.load_sentence_encoder()


TEXTS = ["Stocks rally as oil prices fall", "The striker scored twice in the cup final",
         "A new chip doubles battery life", "Talks on the border resume in Geneva",
         "x", "Markets"]


def test_embed_texts_are_unit_mean_pooled_vectors_in_input_order(encoder):
    model, tokenizer = encoder
    emb = apps.embed_texts(TEXTS, model, tokenizer, batch_size=2)
    assert emb.shape == (len(TEXTS), 384)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(len(TEXTS)))
    one = apps.embed_texts(TEXTS[1], model, tokenizer)  # a single string, batched alone
    torch.testing.assert_close(one[0], emb[1], atol=1e-5, rtol=0)
    sims = emb @ emb.T
    assert sims[0, 5] > sims[0, 1]  # "Markets" is nearer the stocks headline than football


def test_embed_texts_equal_sentence_transformers(encoder):
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed")
    from bigmodel_lib.models import minilm_dir

    model, tokenizer = encoder
    reference = st.SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)
    theirs = reference.encode(TEXTS, convert_to_tensor=True, normalize_embeddings=True)
    ours = apps.embed_texts(TEXTS, model, tokenizer)
    torch.testing.assert_close(ours, theirs.cpu(), atol=1e-5, rtol=1e-4)


def test_embed_texts_bad_input(encoder):
    model, tokenizer = encoder
    with pytest.raises(ValueError, match="empty query"):
        apps.embed_texts(["fine", "   "], model, tokenizer)
    with pytest.raises(ValueError, match="no texts"):
        apps.embed_texts([], model, tokenizer)
    with pytest.raises(TypeError, match="strings"):
        apps.embed_texts(["fine", 3], model, tokenizer)


def test_mean_pool_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    out = apps.mean_pool(hidden, torch.tensor([[1, 1, 0]]))
    torch.testing.assert_close(out, torch.tensor([[2.0, 3.0]]))
    assert math.isfinite(float(apps.mean_pool(hidden, torch.zeros(1, 3)).sum()))
