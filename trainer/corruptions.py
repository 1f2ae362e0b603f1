"""Negatives for MCM-DPO: corrupted images (m_l) and swapped contexts (c_l).

Images are pixel tensors as the image processor returns them, ``[3, H, W]`` or
``[B, 3, H, W]``, normalised to [-1, 1] (mean = std = 0.5, as the project's
tiny models and Mozilla/distilvit use). The corruptions are those the paper
offers (DESIGN.md §3): forward-diffusion noise (the default, step 700 of 1000),
a black image, a random crop, a rotation by 10–80°, another sample's image;
and who that other sample is (:func:`negative_partners`).

Every random choice is drawn from a caller-supplied CPU ``torch.Generator``
(noise included, then moved to the pixels' device), so a seed gives the same
negatives on CPU and CUDA, run after run.
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Literal, Sequence, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor

Corruption = Literal["diffusion", "black", "crop", "rotate", "swap"]
CORRUPTIONS: tuple[str, ...] = ("diffusion", "black", "crop", "rotate", "swap")
DEFAULT_DIFFUSION_STEP = 700
DEFAULT_DIFFUSION_STEPS = 1000
BLACK = -1.0  # a black pixel (0) after normalisation with mean = std = 0.5

T = TypeVar("T")


def _batched(pixels: Tensor) -> tuple[Tensor, bool]:
    if pixels.dim() == 3:
        return pixels.unsqueeze(0), True
    if pixels.dim() == 4:
        return pixels, False
    raise ValueError(f"expected pixels [3,H,W] or [B,3,H,W], got {tuple(pixels.shape)}")


def _rand(generator: torch.Generator | None, *shape: int) -> Tensor:
    return torch.rand(shape, generator=generator)


def alpha_bar(step: int, num_steps: int = DEFAULT_DIFFUSION_STEPS,
              beta_start: float = 1e-4, beta_end: float = 0.02) -> float:
    """DDPM's ``ᾱ_t = Π_{i≤t} (1 - β_i)`` for the linear β schedule, steps counted 1..T."""
    if not 1 <= step <= num_steps:
        raise ValueError(f"diffusion step must be in 1..{num_steps}, got {step}")
    betas = torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64)
    return float(torch.prod(1.0 - betas[:step]))


def diffusion_noise(pixels: Tensor, step: int = DEFAULT_DIFFUSION_STEP,
                    num_steps: int = DEFAULT_DIFFUSION_STEPS,
                    generator: torch.Generator | None = None) -> Tensor:
    """Forward diffusion ``x_t = sqrt(ᾱ_t)·x_0 + sqrt(1-ᾱ_t)·ε`` at ``step`` of ``num_steps``.

    At the default step 700 of 1000 only ~8% of the signal's amplitude
    survives: the image is mostly gone while its statistics stay image-like.
    """
    a = alpha_bar(step, num_steps)
    eps = torch.randn(pixels.shape, generator=generator, dtype=torch.float32)
    eps = eps.to(device=pixels.device, dtype=pixels.dtype)
    return math.sqrt(a) * pixels + math.sqrt(1.0 - a) * eps


def black(pixels: Tensor, value: float = BLACK) -> Tensor:
    """An all-black image of the same shape (no information at all)."""
    return torch.full_like(pixels, value)


def random_crop(pixels: Tensor, generator: torch.Generator | None = None,
                min_scale: float = 0.3, max_scale: float = 0.7) -> Tensor:
    """A random window (each side ``min_scale``–``max_scale`` of the original) resized back.

    The result shows only part of the scene, enlarged: a plausible-looking image
    that a description of the whole one no longer matches.
    """
    x, single = _batched(pixels)
    _, _, h, w = x.shape
    out = []
    for i in range(x.shape[0]):
        sh, sw, oy, ox = _rand(generator, 4).tolist()
        ch = max(1, round(h * (min_scale + (max_scale - min_scale) * sh)))
        cw = max(1, round(w * (min_scale + (max_scale - min_scale) * sw)))
        top, left = int(oy * (h - ch + 1)), int(ox * (w - cw + 1))
        window = x[i : i + 1, :, top : top + ch, left : left + cw]
        out.append(F.interpolate(window, size=(h, w), mode="bilinear", align_corners=False))
    result = torch.cat(out)
    return result[0] if single else result


