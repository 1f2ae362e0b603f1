"""Every knob of the benchmark in one typed place, with a full and a quick (smoke-test) preset.

The full preset is sized so that ``make bench`` finishes in well under 15
minutes on 2 CPU cores; the quick preset exists for tests/bench and for a
first look (``python -m bench --quick``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUNDLED_MODEL = REPO / "models" / "bundled"
RESULTS_DIR = REPO / "bench" / "results"
WORK_DIR = REPO / "var" / "bench"  # scratch models, corpora, databases (git-ignored)
REALWEB_DATA = REPO.parent / "shared" / "data" / "realweb"  # real web images with their pages (DESIGN.md §7)

SECTIONS = ("model", "http", "ocr_gate", "training", "quantization", "extension", "realweb")


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and repeat counts. Times are medians over ``repeats`` unless a figure says otherwise."""

    #: new tokens forced per image when comparing decoding costs (EOS is ignored, so an
    #: untrained model that would stop at once or never costs the same as a trained one)
    new_tokens: int = 16
    num_beams: int = 4
    repeats: int = 7
    #: describe requests timed per latency figure (p50/p95 need enough of them)
    http_requests: int = 30
    #: describe requests timed with OCR on (each read costs seconds on 2 cores)
    ocr_requests: int = 10
    #: requests in the memory run (the issue asks 10,000; this is what fits the time budget)
    memory_requests: int = 300
    #: rounds of "16 in one request" vs "16 requests"
    batch_rounds: int = 3
    #: seconds each concurrency level runs for
    concurrency_s: float = 6.0
    concurrency_levels: tuple[int, ...] = (1, 4, 16)
    #: corpus examples generated for the OCR gate and quantization quality figures
    corpus_size: int = 200
    #: validation examples scored for the quantization metric change
    quality_examples: int = 24
    #: images on the generated page for the extension figures
    page_images: int = 500
    extension_timeout_s: float = 150.0
    #: real web images in the realweb sample (the same number from each set, seeded)
    realweb_images: int = 60
    #: distinct real images each client posts in a realweb throughput level
    realweb_load_requests: int = 12
    realweb_clients: tuple[int, ...] = (1, 4)
    #: gunicorn workers of the realweb backend: what ``make run`` starts (backend/serve.py)
    realweb_workers: int = 2
    realweb_page_images: int = 20
    #: page loads timed, each with a fresh backend and browser: the page figures are their median
    #: (one load's times swing by a second on this shared machine)
    realweb_page_rounds: int = 3
    #: likely images of text read for the text-reading figures (None: all of them, about 120)
    realweb_text_candidates: int | None = None
    #: goals of issue 29, per real image with OCR on (cache miss), and for a page of real images
    realweb_p50_ms: float = 120.0
    realweb_p90_ms: float = 250.0
    realweb_first_ms: float = 500.0
    realweb_all_ms: float = 4000.0
    training_batch: int = 4
    training_steps: int = 5
    seed: int = 0

    @classmethod
    def quick(cls) -> "BenchConfig":
        """Tiny sizes: proves every section runs; the numbers mean little."""
        return cls(new_tokens=4, num_beams=2, repeats=2, http_requests=3, ocr_requests=2, memory_requests=10,
                   batch_rounds=1, concurrency_s=1.0,
                   concurrency_levels=(1, 2), corpus_size=30, quality_examples=4, page_images=24,
                   extension_timeout_s=60.0, training_batch=2, training_steps=2, realweb_images=6,
                   realweb_load_requests=2, realweb_page_images=4, realweb_page_rounds=1,
                   realweb_text_candidates=6)

    def replace(self, **changes) -> "BenchConfig":
        return replace(self, **changes)
