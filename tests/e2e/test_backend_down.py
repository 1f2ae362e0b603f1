"""Backend down: the page keeps working, nothing is logged as an error, and
descriptions arrive once the backend is back."""
from __future__ import annotations

import time

from tests.e2e.conftest import wait_for_marks


def test_backend_down_then_back(ext, site):
    ext.backend.stop()
    page = ext.open(site + "/dynamic.html")
    page.wait_for_selector("#dyn-1")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.locator("#feed img").count() == 3  # the page's own script still runs
    time.sleep(2.5)  # several retries against the dead backend
    assert page.evaluate("document.querySelectorAll('[data-altlens]').length") == 0
    assert page.evaluate("document.querySelectorAll('img[alt]').length") == 0

    ext.backend.start()
    marks = wait_for_marks(page, ["dyn-1", "dyn-2", "dyn-3"], timeout=30)
    assert set(marks.values()) == {"generated"}
    assert not ext.console_errors, ext.console_errors
