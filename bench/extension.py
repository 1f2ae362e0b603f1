"""The extension on a generated page of many images: backend requests, content-script
main-thread time, and time until every visible image is described.

Chromium (Debian's, launched exactly as the e2e tests launch it: tests/e2e/browser.py)
loads the unpacked extension and talks to the real backend (gunicorn, OCR off:
OCR's cost is the http section's business). Main-thread time is measured with
the CDP sampling profiler (100 µs): every sample whose stack holds a frame of a
``chrome-extension://`` script counts, so DOM calls the content script makes are
included; the same samples are also counted and split by the innermost extension
function on their stack, to show where the time goes. Descriptions are timed in
the page by a MutationObserver that notes when each image gets ``data-altlens``.
"""
from __future__ import annotations

import functools
import io
import threading
import time
from collections import Counter
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw

from bench.config import BenchConfig
from bench.report import Figure
from bench.server import Backend, published_registry

SECTION = "extension"
VIEWPORT = {"width": 1280, "height": 720}
IMAGE_SIZE = (120, 90)

WATCH_JS = """
window.__altlensDone = new Map();
new MutationObserver((records) => {
  for (const r of records) {
    if (r.attributeName === 'data-altlens' && !window.__altlensDone.has(r.target))
      window.__altlensDone.set(r.target, performance.now());
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-altlens']});
"""

STATE_JS = """() => {
  const imgs = [...document.querySelectorAll('img.bench')];
  const h = innerHeight, w = innerWidth;
  const visible = imgs.filter(i => { const r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < h && r.right > 0 && r.left < w; });
  const done = (list) => list.filter(i => i.hasAttribute('data-altlens'));
  const times = visible.map(i => window.__altlensDone.get(i)).filter(t => t !== undefined);
  return {total: imgs.length, described: done(imgs).length, visible: visible.length,
          visibleDescribed: done(visible).length, visibleDoneMs: times.length ? Math.max(...times) : null,
          scrollMax: document.documentElement.scrollHeight - h};
}"""


def make_site(root: Path, count: int) -> Path:
    """``page.html`` with ``count`` distinct images lacking alt text, in a grid with captions between rows."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    cells = []
    for i in range(count):
        image = Image.new("RGB", IMAGE_SIZE, ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
        draw = ImageDraw.Draw(image)
        draw.ellipse([20 + i % 30, 15, 100, 75 - i % 20], fill=((i * 11) % 256, 255 - i % 256, 90))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        (root / "img" / f"i{i}.png").write_bytes(buffer.getvalue())
        cells.append(f'<figure><img class="bench" src="img/i{i}.png" width="{IMAGE_SIZE[0]}" '
                     f'height="{IMAGE_SIZE[1]}"><p>Item {i} in the list</p></figure>')
    (root / "blank.html").write_text("<!doctype html><title>blank</title><p>blank</p>")
    (root / "page.html").write_text(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Many images</title>"
        "<style>body{margin:8px;font:14px sans-serif} main{display:flex;flex-wrap:wrap;gap:8px}"
        "figure{margin:0;width:120px} figure p{margin:2px 0;font-size:11px}</style></head>"
        f"<body><h1>A page of {count} images</h1><main>{''.join(cells)}</main></body></html>")
    return root


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def _extension_samples(profile: dict):
    """(duration in µs, innermost extension frame) of each sample with an extension script on its stack."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", ())}
    cache: dict[int, dict | None] = {}

    def innermost(node_id: int) -> dict | None:
        if node_id not in cache:
            frame = nodes[node_id]["callFrame"]
            if frame.get("url", "").startswith("chrome-extension://"):
                cache[node_id] = frame
            else:
                cache[node_id] = innermost(parent[node_id]) if node_id in parent else None
        return cache[node_id]

    samples, deltas = profile.get("samples", []), profile.get("timeDeltas", [])
    for i, node_id in enumerate(samples):
        frame = innermost(node_id)
        if frame is not None:
            yield (deltas[i + 1] if i + 1 < len(deltas) else 0), frame  # sample i lasts until the next one


def content_script_ms(profile: dict) -> float:
    """Milliseconds of profiler samples with an extension script anywhere on the stack."""
    return sum(duration for duration, _ in _extension_samples(profile)) / 1000


