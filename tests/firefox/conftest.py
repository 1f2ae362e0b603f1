"""Fixtures for the Firefox suite: Debian's firefox-esr with the unpacked extension.

The browser is driven by puppeteer-core over WebDriver BiDi (Playwright's own
Firefox cannot be downloaded here), from a small Node process (driver.mjs)
that these fixtures talk to in JSON lines. The tests stay in Python so that
they can use the shared ``live_backend`` fixture and read the database.
"""
from __future__ import annotations

import importlib.util
import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# The extension under test; ALTLENS_FIREFOX_EXTENSION points the suite at another copy
# (used to show that a deliberately broken Firefox path makes this suite fail).
EXTENSION = Path(os.environ.get("ALTLENS_FIREFOX_EXTENSION", REPO / "extension"))
E2E_CONFTEST = REPO / "tests" / "e2e" / "conftest.py"
DRIVER = Path(__file__).with_name("driver.mjs")
FIREFOX = Path("/usr/bin/firefox-esr")
CALL_TIMEOUT_S = 60


# Find an element by id in the document or in any open shadow root (one level, as the pages use).
FIND_JS = ("(id) => document.getElementById(id) || [...document.querySelectorAll('*')]"
           ".map(e => e.shadowRoot && e.shadowRoot.getElementById(id)).find(Boolean) || null")


class FirefoxError(RuntimeError):
    """A driver command failed inside the browser (the message is the driver's)."""


class FirefoxSession:
    """One Firefox (fresh profile, extension installed) behind driver.mjs."""

    def __init__(self, log_path: Path):
        self._log = open(log_path, "w")
        self.log_path = log_path
        self._proc = subprocess.Popen(["node", str(DRIVER)], cwd=REPO, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._log, text=True, bufsize=1)
        self._replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next_id = 0

    def _read(self) -> None:
        for line in self._proc.stdout:
            self._replies.put(line)
        self._replies.put(None)

    def call(self, cmd: str, timeout: float = CALL_TIMEOUT_S, **args):
        self._next_id += 1
        self._proc.stdin.write(json.dumps({"id": self._next_id, "cmd": cmd, **args}) + "\n")
        self._proc.stdin.flush()
        try:
            line = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"driver gave no answer to {cmd} in {timeout} s; log: {self.log_path}")
        if line is None:
            raise FirefoxError(f"driver exited during {cmd}; log: {self.log_path}")
        reply = json.loads(line)
        assert reply["id"] == self._next_id, reply
        if "error" in reply:
            raise FirefoxError(f"{cmd}: {reply['error']}")
        return reply["ok"]

    # Thin, named wrappers so that tests read like the Chromium suite.
    def launch(self, storage: dict) -> dict:
        return self.call("launch", ext_dir=str(EXTENSION), storage=storage, timeout=90)

    def goto(self, url: str) -> str:
        return self.call("goto", url=url)

    def eval(self, expr: str):
        """Evaluate a JavaScript expression in the page; its value must be JSON."""
        return self.call("eval", expr=expr)

    def wait_for(self, expr: str, timeout_ms: int = 15000):
        """Wait until a page expression is truthy; raises FirefoxError on timeout."""
        return self.call("wait_for", expr=expr, timeout_ms=timeout_ms, timeout=timeout_ms / 1000 + 30)

    def ax_nodes(self, role: str | None = None, name: str | None = None) -> list[dict]:
        """Nodes Firefox's accessibility engine finds with this role/name (BiDi locateNodes)."""
        return self.call("ax_nodes", role=role, name=name)

    def press(self, keys: str) -> None:
        self.call("press", keys=keys)

    def type(self, text: str) -> None:
        self.call("type", text=text)

    def errors(self) -> list[dict]:
        """Console errors and uncaught exceptions (page and content scripts) since the last goto."""
        return self.call("errors")

    def wait_page(self, name: str, url_contains: str) -> str:
        """Wait for a window/tab (e.g. the extension's feedback window) and name it."""
        return self.call("wait_page", name=name, url_contains=url_contains)

    def use_page(self, name: str) -> str:
        """Act on the named page from now on ("main" is the test page)."""
        return self.call("use_page", name=name)

    def active_id(self) -> str:
        return self.eval("document.activeElement ? document.activeElement.id : ''")

    def tab_to(self, element_id: str, limit: int = 40) -> None:
        """Press Tab until the element has focus (asserting it is reachable by keyboard)."""
        for _ in range(limit):
            if self.active_id() == element_id:
                return
            self.press("Tab")
        raise AssertionError(f"#{element_id} not reachable with Tab; focus is on #{self.active_id()}")

    def attr(self, element_id: str, name: str):
        """An attribute of an element in the light DOM or in an open shadow root."""
        return self.eval(f"({FIND_JS})({json.dumps(element_id)})?.getAttribute({json.dumps(name)}) ?? null")

    def marks(self, ids: list[str]) -> dict:
        """The extension's data-altlens mark (generated, decorative, corrected, or None) per id."""
        return self.eval(f"(() => {{ const f = {FIND_JS}; return Object.fromEntries({json.dumps(ids)}"
                         ".map(id => [id, f(id)?.getAttribute('data-altlens') ?? null])); })()")

    def wait_for_marks(self, ids: list[str], timeout_ms: int = 60000) -> dict:
        """Wait until every id carries a data-altlens mark; fails with the marks seen so far."""
        expr = (f"(() => {{ const f = {FIND_JS}; const ids = {json.dumps(ids)};"
                " return ids.every(id => f(id)?.hasAttribute('data-altlens')); })()")
        try:
            self.wait_for(expr, timeout_ms)
        except FirefoxError:
            raise AssertionError(f"not all described in {timeout_ms} ms: {self.marks(ids)}") from None
        return self.marks(ids)

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                self.call("close", timeout=30)
        except (FirefoxError, TimeoutError, BrokenPipeError):
            pass
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait(10)
            self._log.close()


