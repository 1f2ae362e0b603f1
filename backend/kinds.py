"""What kind of picture an image is — photo, screenshot, chart, image of text or another graphic — from its pixels.

Why: when nothing supports the model's answer, the honest form says what is known
(backend/honest.py), and the kind is known far more often than the content: a
listener who hears "Photo, no description available" or "Screenshot: Pull
requests" knows what they are missing, where "No description available" tells
them nothing. The captioning model sees 64 x 64 pixels and was never shown a
photograph or a screenshot, so it cannot say which one an image is; cheap
statistics of the full image can (photos have smooth, many-coloured tones;
screenshots and charts have flat areas and straight edges; text has two colours
and dense strokes).

:func:`features` is the one function that turns an image into the classifier's
input, for training (trainer/kinds.py) and serving alike. The classifier is a
multinomial logistic regression, stored as plain numbers in ``kinds.json`` beside
the model, with the probability at which each kind may be said; kinds without a
threshold are never said. Trained by ``make model`` on installed real assets
(corpus/kinds.py); the thresholds are chosen on the real-web dev split.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

KINDS = ("photo", "screenshot", "chart", "text", "graphic")
KINDS_FILE = "kinds.json"
WORK_SIDE = 256  # statistics are taken on the image scaled to at most this side: cheap, and enough for tones and edges
FEATURE_NAMES = (
    "log_width", "log_height", "log_aspect", "transparent_share",
    "log_colours", "top_colour_share", "top8_colour_share", "colour_entropy",
    "flat_share", "strong_edge_share", "mean_gradient", "axis_edge_share",
    "saturation_mean", "saturation_std", "value_mean", "value_std",
    "white_share", "dark_share", "luma_entropy", "flat_rows", "flat_columns",
    # the same image in a 4 x 4 grid: a photo is photo-like everywhere, a page around a photo is not
    "cells_flat_min", "cells_flat_median", "cells_flat_max", "cells_mostly_flat", "cells_busy",
)
GRID = 4


# What the author's own tools and words named the file: "Screen Shot 2016-03-01 at 10.32.12.png",
# "screenshot-of-the-form.jpg", "screen-capture.png"; "worm-logo.jpg", "html5logo.png"; "bar-chart.png",
# "flowchart.svg", "line_graph.png"; "cloud-diagram.svg". The pixels cannot tell a screenshot, a logo or
# a chart from another graphic often enough to say so (LOG 2026-12-07); the file name can. First match
# wins: "screenshot-of-the-chart.png" is a screenshot.
KINDS_IN_FILE_NAMES = (
    ("screenshot", re.compile(r"screen[\s_.-]*(?:shot|cap(?:ture)?)", re.IGNORECASE)),
    ("logo", re.compile(r"logo(?!n|ut)", re.IGNORECASE)),  # not "logon.svg", "logout.png"
    ("diagram", re.compile(r"diagram|flowchart", re.IGNORECASE)),
    ("chart", re.compile(r"chart(?!er)|(?<![a-z])graph(?![a-z])", re.IGNORECASE)),  # not "charter", "photograph"
)


def kind_in_file_name(file_name: str) -> str:
    """The kind the image's file name states ("screenshot", "logo", "diagram", "chart"), or ""."""
    return next((kind for kind, pattern in KINDS_IN_FILE_NAMES if pattern.search(file_name or "")), "")


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0].astype(np.float64)
    p /= p.sum()
    return float(-(p * np.log2(p)).sum())


def features(image: Image.Image) -> np.ndarray:
    """The classifier's input for one image (see FEATURE_NAMES); the same for training and serving."""
    width, height = image.size
    factor = -(-max(width, height) // WORK_SIDE)  # reduce by a whole factor first: a box filter, cheap on large images
    small = image.reduce(factor) if factor > 1 and image.mode in ("RGB", "RGBA", "L", "LA") else image
    rgba = small.convert("RGBA")
    if max(rgba.size) > WORK_SIDE:  # a mode reduce() does not take (palette, CMYK)
        scale = WORK_SIDE / max(rgba.size)
        rgba = rgba.resize((max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale))),
                           Image.Resampling.BILINEAR)
    pixels = np.asarray(rgba, dtype=np.float32)
    alpha = pixels[..., 3:4] / 255.0
    transparent_share = float((alpha < 0.5).mean())
    rgb = pixels[..., :3] * alpha + 255.0 * (1.0 - alpha)  # transparency shown over white, as most pages do

    quantised = (rgb.astype(np.int32) >> 4)
    codes = (quantised[..., 0] << 8) | (quantised[..., 1] << 4) | quantised[..., 2]
    counts = np.bincount(codes.ravel(), minlength=4096)
    ordered = np.sort(counts)[::-1] / codes.size

    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    dx = np.abs(np.diff(luma, axis=1))[:-1, :] if luma.shape[1] > 1 else np.zeros((max(luma.shape[0] - 1, 1), 1))
    dy = np.abs(np.diff(luma, axis=0))[:, :-1] if luma.shape[0] > 1 else np.zeros((1, max(luma.shape[1] - 1, 1)))
    if dx.shape != dy.shape:  # one-pixel-wide images: no two-dimensional gradient
        dx = dy = np.zeros((1, 1), dtype=np.float32)
    gradient = dx + dy
    strong = gradient > 40
    axis = strong & (np.minimum(dx, dy) < 0.2 * np.maximum(dx, dy))

    high, low = rgb.max(axis=-1), rgb.min(axis=-1)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1e-6), 0.0)
    value = high / 255.0
    rows_flat = float((np.ptp(luma, axis=1) < 8).mean())
    columns_flat = float((np.ptp(luma, axis=0) < 8).mean())

    return np.array([
        np.log2(max(width, 1)), np.log2(max(height, 1)), np.log2(max(width, 1) / max(height, 1)), transparent_share,
        np.log2(max(int((counts > 0).sum()), 1)), ordered[0], ordered[:8].sum(), _entropy(counts),
        float((gradient < 2).mean()), float(strong.mean()), float(gradient.mean()) / 255.0,
        float(axis.sum() / max(int(strong.sum()), 1)),
        float(saturation.mean()), float(saturation.std()), float(value.mean()), float(value.std()),
        float((low > 235).mean()), float((high < 40).mean()),
        _entropy(np.bincount(np.clip(luma / 8, 0, 31).astype(np.int64).ravel(), minlength=32)),
        rows_flat, columns_flat, *_cells(gradient < 2),
    ], dtype=np.float64)


