"""One screen-reader session: the desktop, Chromium with the unchanged extension, and Orca listening.

`ScreenReaderSession.start()` brings the pieces up in the order DESIGN.md §5
checked (Xvfb, D-Bus, AT-SPI, Chromium with --force-renderer-accessibility,
then Orca); `open()` loads a page the way a user does (Ctrl+L, type the
address, Return), so the page, not the address bar, has the focus; the reading
helpers press Orca's own keys and return what Orca said.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from urllib.parse import unquote

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from eval_harness.screenreader.desktop import HERE, SYSTEM_PYTHON, Desktop, DesktopError, Orca
from tests.e2e.browser import CHROMIUM, EXTENSION, ExtensionBrowser, chromium_args

WRAP = "Wrapping to top."
# Another copy of the extension (for checking that the tests fail when it is broken on purpose).
EXTENSION_UNDER_TEST = Path(os.environ.get("ALTLENS_SCREENREADER_EXTENSION") or EXTENSION)


class ScreenReaderSession:
    def __init__(self, workdir: Path, extension: Path = EXTENSION_UNDER_TEST):
        self.workdir = Path(workdir)
        self.extension = Path(extension)
        self.desktop = Desktop(self.workdir / "desktop")
        self.orca: Orca | None = None
        self._playwright = None
        self.context = None
        self.browser: ExtensionBrowser | None = None
        self.page = None

    # -- starting and stopping -------------------------------------------------
    def start(self, settings: dict) -> "ScreenReaderSession":
        from playwright.sync_api import sync_playwright

        if not Path(CHROMIUM).exists():
            raise DesktopError(f"Debian chromium is missing at {CHROMIUM} (make system-packages)")
        self.desktop.start()
        self._playwright = sync_playwright().start()
        try:
            self.context = self._playwright.chromium.launch_persistent_context(
                str(self.workdir / "profile"), executable_path=CHROMIUM, headless=False, env=self.desktop.env,
                args=chromium_args(self.extension) + ["--force-renderer-accessibility"])
        except Exception as error:
            raise DesktopError(f"Chromium did not start under Xvfb ({self.desktop.env['DISPLAY']}): {error}") from error
        try:
            self.browser = ExtensionBrowser(self.context)
        except Exception as error:
            raise DesktopError(f"the extension's service worker did not start in Chromium: {error}") from error
        self.configure(settings)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.orca = Orca(self.desktop).start()
        return self

    def configure(self, settings: dict) -> None:
        """Replace the extension's stored settings (chrome.storage.local, as the options page does)."""
        self.browser.configure(**settings)

    def stop(self) -> None:
        if self.orca is not None:
            self.orca.stop()
        if self.context is not None:
            try:
                self.context.close()
            except Exception:
                pass
        if self._playwright is not None:
            self._playwright.stop()
        self.desktop.stop()

    # -- listening ---------------------------------------------------------------
    @property
    def speech(self):
        return self.orca.speech

    def press(self, key: str, timeout: float = 8.0, settle: float = 0.5) -> list[str]:
        """Press one key (XTEST); what Orca said until it went quiet for `settle` s."""
        mark = self.speech.mark()
        self.desktop.key(key)
        return self.speech.wait_for(bool, timeout, settle=settle, mark=mark)

    def open(self, url: str, title: str | None = None, timeout: float = 20.0) -> list[str]:
        """Load `url` from the address bar; returns what Orca said until it finished reading the page
        (its "Finished loading TITLE."; without `title`, the loaded page's own)."""
        mark = self.speech.mark()
        self.desktop.key("ctrl+l")
        # Type only once Orca is in the address bar: before that, browse mode takes letters as its keys.
        said = self.speech.wait_for(lambda s: any("Address and search bar" in u for u in s), 10, settle=0.3, mark=mark)
        if not any("Address and search bar" in u for u in said):
            raise DesktopError(f"Ctrl+L did not reach Chromium's address bar; Orca said {said!r}")
        self.desktop.type(url)
        self.desktop.key("Return")
        # The page itself first: a fresh-clone run under load once read a page mid-navigation after
        # Orca had said some "Finished loading" (the cause was not caught), so the typed address must
        # have loaded, and Orca must have said that page's title.
        wanted = unquote(url)
        try:
            self.page.wait_for_url(lambda current: unquote(current) == wanted, wait_until="load",
                                   timeout=timeout * 1000)
        except PlaywrightTimeout as error:
            raise DesktopError(f"Chromium did not load {url} in {timeout:.0f}s; it shows {self.page.url}") from error
        title = " ".join((title or self.page.title()).split())
        done = (lambda s: any(" ".join(u.split()) == f"Finished loading {title}." for u in s)) if title else \
            (lambda s: any(u.startswith("Finished loading") for u in s))
        said = self.speech.wait_for(done, timeout, settle=0.8, mark=mark)
        if not done(said):
            raise DesktopError(f"Orca did not report loading {url} in {timeout:.0f}s; it said {said!r}")
        return said

    def top(self) -> list[str]:
        """Orca's Ctrl+Home: the caret to the top of the document."""
        return self.press("ctrl+Home")

    def graphic_stops(self, limit: int = 20) -> list[list[str]]:
        """Press Orca's "next graphic" (g) from the top until it wraps: the utterances of each press.

        Orca's g looks after the caret, so a graphic that is the document's very first object (where
        Ctrl+Home leaves the caret) is only reached by the press that wraps: that press's graphic is
        put first when it is not the first stop already."""
        self.top()
        stops = []
        for _ in range(limit):
            said = self.press("g")
            if WRAP in said:
                wrapped_to = [u for u in said if u != WRAP]
                if wrapped_to and (not stops or wrapped_to != stops[0]):
                    stops.insert(0, wrapped_to)
                return stops
            stops.append(said)
        raise DesktopError(f"Orca never wrapped after {limit} presses of g: {stops}")

    def graphics(self, limit: int = 20) -> list[str]:
        """What each press of "next graphic" said, one string per press."""
        return [" ".join(said) for said in self.graphic_stops(limit)]

    def lines(self, count: int) -> list[str]:
        """Press Down `count` times from the top (Orca's line-by-line reading)."""
        self.top()
        return [" ".join(self.press("Down")) for _ in range(count)]

    def say_all(self, timeout: float = 15.0) -> list[str]:
        """Orca's say all (KP_Add) from the top: every utterance, in order."""
        self.top()
        mark = self.speech.mark()
        self.desktop.key("KP_Add")
        return self.speech.wait_for(bool, timeout, settle=1.2, mark=mark)

    # -- the platform layer --------------------------------------------------------
    def atspi(self, title: str) -> dict:
        """The images and links AT-SPI exposes in the document titled `title` (atspi_probe.py)."""
        run = subprocess.run([SYSTEM_PYTHON, str(HERE / "atspi_probe.py"), title], env=self.desktop.env,
                             capture_output=True, text=True, timeout=30)
        if run.returncode != 0:
            raise AssertionError(f"AT-SPI probe failed ({run.returncode}): {run.stdout} {run.stderr[-2000:]}")
        return json.loads(run.stdout)

    def wait_for_marks(self, ids: list[str], timeout: float = 30.0) -> dict:
        """Wait until the extension marked every element id (data-altlens), asked through Playwright."""
        deadline = time.time() + timeout
        marks = {}
        while time.time() < deadline:
            marks = self.page.evaluate(
                "(ids) => Object.fromEntries(ids.map(i => { const e = document.getElementById(i);"
                " return [i, e ? e.getAttribute('data-altlens') : null]; }))", ids)
            if all(marks.values()):
                return marks
            time.sleep(0.1)
        raise AssertionError(f"the extension did not describe every image in {timeout:.0f}s: {marks}")
