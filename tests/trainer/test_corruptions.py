"""Image and context negatives: deterministic under a seed, and each does what it says."""
from __future__ import annotations

import math

import pytest
import torch

from trainer.corruptions import (CORRUPTIONS, alpha_bar, black, corrupt_images, derangement, diffusion_noise,
                                 negative_partners, random_crop, rotate, swap_contexts, swap_images)


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture
def pixels() -> torch.Tensor:
    """A batch of 4 distinct images in [-1, 1]."""
    return torch.rand(4, 3, 16, 16, generator=gen(123)) * 2 - 1


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_every_corruption_is_deterministic_under_a_seed(kind, pixels):
    a = corrupt_images(pixels, kind, gen(7))
    b = corrupt_images(pixels, kind, gen(7))
    assert a.shape == pixels.shape
    assert torch.equal(a, b)
    assert not torch.equal(a, pixels)
    if kind != "black":  # black has no randomness to vary; a swap of 4 has only 9 outcomes
        assert any(not torch.equal(a, corrupt_images(pixels, kind, gen(seed))) for seed in range(8, 13))


def test_alpha_bar_is_ddpm_linear_schedule():
    betas = [1e-4 + (0.02 - 1e-4) * i / 999 for i in range(1000)]
    expected = 1.0
    for beta in betas[:700]:
        expected *= 1 - beta
    assert alpha_bar(700) == pytest.approx(expected, rel=1e-9)
    assert alpha_bar(1) == pytest.approx(1 - 1e-4)
    with pytest.raises(ValueError):
        alpha_bar(0)
    with pytest.raises(ValueError):
        alpha_bar(1001)


def test_diffusion_noise_follows_the_forward_process():
    x0 = torch.full((3, 64, 64), 0.8)
    a = alpha_bar(700)
    noisy = diffusion_noise(x0, 700, 1000, gen(0))
    eps = (noisy - math.sqrt(a) * x0) / math.sqrt(1 - a)
    assert eps.mean().item() == pytest.approx(0.0, abs=0.05)
    assert eps.std().item() == pytest.approx(1.0, abs=0.05)
    # the same generator state gives exactly the noise torch.randn draws
    expected = math.sqrt(a) * x0 + math.sqrt(1 - a) * torch.randn(x0.shape, generator=gen(0))
    assert torch.allclose(noisy, expected)
    # an earlier step keeps more of the image
    early = diffusion_noise(x0, 50, 1000, gen(0))
    assert (early - x0).abs().mean() < (noisy - x0).abs().mean()


def test_black_is_black_after_normalisation(pixels):
    assert torch.equal(black(pixels), torch.full_like(pixels, -1.0))


def test_rotation_by_90_degrees_is_rot90_and_uncovered_corners_are_black():
    image = torch.rand(1, 3, 8, 8, generator=gen(1)) * 2 - 1
    quarter = rotate(image, gen(0), min_degrees=90, max_degrees=90)
    assert torch.allclose(quarter, torch.rot90(image, k=1, dims=(2, 3)), atol=1e-5)
    tilted = rotate(torch.ones(1, 3, 16, 16), gen(0), min_degrees=45, max_degrees=45)
    assert tilted[0, :, 0, 0].tolist() == pytest.approx([-1.0] * 3)  # corner came from outside
    assert tilted[0, :, 8, 8].tolist() == pytest.approx([1.0] * 3)  # centre stays


def test_rotation_angles_lie_between_10_and_80_degrees():
    # a single bright pixel right of the centre moves by the rotation angle
    image = -torch.ones(64, 3, 33, 33)
    image[:, :, 16, 28] = 1.0
    rotated = rotate(image, gen(3))
    for one in rotated:
        weights = (one[0] + 1).clamp_min(0)
        ys, xs = torch.meshgrid(torch.arange(33.0), torch.arange(33.0), indexing="ij")
        cy, cx = (weights * ys).sum() / weights.sum(), (weights * xs).sum() / weights.sum()
        angle = abs(math.degrees(math.atan2(float(cy) - 16, float(cx) - 16)))
        assert 8 <= angle <= 82


