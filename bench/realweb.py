"""Describe on the images users meet: real web images with their page context (../shared/data/realweb).

A fixed, seeded sample (the same share of every set; SVGs are left out because the
backend refuses them) is described four ways:

- in process, through the backend's own describe flow (backend.describing.Describer
  with the served model, rapidocr and a SQLite database), each image a cache miss,
  with OCR on and off: the time of each stage (decode; OCR detection, recognition,
  and the gate, hashing and resizing around them; model; storage);
- over HTTP through the real backend (gunicorn, as ``make run`` serves it), one image
  per request, with OCR on and off;
- under load: 1 and 4 clients posting distinct real images (re-encoded with a pixel
  changed, so that no cache answers);
- on a page: 20 real images on one page, laid out as the real-web page level lays them
  out, loaded in Chromium with the unchanged extension; the times until the first
  visible image is described and until all are (the page is scrolled a viewport at a
  time once the visible ones are described, as a reader would), and when the first
  describe request left and came back, to tell the extension's time from the backend's.

Text reading is scored with the real-web judge on real images of text (found among
records likely to be such by their alt and shape; see :func:`text_candidates`): how
often the OCR text, and the answer made with it, say the author's alt exactly.
"""
from __future__ import annotations

import base64
import dataclasses
import functools
import io
import random
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from backend.answer_cache import AnswerCache
from backend.auth import Caller, create_client
from backend.config import Config
from backend.db import Database
from backend.describing import Describer, decode_items, items_from_json
from backend.models import Client
from backend.ocr import OcrReader
from bench.config import REALWEB_DATA, BenchConfig
from bench.extension import WATCH_JS, _Quiet
from bench.http_bench import knee
from bench.report import Figure
from bench.server import Backend, published_registry
from bench.timing import ms, percentile

SECTION = "realweb"
STAGES = ("decode", "ocr detect", "ocr recognise", "ocr other", "model", "storage")
VIEWPORT = {"width": 1280, "height": 720}


