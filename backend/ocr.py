"""Text in images, read with rapidocr (its PP-OCR models ship inside the wheel).

OCR is the slowest step of a description (0.3–1.6 s on 2 cores), so it is
gated: images unlikely to hold text (tiny, nearly uniform) are skipped, results
are cached by image content, and each read is bounded in time. A read that runs
past its budget is abandoned and the description goes on without OCR text.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps
from rapidocr import RapidOCR
from rapidocr.main import RapidOCRError

from backend.modelinput import OCR_LIMIT, clean_text, prepare_image

log = logging.getLogger(__name__)

MIN_SIDE = 10         # a strip thinner than this cannot hold legible text
MIN_LONG_SIDE = 56    # icons, emoji and bullets: OCR reads a stray letter at best (1 s wasted)
MIN_CONTRAST = 12.0   # grey-level standard deviation below this: spacer, gradient, flat colour
MIN_SCORE = 0.6       # recognitions rapidocr itself doubts are dropped
PAD = 40              # detection misses text that touches the border (DESIGN.md §5)
MAX_SIDE = 960
UPSCALE_BELOW = 64    # button-sized text is read doubled: on the corpus's images of text
                      # exact reads rose from 52 to 57 of 60 (spurious letters like "Meet t the Team")
STAGES = ("detect", "recognise")
TITLE_HEIGHT = 0.9    # a box at least this share of the tallest box's height is part of the title
BOX_BATCH = 6         # text boxes recognised together, in reading order, until OCR_LIMIT characters are read
# A shorter read (an image larger than any the model learned from: modelinput.ocr_limit) recognises its
# boxes one at a time: it stops at the box that reaches its limit, and no box is padded to the widest of a
# batch. On the bench's real images that read 80 characters in 104 ms instead of 207 (mean; 6 at a time
# to 100). The full read keeps BOX_BATCH: the text the model was trained on was read that way.
# rapidocr's defaults upscale every image to a 736 px short side before detection (a 100 px button,
# padded, became 1,472 x 736 px) and run an angle classifier on every box (web text is upright).
# Detection on at most 736 px on the long side instead, without the classifier: about 4x less OCR
# time on the corpus's test images (86 s -> 20 s for 388) with the bundled model's corpus figures
# kept (CIDEr 4.54 -> 4.57, images of text 93.3% -> 92.4%, one image; results/LOG.md 2026-12-06).
# Recognising only the first 4 boxes was cheaper still but lost the long texts (CIDEr 4.36).
ENGINE_PARAMS = {"Global.use_cls": False, "Det.limit_type": "max", "Det.limit_side_len": 736}


def likely_has_text(image: Image.Image) -> bool:
    """Cheap gate: skip images too small, too thin or too flat to hold text worth reading."""
    if min(image.size) < MIN_SIDE or max(image.size) < MIN_LONG_SIDE:
        return False
    grey = np.asarray(ImageOps.grayscale(image.resize((64, 64)) if max(image.size) > 64 else ImageOps.grayscale(image)))
    return float(grey.std()) >= MIN_CONTRAST


@dataclass(frozen=True)
class TextRead:
    """What one read found: ``text``, every box read, in reading order (the model's input), and
    ``title``, those of its boxes whose letters are the largest (at least TITLE_HEIGHT of the tallest
    box's height), in reading order: a screenshot's page title, a diagram's heading, a banner's slogan.
    An image holding more text than a listener should hear is summed up by its title, as authors do
    ("Screenshot of the 18F Content Guide"): on the real-web dev split an honest "Text in image" form
    said what the author said for 89 of 311 images with text when it said the title, 65 with the first
    twelve words read (results/LOG.md, 2026-12-07)."""

    text: str = ""
    title: str = ""


NOTHING_READ = TextRead()


class OcrReader:
    """Reads text from images; thread-safe, cached, time-bounded, skippable."""

    def __init__(self, enabled: bool = True, timeout_s: float = 3.0, cache_size: int = 1024):
        self.enabled = enabled
        self.timeout_s = timeout_s
        self._engine = None
        self._engine_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr")
        self._cache: OrderedDict[str, TextRead] = OrderedDict()
        self._cache_size = cache_size
        self.stats = {"read": 0, "skipped": 0, "cached": 0, "timed_out": 0}
        #: seconds spent in each step of the reads so far: a benchmark can say where OCR time goes
        self.seconds = {stage: 0.0 for stage in STAGES}

    def _get_engine(self):
        with self._engine_lock:
            if self._engine is None:
                self._engine = RapidOCR(params={"Global.log_level": "critical", **ENGINE_PARAMS})
            return self._engine

    def warm_up(self) -> None:
        """Load the OCR models in the background now, not inside the first request's time budget.

        Loading takes seconds on 2 cores; without this the first image of text a
        fresh backend sees runs past its OCR budget and is described without its text.
        """
        if self.enabled:
            self._pool.submit(self._get_engine)

    def read(self, image: Image.Image, limit: int = OCR_LIMIT) -> str:
        """The text in ``image`` ("" when disabled, skipped, timed out or none found), its boxes read
        until ``limit`` characters (as much as the caller can use: modelinput.ocr_limit)."""
        return self.read_with_title(image, limit).text

    def read_with_title(self, image: Image.Image, limit: int = OCR_LIMIT) -> TextRead:
        """:meth:`read`'s text, and the title among the boxes it read (:class:`TextRead`)."""
        if not self.enabled:
            return NOTHING_READ
        image = prepare_image(image)
        if not likely_has_text(image):
            self.stats["skipped"] += 1
            return NOTHING_READ
        key = hashlib.sha256(image.tobytes() + repr((image.size, limit)).encode()).hexdigest()
        if key in self._cache:
            self._cache.move_to_end(key)
            self.stats["cached"] += 1
            return self._cache[key]
        future = self._pool.submit(self._recognise, image, limit)
        try:
            found = future.result(timeout=self.timeout_s)
        except FutureTimeout:
            self.stats["timed_out"] += 1
            log.warning("OCR took longer than %.1fs; describing without it", self.timeout_s)
            return NOTHING_READ
        self.stats["read"] += 1
        self._cache[key] = found
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return found

    def _recognise(self, image: Image.Image, limit: int = OCR_LIMIT) -> TextRead:
        padded = ImageOps.expand(_ocr_size(image), border=PAD, fill="white")
        try:
            return read_text(self._get_engine(), np.asarray(padded), self.seconds, limit)
        except Exception:  # a broken OCR must never break a description
            log.exception("OCR failed")
            return NOTHING_READ


def read_text(engine, pixels: np.ndarray, seconds: dict[str, float], limit: int = OCR_LIMIT) -> TextRead:
    """The text rapidocr ``engine`` finds in ``pixels``, its time added to ``seconds`` (by STAGES).

    rapidocr's own call recognises every box it detects; a screenshot holds dozens, and
    their recognition was most of a read's time, while the prompt keeps only OCR_LIMIT
    characters of the text. So boxes are recognised in reading order (rapidocr sorts
    them so), BOX_BATCH at a time, until ``limit`` characters are read: the same text as
    reading them all, cut where the prompt cuts it. A smaller ``limit`` (where the caller
    can use less) reads one box at a time and ends at the box that reaches it, so the text
    ends at a box, never inside a word. The title is found among the boxes read (no box is
    recognised for it alone), so every word of it is in the text.
    """
    start = time.perf_counter()
    prepared, record = engine.preprocess_img(pixels)
    try:
        crops, detected = engine.detect_and_crop(prepared, record)
    except RapidOCRError:  # no text found
        return NOTHING_READ
    finally:
        seconds["detect"] += time.perf_counter() - start
    heights = box_heights(detected.boxes if detected is not None else None, len(crops))
    start = time.perf_counter()
    read: list[tuple[str, float]] = []  # (text, box height) of each box kept, in reading order
    batch = BOX_BATCH if limit >= OCR_LIMIT else 1
    for first in range(0, len(crops), batch):
        found = engine.recognize_txt(crops[first:first + batch])
        read += [(t, heights[first + i]) for i, (t, s) in enumerate(zip(found.txts or (), found.scores or ()))
                 if s >= MIN_SCORE and t.strip()]
        if len(" ".join(t for t, _ in read)) >= limit:
            break
    seconds["recognise"] += time.perf_counter() - start
    tallest = max((h for _, h in read), default=0.0)
    title = [t for t, h in read if h >= TITLE_HEIGHT * tallest]
    return TextRead(clean_text(" ".join(t for t, _ in read), OCR_LIMIT), clean_text(" ".join(title), OCR_LIMIT))


def box_heights(boxes, count: int) -> list[float]:
    """The height of each detected box (four corners, clockwise from top left: the mean length of its
    left and right edges, so a slanted line is measured across its letters); 0 for each when the
    detector gave no boxes."""
    if boxes is None or len(boxes) != count:
        return [0.0] * count
    corners = np.asarray(boxes, dtype=float)
    left = np.linalg.norm(corners[:, 3] - corners[:, 0], axis=1)
    right = np.linalg.norm(corners[:, 2] - corners[:, 1], axis=1)
    return ((left + right) / 2).tolist()


def _ocr_size(image: Image.Image) -> Image.Image:
    """The image at the size it is read: large ones shrunk to MAX_SIDE, button-sized ones doubled."""
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    elif min(image.size) < UPSCALE_BELOW and 2 * max(image.size) <= MAX_SIDE:
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    return image
