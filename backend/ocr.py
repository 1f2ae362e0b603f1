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


class OcrReader:
    """Reads text from images; thread-safe, cached, time-bounded, skippable."""

    def __init__(self, enabled: bool = True, timeout_s: float = 3.0, cache_size: int = 1024):
        self.enabled = enabled
        self.timeout_s = timeout_s
        self._engine = None
        self._engine_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ocr")
        self._cache: OrderedDict[str, str] = OrderedDict()
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
        if not self.enabled:
            return ""
        image = prepare_image(image)
        if not likely_has_text(image):
            self.stats["skipped"] += 1
            return ""
        key = hashlib.sha256(image.tobytes() + repr((image.size, limit)).encode()).hexdigest()
        if key in self._cache:
            self._cache.move_to_end(key)
            self.stats["cached"] += 1
            return self._cache[key]
        future = self._pool.submit(self._recognise, image, limit)
        try:
            text = future.result(timeout=self.timeout_s)
        except FutureTimeout:
            self.stats["timed_out"] += 1
            log.warning("OCR took longer than %.1fs; describing without it", self.timeout_s)
            return ""
        self.stats["read"] += 1
        self._cache[key] = text
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return text

    def _recognise(self, image: Image.Image, limit: int = OCR_LIMIT) -> str:
        padded = ImageOps.expand(_ocr_size(image), border=PAD, fill="white")
        try:
            return read_text(self._get_engine(), np.asarray(padded), self.seconds, limit)
        except Exception:  # a broken OCR must never break a description
            log.exception("OCR failed")
            return ""


def read_text(engine, pixels: np.ndarray, seconds: dict[str, float], limit: int = OCR_LIMIT) -> str:
    """The text rapidocr ``engine`` finds in ``pixels``, its time added to ``seconds`` (by STAGES).

    rapidocr's own call recognises every box it detects; a screenshot holds dozens, and
    their recognition was most of a read's time, while the prompt keeps only OCR_LIMIT
    characters of the text. So boxes are recognised in reading order (rapidocr sorts
    them so), BOX_BATCH at a time, until ``limit`` characters are read: the same text as
    reading them all, cut where the prompt cuts it. A smaller ``limit`` (where the caller
    can use less) reads one box at a time and ends at the box that reaches it, so the text
    ends at a box, never inside a word.
    """
    start = time.perf_counter()
    prepared, record = engine.preprocess_img(pixels)
    try:
        crops, _boxes = engine.detect_and_crop(prepared, record)
    except RapidOCRError:  # no text found
        return ""
    finally:
        seconds["detect"] += time.perf_counter() - start
    start = time.perf_counter()
    words: list[str] = []
    batch = BOX_BATCH if limit >= OCR_LIMIT else 1
    for first in range(0, len(crops), batch):
        found = engine.recognize_txt(crops[first:first + batch])
        words += [t for t, s in zip(found.txts or (), found.scores or ()) if s >= MIN_SCORE and t.strip()]
        if len(" ".join(words)) >= limit:
            break
    seconds["recognise"] += time.perf_counter() - start
    return clean_text(" ".join(words), OCR_LIMIT)


def _ocr_size(image: Image.Image) -> Image.Image:
    """The image at the size it is read: large ones shrunk to MAX_SIDE, button-sized ones doubled."""
    if max(image.size) > MAX_SIDE:
        image = image.copy()
        image.thumbnail((MAX_SIDE, MAX_SIDE))
    elif min(image.size) < UPSCALE_BELOW and 2 * max(image.size) <= MAX_SIDE:
        image = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
    return image