def sample(root: Path, size: int, seed: int) -> list:
    """``size`` records, the same number from each set (seeded), in manifest order within a set."""
    from eval_harness.realweb.records import load

    by_set: dict[str, list] = {}
    for record in load([root]):
        if not record.is_svg:
            by_set.setdefault(record.set_name, []).append(record)
    share = max(1, size // max(1, len(by_set)))
    chosen = []
    for name in sorted(by_set):
        group = by_set[name]
        chosen += sorted(random.Random(f"{seed}:{name}").sample(group, min(share, len(group))),
                         key=lambda r: int(r.id.rsplit(":", 1)[1]))
    return chosen


def context_of(record) -> dict:
    """The API's ``context`` object for a record (the page level's context, as JSON)."""
    from eval_harness.realweb.records import page_context

    return dataclasses.asdict(page_context(record))


@dataclass
class ImageTiming:
    """One image described in process: seconds per stage, and the text OCR read."""

    seconds: dict[str, float] = field(default_factory=dict)
    ocr_text: str = ""

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


class _Timed:
    """Wraps the engine (``describe``) or the OCR reader (``read_with_title``) and adds each call's seconds
    to ``spent``."""

    def __init__(self, inner, method: str):
        self.inner, self.method, self.spent = inner, method, 0.0

    def __getattr__(self, name):
        if name != self.method:
            return getattr(self.inner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return getattr(self.inner, self.method)(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - start
        return timed


class FullReads:
    """The engine with every image's text read in full (``modelinput.OCR_LIMIT``, boxes 6 at a time):
    the reader as it was before images larger than any the model learned were read only to their
    first words (2026-12-07), timed beside the served one in the same run."""

    def __init__(self, engine):
        self.engine = engine

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def ocr_limit(self, image_size: tuple[int, int]) -> int:
        from backend.modelinput import OCR_LIMIT

        return OCR_LIMIT


@dataclass
class Pass:
    """One way of describing the sample in process: an engine and an OCR reader with their own
    database, so that every image is a cache miss in every pass."""

    label: str
    engine: object
    ocr_on: bool
    timings: list[ImageTiming] = field(default_factory=list)


def describe_in_process(passes: list[Pass], records: list, work_dir: Path) -> None:
    """Each record described once by every pass through the backend's describe flow, the passes
    interleaved image by image (in an order that rotates per image), so that a machine whose speed
    drifts during the run slows every pass alike and the ratios between passes stay fair."""
    opened = []
    try:
        for one in passes:
            database = work_dir / f"stages-{one.label}.db"
            database.unlink(missing_ok=True)
            db = Database(f"sqlite:///{database}")
            db.upgrade()
            reader = OcrReader(enabled=one.ocr_on, timeout_s=60)  # no budget: the figures say what a read costs
            if one.ocr_on:
                reader._get_engine()  # loads rapidocr's models outside the timed reads
            session = db.session()
            create_client(session, "bench")
            caller = Caller(id=session.scalar(select(Client.id).where(Client.name == "bench")), name="bench",
                            quota=None)
            opened.append((one, db, reader, session, caller))
        for i, record in enumerate(records):
            for one, _db, reader, session, caller in opened[i % len(opened):] + opened[:i % len(opened)]:
                one.timings.append(_one(record, one.engine, reader, session, caller))
    finally:
        for _one_pass, db, _reader, session, _caller in opened:
            session.close()
            db.dispose()


def _one(record, engine, reader: OcrReader, session, caller: Caller) -> ImageTiming:
    config = Config()
    body = {"images": [{"image": base64.b64encode(record.image_path.read_bytes()).decode(),
                        "context": context_of(record)}]}
    start = time.perf_counter()
    items = items_from_json(body, config)
    decode_items(items, config, {})
    decode_s = time.perf_counter() - start
    ocr, model = _Timed(reader, "read_with_title"), _Timed(engine, "describe")
    before = dict(reader.seconds)
    describer = Describer(model, ocr, session, caller, "models", AnswerCache(0, 0))
    start = time.perf_counter()
    (result,), _cached = describer.describe(items, {})
    flow_s = time.perf_counter() - start
    read = {stage: reader.seconds[stage] - before[stage] for stage in before}
    seconds = {"decode": decode_s, "ocr detect": read["detect"], "ocr recognise": read["recognise"],
               "ocr other": max(0.0, ocr.spent - read["detect"] - read["recognise"]),
               "model": model.spent, "storage": max(0.0, flow_s - ocr.spent - model.spent)}
    return ImageTiming(seconds, result["ocr_text"] or "")


def stage_figures(on: list[ImageTiming], off: list[ImageTiming], full: list[ImageTiming],
                  cfg: BenchConfig) -> list[Figure]:
    """p50/p90/p95 per image with OCR on (against the goals), off, and on with every text read in full
    (the reader before 2026-12-07), and the mean of every stage as served."""
    figures = []
    for label, timings in (("OCR on", on), ("OCR off", off), ("OCR on, every text read in full", full)):
        totals = [t.total for t in timings]
        p50, p90, p95 = (ms(percentile(totals, q)) for q in (50, 90, 95))
        goal = label == "OCR on"
        figures += [
            Figure(SECTION, f"describe one real image, {label}, p50", p50, "ms",
                   f"<= {cfg.realweb_p50_ms} ms" if goal else "", p50 <= cfg.realweb_p50_ms if goal else None,
                   note=f"in process, {len(totals)} cache misses; p95 {p95} ms" + ("" if goal else "; reference")
                        + ("; the reader before 2026-12-07, timed in this run" if "full" in label else "")),
            Figure(SECTION, f"describe one real image, {label}, p90", p90, "ms",
                   f"<= {cfg.realweb_p90_ms} ms" if goal else "", p90 <= cfg.realweb_p90_ms if goal else None)]
    for stage in STAGES:
        spent = [t.seconds[stage] for t in on]
        figures.append(Figure(SECTION, f"stage {stage}, OCR on, mean", ms(sum(spent) / max(1, len(spent))), "ms",
                              note=f"p50 {ms(percentile(spent, 50))}, p90 {ms(percentile(spent, 90))}, "
                                   f"max {ms(max(spent, default=0))} ms"))
    served, before = (percentile([t.total for t in x], 50) for x in (on, full))
    figures.append(Figure(SECTION, "served reader over full reads, p50", round(before / served, 2) if served else "n/a",
                          "x", note="speed-up of a real image's describe, OCR on; the two readers interleaved image by image in this run"))
    read = sum(1 for t in on if t.seconds["ocr detect"] > 0)
    found = sum(1 for t in on if t.ocr_text)
    figures.append(Figure(SECTION, "images OCR read (past the gate)", f"{read} of {len(on)}",
                          note=f"text found in {found}"))
    return figures


def text_candidates(root: Path, limit: int | None) -> list:
    """Records likely to be images of text, found without OCR: a short alt (at most 12 words) on a
    banner-shaped (width >= 2.5 x height) or small (at most 150 px high) image, or a W3C "textual"
    example. The judge then keeps those whose alt this run's OCR finds in the image."""
    from eval_harness.realweb.records import load

    found = []
    for record in load([root]):
        if record.is_svg or not record.alt:
            continue
        with Image.open(record.image_path) as image:
            width, height = image.size
        if record.tutorial_category == "textual" or (
                len(record.alt.split()) <= 12 and (width >= 2.5 * height or height <= 150)):
            found.append(record)
    return found[:limit]


def text_figures(engine, cfg: BenchConfig) -> list[Figure]:
    """The real-web judge on real images of text: does the OCR text, and the answer made with it,
    say the author's alt exactly (``reads_exactly``)? Read as served (``engine.ocr_limit``) and in full
    (the reader before 2026-12-07), side by side. Images of text are ``is_image_of_text`` by the full
    read, so both readers are scored on the same images."""
    from backend.modelinput import prepare_image
    from eval_harness.realweb.judge import is_image_of_text, normalised, reads_exactly
    from eval_harness.realweb.records import page_context

    candidates = text_candidates(REALWEB_DATA, cfg.realweb_text_candidates)
    reader = OcrReader(timeout_s=60)
    texty, read_s = [], []
    for record in candidates:
        with Image.open(record.image_path) as image:
            image = prepare_image(image)
        start = time.perf_counter()
        served = reader.read(image, engine.ocr_limit(image.size))
        read_s.append(time.perf_counter() - start)
        full = reader.read(image)
        if is_image_of_text(record.alt, full, record.tutorial_category):
            texty.append((record, image, served, full))
    note = (f"{len(texty)} images of text among {len(candidates)} candidates (short alt, banner-shaped or "
            f"small); OCR read as served p50 {ms(percentile(read_s, 50))} ms, p90 {ms(percentile(read_s, 90))} ms")
    figures = []
    for label, column in (("as served", 2), ("read in full", 3)):
        ocr_exact = sum(normalised(item[column]) == normalised(item[0].alt) for item in texty)
        answers = [engine.describe([item[1]], [page_context(item[0])], [item[column]])[0].description for item in texty]
        answered = sum(reads_exactly(item[0].alt, answer) for item, answer in zip(texty, answers))
        figures += [Figure(SECTION, f"images of text: OCR text is the author's alt, {label}",
                           f"{ocr_exact} of {len(texty)}", note=note if column == 2 else "the reader before 2026-12-07"),
                    Figure(SECTION, f"images of text: answer reads the author's alt exactly, {label}",
                           f"{answered} of {len(texty)}", note="real-web judge (reads_exactly), bundled model, OCR on")]
    return figures


def variants(records: list, count: int) -> Iterator[bytes]:
    """``count`` distinct image files made from the records in turn: the same size and format, a corner
    block recoloured, so that neither the answer caches nor the OCR cache (keyed by pixels) answers."""
    for i in range(count):
        record = records[i % len(records)]
        with Image.open(record.image_path) as image:
            fmt = "JPEG" if image.format == "JPEG" else "PNG"
            image = image.convert("RGB")
        image.paste(((i * 37) % 256, (i * 91) % 256, 255 - i % 256), (0, 0, 8, 8))  # a whole JPEG block
        buffer = io.BytesIO()
        image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        yield buffer.getvalue()


def _post(session, url: str, data: bytes, record) -> float:
    body = {"images": [{"image": base64.b64encode(data).decode(), "context": context_of(record)}]}
    start = time.perf_counter()
    response = session.post(url, json=body, timeout=120)
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"describe answered {response.status_code}: {response.text[:300]}")
    return elapsed


def _session(backend: Backend):
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {backend.token}"
    return session


def http_latency(backend: Backend, records: list) -> list[float]:
    """Each record posted once (cache misses: a fresh backend), one image per request, one client."""
    session, url = _session(backend), backend.url + "/api/v1/describe"
    return [_post(session, url, r.image_path.read_bytes(), r) for r in records]


def throughput(backend: Backend, records: list, clients: int, requests_each: int, offset: int) -> tuple[float, list]:
    """Images per second with ``clients`` threads each posting ``requests_each`` distinct real images."""
    files = list(variants(records[offset:] + records[:offset], clients * requests_each))
    chunks = [files[c::clients] for c in range(clients)]
    samples: list[float] = []
    lock = threading.Lock()

    def worker(chunk: list[bytes], start: int) -> None:
        session, url = _session(backend), backend.url + "/api/v1/describe"
        for j, data in enumerate(chunk):
            elapsed = _post(session, url, data, records[(offset + start + j * clients) % len(records)])
            with lock:
                samples.append(elapsed)

    threads = [threading.Thread(target=worker, args=(chunk, c)) for c, chunk in enumerate(chunks)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(files) / (time.perf_counter() - start), samples


def http_figures(root: Path, work_dir: Path, records: list, cfg: BenchConfig) -> list[Figure]:
    figures = []
    for ocr in (True, False):
        label = "OCR on" if ocr else "OCR off"
        with Backend(work_dir / f"http-{'on' if ocr else 'off'}", root, ocr=ocr, workers=cfg.realweb_workers) as backend:
            _warm(backend, records)
            lat = http_latency(backend, records)
            figures.append(Figure(SECTION, f"HTTP describe one real image, {label}, p50", ms(percentile(lat, 50)),
                                  "ms", note=f"p90 {ms(percentile(lat, 90))}, p95 {ms(percentile(lat, 95))} ms; "
                                             f"{len(lat)} cache misses, gunicorn {cfg.realweb_workers} workers"
                                             + ("; the backend's own OCR budget applies" if ocr else "")))
            if not ocr:
                continue
            levels, rates = list(cfg.realweb_clients), []
            for n, clients in enumerate(levels):
                rate, samples = throughput(backend, records, clients, cfg.realweb_load_requests, n * 7)
                rates.append(rate)
                figures.append(Figure(SECTION, f"throughput, {clients} clients, OCR on", round(rate, 2), "images/s",
                                      note=f"{len(samples)} distinct real images; p50 {ms(percentile(samples, 50))}, "
                                           f"p95 {ms(percentile(samples, 95))} ms"))
            figures.append(Figure(SECTION, "throughput knee, OCR on", knee(levels, rates), "clients",
                                  note="last level before more clients add < 20% throughput"))
    return figures


def _warm(backend: Backend, records: list, clients: int = 4) -> None:
    """Untimed requests (variants, so the timed ones stay cache misses) from several clients at once, so
    that every gunicorn worker has loaded the model and rapidocr before anything is timed."""
    throughput(backend, records, clients, 1, offset=len(records) // 2)


STATE_JS = """() => {
  const imgs = [...document.querySelectorAll('img[data-record]')];
  const visible = imgs.filter(i => { const r = i.getBoundingClientRect();
    return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth; });
  const times = (list) => list.map(i => window.__altlensDone.get(i)).filter(t => t !== undefined);
  return {total: imgs.length, visible: visible.length, visibleTimes: times(visible), allTimes: times(imgs),
          scrollMax: document.documentElement.scrollHeight - innerHeight};
}"""


def write_page(records: list, folder: Path) -> Path:
    """One page of the records' images without alt, laid out as the real-web page level lays out a page."""
    from eval_harness.realweb.pages_level import image_urls, page_html

    if folder.exists():
        shutil.rmtree(folder)
    urls = image_urls(records)
    for path, url in urls.items():
        (folder / url).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / url)
    (folder / "page.html").write_text(page_html(records, urls))
    return folder


def page_figures(root: Path, work_dir: Path, records: list, cfg: BenchConfig) -> list[Figure]:
    """The page timed ``cfg.realweb_page_rounds`` times, each load with a fresh backend (every image a
    cache miss) and a fresh browser profile; the figures are the median load's."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import ExtensionBrowser, launch_with_extension

    site = write_page(records[: cfg.realweb_page_images], work_dir / "site")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    loads: list[PageLoad] = []
    try:
        for n in range(cfg.realweb_page_rounds):
            with Backend(work_dir / f"page-{n}", root, ocr=True, workers=cfg.realweb_workers) as backend, \
                    sync_playwright() as p:
                _warm(backend, records[cfg.realweb_page_images:] or records)
                context = launch_with_extension(p, work_dir / f"profile-{n}", viewport=VIEWPORT)
                try:
                    browser = ExtensionBrowser(context)
                    browser.configure(backendUrl=backend.url, token=backend.token, announce="off")
                    loads.append(_time_page(browser, f"http://127.0.0.1:{server.server_address[1]}/page.html",
                                            backend.url, cfg))
                finally:
                    context.close()
    finally:
        server.shutdown()
    return load_figures(loads, cfg)


@dataclass
class PageLoad:
    """One timed load of the page (ms from navigation start; None: not reached in time)."""

    first_visible: float | None
    all_described: float | None
    visible: int
    total: int
    described: int
    first_request: tuple[float, float, int] | None  # (sent, answered, images) of the first describe request
    requests: int
    images_sent: int


def load_figures(loads: list[PageLoad], cfg: BenchConfig) -> list[Figure]:
    """The median load's figures (by time until all are described; an unfinished load counts as slowest),
    each load's time in the notes."""
    ranked = sorted(loads, key=lambda load: (load.all_described is None, load.all_described or 0.0))
    load = ranked[(len(ranked) - 1) // 2]

    def each(name: str) -> str:
        values = [getattr(x, name) for x in loads]
        return ", ".join("not reached" if v is None else str(round(v)) for v in values)

    rounds = f"median of {len(loads)} loads (each: {{}} ms)" if len(loads) > 1 else "one load ({} ms)"
    figures = [
        Figure(SECTION, "page of real images: first visible image described",
               round(load.first_visible) if load.first_visible is not None else "not reached", "ms",
               f"<= {cfg.realweb_first_ms} ms",
               load.first_visible is not None and load.first_visible <= cfg.realweb_first_ms,
               note=f"from navigation start, extension loaded, OCR on; {load.visible} visible at load; "
                    + rounds.format(each("first_visible"))),
        Figure(SECTION, "page of real images: all described",
               round(load.all_described) if load.all_described is not None else f"{load.described} of {load.total}",
               "ms", f"<= {cfg.realweb_all_ms} ms",
               load.all_described is not None and load.all_described <= cfg.realweb_all_ms,
               note=f"{load.total} images; scrolled a viewport every 0.2 s once the visible ones were done; "
                    + rounds.format(each("all_described")))]
    if load.first_request is None:
        figures.append(Figure(SECTION, "page of real images: first describe request", "none", note="no request seen"))
    else:
        sent, answered, images = load.first_request
        figures.append(Figure(SECTION, "page of real images: first describe request sent", round(sent), "ms",
                              note=f"{images} images in it, answered at {round(answered)} ms; {load.requests} "
                                   f"requests for the page, {load.images_sent} images in all (the median load)"))
    return figures


class DescribeRequests:
    """The extension's describe requests (the service worker's fetches are reported on the context):
    their images, and when each was sent and answered (epoch ms, from the browser's own timing)."""

    def __init__(self, context, backend_url: str):
        self.prefix = backend_url.rstrip("/") + "/api/v1/describe"
        self.done: list[tuple[float, float, int]] = []
        context.on("requestfinished", self._finished)

    def _finished(self, request) -> None:
        if request.url.startswith(self.prefix):
            timing = request.timing
            images = len((request.post_data_json or {}).get("images", []))
            self.done.append((timing["startTime"], timing["startTime"] + timing["responseEnd"], images))

    def first(self, origin_ms: float) -> tuple[float, float, int] | None:
        """When the first request left and was answered (from navigation start), and its images:
        where the page's time goes."""
        if not self.done:
            return None
        sent, answered, images = min(self.done)
        return sent - origin_ms, answered - origin_ms, images


def _time_page(browser, url: str, backend_url: str, cfg: BenchConfig) -> PageLoad:
    traffic = DescribeRequests(browser.context, backend_url)
    page = browser.context.new_page()
    page.add_init_script(WATCH_JS)
    page.goto(url)
    origin_ms = page.evaluate("performance.timeOrigin")
    deadline = time.time() + cfg.extension_timeout_s
    state = page.evaluate(STATE_JS)
    while time.time() < deadline and len(state["visibleTimes"]) < state["visible"]:
        time.sleep(0.05)
        state = page.evaluate(STATE_JS)
    first_visible = min(state["visibleTimes"], default=None)
    visible_n = state["visible"]
    position = 0
    while time.time() < deadline and len(state["allTimes"]) < state["total"]:
        position = min(position + VIEWPORT["height"], state["scrollMax"])
        page.evaluate("(y) => window.scrollTo(0, y)", position)
        time.sleep(0.2)
        state = page.evaluate(STATE_JS)
    done = state["allTimes"]
    all_ms = max(done) if len(done) == state["total"] else None
    return PageLoad(first_visible, all_ms, visible_n, state["total"], len(done), traffic.first(origin_ms),
                    len(traffic.done), sum(n for *_, n in traffic.done))


def run(served_dir: Path, work_dir: Path, cfg: BenchConfig) -> list[Figure]:
    from backend.engine import AltTextEngine

    records = sample(REALWEB_DATA, cfg.realweb_images, cfg.seed)
    root = published_registry(work_dir / "registry", served_dir)
    engine = AltTextEngine(served_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    on, off, full = Pass("on", engine, True), Pass("off", engine, False), Pass("full", FullReads(engine), True)
    describe_in_process([on, off, full], records, work_dir)
    sets = sorted({r.set_name for r in records})
    figures = [Figure(SECTION, "sample", f"{len(records)} images",
                      note=f"seed {cfg.seed}, {len(records) // len(sets)} from each of {', '.join(sets)}; no SVG")]
    figures += stage_figures(on.timings, off.timings, full.timings, cfg) + text_figures(engine, cfg)
    figures += http_figures(root, work_dir, records, cfg)
    figures += page_figures(root, work_dir, records, cfg)
    return figures
