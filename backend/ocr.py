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
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout

import numpy as np
from PIL import Image, ImageOps

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

    def _get_engine(self):
        with self._engine_lock:
            if self._engine is None:
                from rapidocr import RapidOCR

                self._engine = RapidOCR(params={"Global.log_level": "critical"})
            return self._engine

    def warm_up(self) -> None:
        """Load the OCR models in the background now, not inside the first request's time budget.

        Loading takes seconds on 2 cores; without this the first image of text a
        fresh backend sees runs past its OCR budget and is described without its text.
        """
        if self.enabled:
            self._pool.submit(self._get_engine)

    def read(self, image: Image.Image) -> str:
        """The text in ``image`` ("" when disabled, skipped, timed out or none found)."""
        if not self.enabled:
            return ""
        image = prepare_image(image)
        if not likely_has_text(image):
            self.stats["skipped"] += 1
            return ""
        key = hashlib.sha256(image.tobytes() + repr(image.size).encode()).hexdigest()
        if key in self._cache:
            self._cache.move_to_end(key)
            self.stats["cached"] += 1
            return self._cache[key]
        future = self._pool.submit(self._recognise, image)
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

    def _recognise(self, image: Image.Image) -> str:
        if max(image.size) > MAX_SIDE:
            image = image.copy()
            image.thumbnail((MAX_SIDE, MAX_SIDE))
        elif min(image.size) < UPSCALE_BELOW and 2 * max(image.size) <= MAX_SIDE:
            image = image.resize((image.width * 2, image.height * 2), Image.Resampling.BICUBIC)
        padded = ImageOps.expand(image, border=PAD, fill="white")
        try:
            result = self._get_engine()(np.asarray(padded))
        except Exception:  # a broken OCR must never break a description
            log.exception("OCR failed")
            return ""
        texts = result.txts or ()
        scores = result.scores or ()
        return clean_text(" ".join(t for t, s in zip(texts, scores) if s >= MIN_SCORE), OCR_LIMIT)