def test_random_crop_zooms_into_part_of_the_image():
    image = torch.linspace(-1, 1, 32).repeat(1, 3, 32, 1)  # a horizontal gradient
    whole = random_crop(image, gen(0), min_scale=1.0, max_scale=1.0)
    assert torch.allclose(whole, image, atol=1e-6)
    part = random_crop(image, gen(0))
    assert part.shape == image.shape
    span = part[0, 0, 0, -1] - part[0, 0, 0, 0]
    assert span < 0.75 * (image[0, 0, 0, -1] - image[0, 0, 0, 0])  # a narrower window, enlarged


def test_single_images_keep_their_shape():
    image = torch.zeros(3, 16, 16)
    for kind in ("diffusion", "black", "crop", "rotate"):
        assert corrupt_images(image, kind, gen(0)).shape == image.shape


def test_derangement_has_no_fixed_points_and_is_deterministic():
    for n in (2, 3, 10, 50):
        perm = derangement(n, gen(n))
        assert sorted(perm.tolist()) == list(range(n))
        assert all(perm[i].item() != i for i in range(n))
        assert torch.equal(perm, derangement(n, gen(n)))
    assert not torch.equal(derangement(50, gen(1)), derangement(50, gen(2)))
    with pytest.raises(ValueError):
        derangement(1, gen(0))


def test_swaps_give_every_sample_another_samples_image_and_context(pixels):
    swapped = swap_images(pixels, gen(4))
    for i in range(4):
        partners = [j for j in range(4) if torch.equal(swapped[i], pixels[j])]
        assert len(partners) == 1 and partners[0] != i
    contexts = ["a", "b", "c", "d", "e"]
    out = swap_contexts(contexts, gen(5))
    assert sorted(out) == contexts and all(o != c for o, c in zip(out, contexts))
    assert out == swap_contexts(contexts, gen(5))
    with pytest.raises(ValueError):
        swap_images(pixels[0], gen(0))


def test_swap_uses_given_partner_images_and_checks_their_shape(pixels):
    others = torch.zeros_like(pixels)
    assert torch.equal(corrupt_images(pixels, "swap", gen(0), other_pixels=others), others)
    with pytest.raises(ValueError):
        corrupt_images(pixels, "swap", gen(0), other_pixels=others[:2])
    with pytest.raises(ValueError):
        corrupt_images(pixels, "blur", gen(0))


class _Example:
    """The two fields negative_partners reads, as a corpus PreferenceExample carries them."""

    def __init__(self, category, chosen, decorative=False):
        self.meta = {} if category is None else {"category": category}
        self.chosen, self.chosen_decorative = chosen, decorative


def _mixed_examples() -> list:
    icons = [_Example("icon_control", answer) for answer in ("Search", "Search", "Zoom in", "Cart", "Home", "Cart")]
    texts = [_Example("text", answer) for answer in ("Free shipping", "Sale", "Gallery", "Contact us")]
    decorative = [_Example("decorative", "", True) for _ in range(3)]
    return icons + texts + decorative + [_Example(None, "from user feedback"), _Example(None, "another")]


def test_any_partners_are_the_papers_derangement():
    examples = _mixed_examples()
    assert negative_partners(examples, 5, "any") == derangement(len(examples), gen(5)).tolist()


def test_same_category_partners_share_the_category_and_differ_in_the_answer():
    examples = _mixed_examples()
    draws = [negative_partners(examples, seed, "same_category") for seed in range(20)]
    assert draws[0] == negative_partners(examples, 0, "same_category")  # a pure function of the seed
    assert len({tuple(d) for d in draws}) > 1
    for partners in draws:
        for i, j in enumerate(partners):
            assert j != i
            mine, theirs = examples[i], examples[j]
            if mine.meta.get("category") in ("icon_control", "text"):
                assert theirs.meta["category"] == mine.meta["category"]
                assert theirs.chosen != mine.chosen  # "Search" never gets the other "Search" as its negative
    # every partner with a different answer gets drawn: not always the first one found
    assert {d[0] for d in draws} == {2, 3, 4, 5}


def test_examples_without_a_hard_partner_fall_back_to_the_derangement():
    examples = _mixed_examples()
    fallback = derangement(len(examples), gen(3)).tolist()
    partners = negative_partners(examples, 3, "same_category")
    for i in range(10, len(examples)):  # decorative (one answer for all) and uncategorised examples
        assert partners[i] == fallback[i]
    with pytest.raises(ValueError, match="partners must be one of"):
        negative_partners(examples, 3, "nearest")