def _missing_tools() -> list[str]:
    missing = []
    if not FIREFOX.exists():
        missing.append("firefox-esr (apt-get install firefox-esr)")
    if not shutil.which("node"):
        missing.append("node")
    if not (REPO / "node_modules" / "puppeteer-core").exists():
        missing.append("puppeteer-core (npm ci)")
    return missing


@pytest.fixture(scope="session")
def firefox_tools() -> None:
    """Fail, do not skip: `make test` installs these, so their absence is a broken setup."""
    missing = _missing_tools()
    if missing:
        pytest.fail("Firefox suite cannot run, missing: " + ", ".join(missing))


def _load_chromium_suite_fixtures():
    """The Chromium suite's conftest, loaded by path: its ``site`` fixture serves the
    shared test pages (tests/pages/) with their generated images, so both browsers
    see byte-identical pages. Loaded under its own name so it cannot shadow ours."""
    spec = importlib.util.spec_from_file_location("altlens_e2e_conftest", E2E_CONFTEST)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ``site``: http://127.0.0.1:PORT serving tests/pages (see tests/pages/README.md).
site = _load_chromium_suite_fixtures().site


@pytest.fixture
def ff(firefox, live_backend):
    """Firefox with the extension paired with the live backend (short retry waits for tests)."""
    session = firefox({"settings": {"backendUrl": live_backend.url, "token": live_backend.token,
                                    "retryBaseMs": 300, "retryMaxMs": 1500, "announce": "summary"}})
    session.backend = live_backend
    return session


@pytest.fixture
def firefox(firefox_tools, tmp_path):
    """A factory: ``firefox(storage)`` launches Firefox with the extension configured by ``storage``."""
    sessions: list[FirefoxSession] = []

    def launch(storage: dict) -> FirefoxSession:
        session = FirefoxSession(tmp_path / f"firefox-{len(sessions)}.log")
        sessions.append(session)
        session.launch(storage)
        return session

    yield launch
    for session in sessions:
        session.close()
