"""Fixtures for the extension's Chromium end-to-end tests.

A real Debian Chromium loads the unpacked extension (DESIGN.md §5), a local
HTTP server serves tests/pages (plus generated images), and the extension is
pointed at the real backend (`live_backend` from tests/conftest.py) through
chrome.storage.local, the documented way to configure it (extension/README.md).
"""
from __future__ import annotations

import base64
import functools
import io
import json
import shutil
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from tests.e2e.browser import CHROMIUM, EXTENSION, REPO, ExtensionBrowser, launch_with_extension

PAGES = REPO / "tests" / "pages"
RESULTS_DIR = REPO / "var" / "e2e"

IMAGES = {
    "photo": (200, 150), "chart": (160, 120), "photo2": (120, 90), "pic-wide": (150, 100),
    "pic-narrow": (150, 100), "srcset-1x": (90, 60), "srcset-2x": (180, 120), "cross": (80, 80),
    "cart": (48, 48), "search": (120, 40), "next": (48, 48), "go": (60, 30), "bg": (120, 80),
    "hidden": (50, 50), "bike": (120, 90), "border": (300, 8), "home": (24, 24), "shadow": (90, 90),
    "lazy": (100, 80), "dyn-1": (100, 80), "dyn-2": (100, 80), "dyn-3": (100, 80), "dyn-4": (100, 80),
    "corner": (10, 10), "rule-line": (300, 3), "bullet": (24, 24), "gear": (16, 16), "close": (12, 12),
    "order-top": (100, 80), "order-near-1": (100, 80), "order-near-2": (100, 80), "order-near-3": (100, 80),
}
# A real photograph from the real-web data's dev split (a crowd at a hackathon, 559 x 263):
# what the extension writes for an image no model of ours can describe.
REAL_PHOTO = ("18F_18f.gsa.gov", "dev", "assets__blog__a11yhack__a11yhack.jpg")


def make_png(name: str, size: tuple[int, int]) -> bytes:
    """A distinct small picture per name (different bytes, so no two images share a cache entry)."""
    seed = sum(map(ord, name))
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse([w * 0.2, h * 0.2, w * 0.8, h * 0.8], fill=((seed * 11) % 256, 255 - seed % 256, 90))
    if w >= 60 and h >= 20:
        draw.text((4, 2), name.upper()[:10], fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def real_photo() -> Path:
    """The real photograph's file in ../shared/data/realweb, checked to be in the dev split."""
    from eval_harness.realweb.records import DEFAULT_ROOT, load

    set_name, split, file_name = REAL_PHOTO
    found = [r for r in load([DEFAULT_ROOT / set_name], (split,)) if r.image_path.name == file_name]
    if not found:
        pytest.fail(f"{file_name} is not in the {split} split of {DEFAULT_ROOT / set_name}")
    return found[0].image_path


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output readable
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """The test pages on http://127.0.0.1:PORT; the same server as http://localhost:PORT is another origin."""
    root = tmp_path_factory.mktemp("site")
    (root / "img").mkdir()
    for name, size in IMAGES.items():
        (root / "img" / f"{name}.png").write_bytes(make_png(name, size))
    Image.new("RGB", (1, 1), (255, 255, 255)).save(root / "img" / "spacer.gif")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    port = server.server_address[1]
    data_png = "data:image/png;base64," + base64.b64encode(make_png("data", (64, 64))).decode()
    photo = real_photo()
    shutil.copyfile(photo, root / "img" / "real-photo.jpg")
    with Image.open(photo) as image:
        photo_width, photo_height = image.size
    for page in PAGES.glob("*.html"):
        text = page.read_text().replace("{{DATA_PNG}}", data_png)
        text = text.replace("{{PHOTO_WIDTH}}", str(photo_width)).replace("{{PHOTO_HEIGHT}}", str(photo_height))
        text = text.replace("{{CROSS_ORIGIN}}", f"http://localhost:{port}")
        (root / page.name).write_text(text)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def chromium_extension(tmp_path):
    """Chromium with the unpacked extension (no backend configured yet)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run `make browsers` (apt-get install chromium)")
    with sync_playwright() as p:
        context = launch_with_extension(p, tmp_path / "profile")
        try:
            yield ExtensionBrowser(context)
        finally:
            context.close()


@pytest.fixture
def ext(chromium_extension, live_backend):
    """The extension paired with the live backend, with short retry waits for the tests."""
    chromium_extension.configure(backendUrl=live_backend.url, token=live_backend.token,
                                 retryBaseMs=300, retryMaxMs=1500, announce="summary")
    chromium_extension.backend = live_backend
    return chromium_extension


def wait_for_marks(page, ids: list[str], timeout: float = 60.0) -> dict[str, str | None]:
    """Wait until every element id carries data-altlens (light DOM or open shadow roots)."""
    deadline = time.time() + timeout
    marks: dict[str, str | None] = {}
    while time.time() < deadline:
        marks = page.evaluate(MARKS_JS, ids)
        if all(marks.get(i) for i in ids):
            return marks
        time.sleep(0.25)
    raise AssertionError(f"not all described in {timeout}s: {marks}")


MARKS_JS = """(ids) => {
  const find = (id) => document.getElementById(id) ||
    [...document.querySelectorAll('*')].map(e => e.shadowRoot && e.shadowRoot.getElementById(id)).find(Boolean);
  return Object.fromEntries(ids.map(id => { const el = find(id); return [id, el ? el.getAttribute('data-altlens') : null]; }));
}"""


def write_result(name: str, data) -> Path:
    """Record a measured result under var/e2e (kept out of git)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
    return path


def copy_extension(tmp_path: Path) -> Path:
    """A writable copy of the extension (for tests that must break it on purpose)."""
    target = tmp_path / "extension"
    shutil.copytree(EXTENSION, target)
    return target
