"""Fixtures for the screen-reader tests: what Orca says about pages the extension described.

One session for the whole folder (Orca 43 runs once per user): Xvfb, a D-Bus
session, the AT-SPI bus, Debian's Chromium (not headless) with the unchanged
extension, and Orca whose speech goes to a file (desktop.py, session.py,
README.md here). The extension is paired with a canned backend (canned.py) so
that what must be heard is known in advance; one test pairs it with the real
backend instead. A piece that does not start fails every test here with a
message naming it: nothing is skipped.
"""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from eval_harness.pages import serve_folder
from tests.screenreader.canned import CannedBackend, answer
from eval_harness.screenreader.desktop import DesktopError
from eval_harness.screenreader.session import ScreenReaderSession

PAGES = Path(__file__).resolve().parent / "pages"
IMAGES = {"photo": (200, 150), "rule": (300, 8), "cart": (48, 48), "banner": (160, 60), "chart": (160, 120),
          "late-1": (120, 90), "late-2": (120, 90), "late-3": (120, 90), "live-photo": (120, 90), "live-next": (48, 48),
          "quiet-1": (120, 90), "quiet-2": (120, 90), "quiet-3": (120, 90)}

# What the stand-in backend answers, by file name (docs/api.md fields).
CANNED = {
    "photo.png": answer("A red bicycle leaning on a brick wall", confidence=0.91),
    "rule.png": answer(decorative=True, confidence=0.95),
    "cart.png": answer("Shopping cart", confidence=0.88),
    "banner.png": answer("Free shipping", confidence=0.41, low_confidence=True),
    "chart.png": answer("No description available", confidence=0.2, honest=True),
    "late-1.png": answer("A kitten asleep in a basket", confidence=0.9),
    "late-2.png": answer("A dog catching a ball", confidence=0.9),
    "late-3.png": answer("Two horses in a field", confidence=0.9),
    "quiet-1.png": answer("A heron standing in reeds", confidence=0.9),
    "quiet-2.png": answer("A lighthouse at dusk", confidence=0.9),
    "quiet-3.png": answer("A bowl of ripe cherries", confidence=0.9),
}


def picture(name: str, size: tuple[int, int]) -> bytes:
    """A distinct small picture per name (distinct bytes: no two images share the extension's cache)."""
    seed = sum(map(ord, name))
    image = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 53) % 256))
    w, h = size
    ImageDraw.Draw(image).ellipse([w * 0.2, h * 0.2, w * 0.8, h * 0.8], fill=((seed * 11) % 256, 200, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="session")
def sr_site(tmp_path_factory):
    """This folder's pages on http://127.0.0.1:PORT (also http://localhost:PORT, where the extension is off)."""
    root = tmp_path_factory.mktemp("sr-site")
    (root / "img").mkdir()
    for name, size in IMAGES.items():
        (root / "img" / f"{name}.png").write_bytes(picture(name, size))
    Image.new("RGB", (1, 1), (255, 255, 255)).save(root / "img" / "spacer.gif")
    for page in PAGES.glob("*.html"):
        (root / page.name).write_text(page.read_text())
    with serve_folder(root) as url:
        yield url


@pytest.fixture(scope="session")
def live_backend(tiny_onnx, tmp_path_factory):
    """The real backend (SQLite, untrained tiny model), one for this folder: overrides the per-test
    fixture of tests/conftest.py, whose fresh start per test cost ~20 s here."""
    from backend.registry import ModelRegistry
    from backend.testing import LiveBackend

    root = tmp_path_factory.mktemp("sr-backend")
    ModelRegistry(root / "models").publish(tiny_onnx)
    backend = LiveBackend(models_dir=root / "models", database_url=f"sqlite:///{root / 'altlens.db'}",
                          log_path=root / "backend.log")
    backend.init("screenreader").start()
    yield backend
    backend.stop()


@pytest.fixture(scope="session")
def canned():
    backend = CannedBackend(CANNED).start()
    yield backend
    backend.stop()


@pytest.fixture(scope="session")
def settings(canned) -> dict:
    """The extension's settings for these tests: the canned backend; off on the host "localhost"."""
    return {"backendUrl": canned.url, "token": canned.TOKEN, "retryBaseMs": 300, "retryMaxMs": 1500,
            "announce": "summary", "disabledSites": ["localhost"]}


@pytest.fixture(scope="session")
def screen_reader(tmp_path_factory, settings):
    """Chromium with the extension and Orca listening, for the whole folder; everything stopped afterwards."""
    session = ScreenReaderSession(tmp_path_factory.mktemp("screenreader"))
    try:
        session.start(settings)
    except DesktopError as error:
        session.stop()
        pytest.fail(f"screen-reader desktop: {error}", pytrace=False)
    except BaseException:
        session.stop()
        raise
    yield session
    session.stop()