def _cells(flat: np.ndarray) -> list[float]:
    """Min, median and max share of flat pixels over a GRID x GRID split, and the shares of mostly flat and busy cells."""
    rows = np.array_split(np.arange(flat.shape[0]), GRID)
    columns = np.array_split(np.arange(flat.shape[1]), GRID)
    shares = np.array([flat[np.ix_(r, c)].mean() if len(r) and len(c) else 1.0 for r in rows for c in columns])
    return [float(shares.min()), float(np.median(shares)), float(shares.max()),
            float((shares > 0.6).mean()), float((shares < 0.2).mean())]


@dataclass(frozen=True)
class KindRecogniser:
    """A fitted classifier over :func:`features`, and the probability at which each kind may be said."""

    kinds: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # (kinds, features)
    intercept: np.ndarray  # (kinds,)
    say_at: dict[str, float]  # kind -> least probability to name it; a kind absent here is never named
    words_at_most: dict[str, int] = field(default_factory=dict)  # kind -> most words of its own text it may hold

    def probabilities(self, image: Image.Image) -> dict[str, float]:
        return self.probabilities_of(features(image))

    def probabilities_of(self, values: np.ndarray) -> dict[str, float]:
        """The probability of each kind for one image's :func:`features`."""
        logits = self.coef @ ((values - self.mean) / self.scale) + self.intercept
        exp = np.exp(logits - logits.max())
        return dict(zip(self.kinds, (exp / exp.sum()).tolist()))

    def best(self, image: Image.Image) -> tuple[str, float]:
        """The likeliest kind and its probability, whether or not it may be said."""
        probabilities = self.probabilities(image)
        kind = max(probabilities, key=probabilities.get)
        return kind, probabilities[kind]

    def recognise(self, image: Image.Image, text_read: str = "") -> tuple[str, float]:
        """(kind, probability) when the kind may be said of this image, else ("", its best probability).

        ``text_read``: what OCR read in the image. A page around a photograph looks like a photograph to
        the pixel statistics; its text tells them apart, so a kind may carry a most number of words.
        """
        kind, probability = self.best(image)
        words = len(text_read.split())
        if probability >= self.say_at.get(kind, 2.0) and words <= self.words_at_most.get(kind, words):
            return kind, probability
        return "", probability

    def to_dict(self) -> dict:
        return {"features": list(FEATURE_NAMES), "kinds": list(self.kinds), "mean": self.mean.tolist(),
                "scale": self.scale.tolist(), "coef": self.coef.tolist(), "intercept": self.intercept.tolist(),
                "say_at": self.say_at, "words_at_most": self.words_at_most}

    @classmethod
    def from_dict(cls, data: dict) -> "KindRecogniser":
        if list(data.get("features", [])) != list(FEATURE_NAMES):
            raise ValueError("kinds.json was fitted on other features than backend.kinds.features computes")
        recogniser = cls(tuple(data["kinds"]), np.asarray(data["mean"], float), np.asarray(data["scale"], float),
                         np.asarray(data["coef"], float), np.asarray(data["intercept"], float),
                         {k: float(v) for k, v in data.get("say_at", {}).items()},
                         {k: int(v) for k, v in data.get("words_at_most", {}).items()})
        if recogniser.coef.shape != (len(recogniser.kinds), len(FEATURE_NAMES)):
            raise ValueError("kinds.json: coef does not match its kinds and features")
        return recogniser

    @classmethod
    def load(cls, model_dir: str | Path) -> "KindRecogniser | None":
        """The recogniser shipped with a model, or None for a model without one (its honest form names no kind)."""
        path = Path(model_dir) / KINDS_FILE
        return cls.from_dict(json.loads(path.read_text())) if path.is_file() else None

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / KINDS_FILE
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return path