def content_script_breakdown(profile: dict, top: int = 6) -> tuple[int, list[tuple[str, float]]]:
    """The counted samples, and the ``top`` extension functions by their milliseconds: each sample goes
    to the innermost extension frame on its stack (its own code and the browser calls it makes)."""
    count, by_function = 0, Counter()
    for duration, frame in _extension_samples(profile):
        count += 1
        name = frame.get("functionName") or "(anonymous)"
        by_function[f"{name} ({frame['url'].rsplit('/', 1)[-1]}:{frame.get('lineNumber', -1) + 1})"] += duration
    return count, [(name, us / 1000) for name, us in by_function.most_common(top)]


def run(served_dir: Path, work_dir: Path, cfg: BenchConfig) -> list[Figure]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.browser import ExtensionBrowser, launch_with_extension

    site = make_site(work_dir / "site", cfg.page_images)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    root = published_registry(work_dir / "registry", served_dir)
    try:
        with Backend(work_dir / "backend", root, ocr=False) as backend, sync_playwright() as p:
            context = launch_with_extension(p, work_dir / "profile", viewport=VIEWPORT)
            try:
                browser = ExtensionBrowser(context)
                browser.configure(backendUrl=backend.url, token=backend.token, announce="off")
                return _measure(browser, backend, base, cfg)
            finally:
                context.close()
    finally:
        server.shutdown()


def _measure(browser, backend: Backend, base: str, cfg: BenchConfig) -> list[Figure]:
    route = "/api/v1/describe"
    page = browser.context.new_page()
    page.goto(base + "/blank.html")
    page.add_init_script(WATCH_JS)
    cdp = browser.context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})
    requests_before = backend.counter("altlens_http_requests_total", route=route)
    cdp.send("Profiler.start")
    page.goto(base + "/page.html")
    deadline = time.time() + cfg.extension_timeout_s
    state = page.evaluate(STATE_JS)
    while time.time() < deadline and state["visibleDescribed"] < state["visible"]:
        time.sleep(0.1)
        state = page.evaluate(STATE_JS)
    visible_state = state
    # then scroll through the whole page, as a reader would, until every image is described
    position = 0
    while time.time() < deadline and state["described"] < state["total"]:
        position = min(position + VIEWPORT["height"], state["scrollMax"])
        page.evaluate("(y) => window.scrollTo(0, y)", position)
        time.sleep(0.3)
        state = page.evaluate(STATE_JS)
    profile = cdp.send("Profiler.stop")["profile"]
    requests_made = backend.counter("altlens_http_requests_total", route=route) - requests_before
    main_ms = content_script_ms(profile)
    sample_count, top_functions = content_script_breakdown(profile)
    described = state["described"]
    per = described / requests_made if requests_made else float("inf")
    visible_ms = visible_state["visibleDoneMs"]
    return [
        Figure(SECTION, "images described", f"{described} of {state['total']}",
               note="page scrolled top to bottom after the visible ones were done"),
        Figure(SECTION, "backend describe requests", int(requests_made), "requests",
               "<= 1 per 20 images", requests_made <= described / 20 if described else False,
               note=f"{per:.1f} images per request"),
        Figure(SECTION, "content-script main-thread time, whole run", round(main_ms, 1), "ms", "< 50 ms total",
               main_ms < 50, note="CDP sampling profiler, 100 µs; stacks holding an extension frame"),
        Figure(SECTION, "content-script profiler samples, whole run", sample_count, "samples",
               note="the samples the figure above counts, each nominally 100 µs: their summed intervals "
                    "stretch when the machine is busy, their number less so"),
        Figure(SECTION, "content-script time by function (top 6)",
               "; ".join(f"{name} {ms:.1f} ms" for name, ms in top_functions) or "none",
               note="each counted sample goes to the innermost extension function on its stack"),
        Figure(SECTION, "time until every visible image is described",
               round(visible_ms) if visible_ms is not None else "not reached", "ms",
               note=f"{visible_state['visibleDescribed']}/{visible_state['visible']} visible images, "
                    "from navigation start; OCR off"),
    ]
