"""End-to-end describe over HTTP against the real backend (gunicorn subprocess, SQLite).

Every timed request is a cache miss unless the figure says otherwise: each
image is a corpus image with a few pixels changed to a counter, so it hashes
differently (DB cache, OCR cache) while costing what the original costs. The
client runs on the same 2 cores as the server, as the extension would.
"""
from __future__ import annotations

import base64
import io
import itertools
import json
import threading
import time
from pathlib import Path

import requests
from PIL import Image

from bench.config import BenchConfig
from bench.report import Figure, ratio_figure
from bench.server import Backend, published_registry
from bench.timing import ms, percentile

SECTION = "http"
CONTEXT = {"page_title": "Bench page", "caption": "", "surrounding_text": "A paragraph near the image."}


class Images:
    """An endless supply of distinct PNGs derived from a few base images."""

    def __init__(self, bases: list[Image.Image]):
        self.bases = [b.convert("RGB") for b in bases]
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    def next_b64(self) -> str:
        with self.lock:
            i = next(self.counter)
        image = self.bases[i % len(self.bases)].copy()
        image.putpixel((0, 0), (i % 256, (i >> 8) % 256, (i >> 16) % 256))
        image.putpixel((1, 0), (255 - i % 256, 7, 11))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return base64.b64encode(buffer.getvalue()).decode()


def body(images: list[str]) -> bytes:
    return json.dumps({"images": [{"image": i, "context": CONTEXT} for i in images]}).encode()


class Client:
    def __init__(self, backend: Backend):
        self.url = backend.url + "/api/v1/describe"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {backend.token}", "Content-Type": "application/json"})

    def post(self, data: bytes) -> float:
        start = time.perf_counter()
        response = self.session.post(self.url, data=data, timeout=120)
        elapsed = time.perf_counter() - start
        if response.status_code != 200:
            raise RuntimeError(f"describe answered {response.status_code}: {response.text[:300]}")
        return elapsed


def latencies(client: Client, images: Images, count: int) -> list[float]:
    return [client.post(body([images.next_b64()])) for _ in range(count)]


def load(backend: Backend, images: Images, clients: int, seconds: float) -> tuple[int, list[float], float]:
    """``clients`` threads posting one new image each, back to back, for ``seconds``."""
    stop = time.perf_counter() + seconds
    samples: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        client = Client(backend)
        while time.perf_counter() < stop:
            elapsed = client.post(body([images.next_b64()]))
            with lock:
                samples.append(elapsed)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(samples), samples, time.perf_counter() - start


def knee(levels: list[int], throughput: list[float], gain: float = 1.2) -> int:
    """The last concurrency level before adding clients stops raising throughput by ``gain``x."""
    for i in range(len(levels) - 1):
        if throughput[i + 1] < throughput[i] * gain:
            return levels[i]
    return levels[-1]


def run(served_dir: Path, work_dir: Path, cfg: BenchConfig, plain: list[Image.Image],
        texty: list[Image.Image]) -> list[Figure]:
    """``plain``: images the OCR gate skips; ``texty``: images holding text (the gate lets them through)."""
    root = published_registry(work_dir / "registry", served_dir)
    figures: list[Figure] = []
    n = cfg.http_requests
    with Backend(work_dir / "off", root, ocr=False) as backend:
        client = Client(backend)
        images = Images(plain + texty)
        client.post(body([images.next_b64()]))  # warm-up
        idle = backend.rss_mb()
        lat = latencies(client, images, n)
        figures += [Figure(SECTION, "one image, OCR off, p50", ms(percentile(lat, 50)), "ms", note=f"{n} cache misses"),
                    Figure(SECTION, "one image, OCR off, p95", ms(percentile(lat, 95)), "ms")]
        same = body([images.next_b64()])
        client.post(same)  # the miss that fills the cache
        hits = [client.post(same) for _ in range(n)]
        p50 = percentile(hits, 50) * 1000
        figures.append(Figure(SECTION, "cache hit, p50", round(p50, 2), "ms", "< 5 ms", p50 < 5,
                              note=f"p95 {ms(percentile(hits, 95))} ms"))
        batched, single = [], []
        for _ in range(cfg.batch_rounds):
            start = time.perf_counter()
            client.post(body([images.next_b64() for _ in range(16)]))
            batched.append(time.perf_counter() - start)
            start = time.perf_counter()
            for _ in range(16):
                client.post(body([images.next_b64()]))
            single.append(time.perf_counter() - start)
        t_batch, t_single = percentile(batched, 50), percentile(single, 50)
        figures += [Figure(SECTION, "16 images in one request, total", ms(t_batch), "ms"),
                    Figure(SECTION, "16 requests of one image, total", ms(t_single), "ms"),
                    ratio_figure(SECTION, "batch of 16 cheaper than 16 requests", t_single, t_batch, minimum=3.0,
                                 note=f"median of {cfg.batch_rounds} rounds, all cache misses")]
        levels, rates = list(cfg.concurrency_levels), []
        for clients in levels:
            done, samples, elapsed = load(backend, images, clients, cfg.concurrency_s)
            rates.append(done / elapsed)
            figures.append(Figure(SECTION, f"throughput, {clients} concurrent clients", round(done / elapsed, 1),
                                  "images/s", note=f"p50 {ms(percentile(samples, 50))} ms, "
                                                   f"p95 {ms(percentile(samples, 95))} ms"))
        figures.append(Figure(SECTION, "throughput knee", knee(levels, rates), "clients",
                              note="last level before more clients add < 20% throughput (only latency)"))
        start = time.perf_counter()
        load_requests(backend, images, cfg.memory_requests)
        served = backend.counter("altlens_http_requests_total", route="/api/v1/describe")
        figures += [Figure(SECTION, "backend RSS idle (model loaded)", idle, "MiB",
                           note=f"gunicorn, {backend.workers} worker x {backend.threads} threads"),
                    Figure(SECTION, f"backend RSS after {served:.0f} describe requests",
                           backend.rss_mb(), "MiB",
                           note=f"issue asks 10,000; {cfg.memory_requests} extra cache misses fit the time budget "
                                f"({time.perf_counter() - start:.0f} s)")]
    with Backend(work_dir / "on", root, ocr=True) as backend:
        client = Client(backend)
        images = Images(texty)
        client.post(body([images.next_b64()]))  # warm-up (loads rapidocr)
        lat = latencies(client, images, cfg.ocr_requests)
        figures += [Figure(SECTION, "one image with text, OCR on, p50", ms(percentile(lat, 50)), "ms",
                           note=f"{cfg.ocr_requests} cache misses, images the gate lets through"),
                    Figure(SECTION, "one image with text, OCR on, p95", ms(percentile(lat, 95)), "ms")]
        images = Images(plain)
        lat = latencies(client, images, cfg.ocr_requests)
        figures.append(Figure(SECTION, "one image without text, OCR on (gate skips), p50",
                              ms(percentile(lat, 50)), "ms"))
    return figures


def load_requests(backend: Backend, images: Images, count: int, clients: int = 4) -> None:
    """``count`` single-image cache misses from ``clients`` threads."""
    counter = itertools.count()

    def worker() -> None:
        client = Client(backend)
        while next(counter) < count:
            client.post(body([images.next_b64()]))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