def rotate(pixels: Tensor, generator: torch.Generator | None = None,
           min_degrees: float = 10.0, max_degrees: float = 80.0, fill: float = BLACK) -> Tensor:
    """Rotate each image by a random angle in [min_degrees, max_degrees] about its centre.

    Corners uncovered by the rotation are filled with ``fill`` (black), as
    torchvision's ``RandomRotation`` does, which the paper's code uses.
    """
    x, single = _batched(pixels)
    n = x.shape[0]
    angles = torch.deg2rad(min_degrees + (max_degrees - min_degrees) * _rand(generator, n))
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros(n)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)
    theta = theta.to(device=x.device, dtype=x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # zero padding of (x - fill) fills uncovered corners with `fill` once shifted back
    result = F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill
    return result[0] if single else result


def derangement(n: int, generator: torch.Generator | None = None) -> Tensor:
    """A random permutation of ``range(n)`` with no fixed point: index i gets a partner ≠ i.

    Uniform over derangements (rejection sampling; about e ≈ 2.7 draws on average).
    """
    if n < 2:
        raise ValueError(f"another sample's image/context needs at least 2 samples, got {n}")
    identity = torch.arange(n)
    while True:
        perm = torch.randperm(n, generator=generator)
        if not bool((perm == identity).any()):
            return perm


def swap_contexts(contexts: Sequence[T], generator: torch.Generator | None = None) -> list[T]:
    """Context negatives ``c_l``: each sample gets another sample's context."""
    order = derangement(len(contexts), generator).tolist()
    return [contexts[j] for j in order]


def swap_images(pixels: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Each image in the batch replaced by another sample's image (batch of at least 2)."""
    x, single = _batched(pixels)
    if single:
        raise ValueError("swapping images needs a batch; pass other_pixels for a single image")
    return x[derangement(x.shape[0], generator).to(x.device)]


def corrupt_images(pixels: Tensor, kind: Corruption = "diffusion",
                   generator: torch.Generator | None = None, *,
                   diffusion_step: int = DEFAULT_DIFFUSION_STEP,
                   diffusion_steps: int = DEFAULT_DIFFUSION_STEPS,
                   other_pixels: Tensor | None = None) -> Tensor:
    """The image negative ``m_l`` for ``pixels`` by the corruption named ``kind``.

    For ``"swap"`` (the paper's "random" image), ``other_pixels`` are used when
    given (e.g. images of dataset-level partners from :func:`derangement`);
    otherwise the batch is deranged, which needs at least 2 images.
    """
    if kind == "diffusion":
        return diffusion_noise(pixels, diffusion_step, diffusion_steps, generator)
    if kind == "black":
        return black(pixels)
    if kind == "crop":
        return random_crop(pixels, generator)
    if kind == "rotate":
        return rotate(pixels, generator)
    if kind == "swap":
        if other_pixels is None:
            return swap_images(pixels, generator)
        if other_pixels.shape != pixels.shape:
            raise ValueError(f"other_pixels {tuple(other_pixels.shape)} differ from pixels {tuple(pixels.shape)}")
        return other_pixels.to(pixels)
    raise ValueError(f"unknown corruption {kind!r}; choose from {CORRUPTIONS}")


PARTNERS = ("any", "same_category")


def negative_partners(examples: Sequence, seed: int, scope: str = "any") -> list[int]:
    """For each example, the other example whose context (and, with ``swap``, image) is its negative.

    ``any`` is the paper's choice: a random other sample (a derangement of the
    data set). Across categories that negative is easy: a chart's context under
    an icon is already unlikely, so the context and image terms push on what
    the model gets right anyway. ``same_category`` draws the partner from the
    same corpus category (``meta["category"]``) among examples whose correct
    answer differs, the hard negative: another icon in another link, another
    image of text. Examples without a category, or whose category has no
    such partner (every decorative image has the same answer), fall back to
    the derangement.
    """
    if scope not in PARTNERS:
        raise ValueError(f"partners must be one of {PARTNERS}, not {scope!r}")
    generator = torch.Generator().manual_seed(seed)
    partners = derangement(len(examples), generator).tolist()
    if scope == "any":
        return partners
    answer = [(e.chosen, e.chosen_decorative) for e in examples]
    by_category: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        if e.meta.get("category") is not None:
            by_category[e.meta["category"]].append(i)
    for members in by_category.values():
        for i in members:
            others = [j for j in members if answer[j] != answer[i]]
            if others:
                partners[i] = others[int(torch.randint(len(others), (1,), generator=generator))]
    return partners
