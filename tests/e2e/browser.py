"""Launching Debian Chromium with the unpacked extension (DESIGN.md §5), shared by the e2e tests and bench/.

Kept free of pytest so ``python -m bench`` can drive the same browser the
end-to-end tests drive.
"""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXTENSION = REPO / "extension"
CHROMIUM = "/usr/bin/chromium"


def chromium_args(extension: Path = EXTENSION) -> list[str]:
    return [f"--disable-extensions-except={extension}", f"--load-extension={extension}",
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]


def launch_with_extension(playwright, profile_dir: Path, extension: Path = EXTENSION, **options):
    """A headless persistent Chromium context with ``extension`` loaded."""
    return playwright.chromium.launch_persistent_context(
        str(profile_dir), executable_path=CHROMIUM, headless=True, args=chromium_args(extension), **options)


class ExtensionBrowser:
    """A Chromium persistent context with the extension loaded, and helpers to drive it."""

    def __init__(self, context):
        self.context = context
        workers = context.service_workers
        self.worker = workers[0] if workers else context.wait_for_event("serviceworker", timeout=15000)
        self.extension_id = self.worker.url.split("/")[2]
        self.console_errors: list[str] = []

    def url(self, path: str) -> str:
        return f"chrome-extension://{self.extension_id}/{path}"

    def configure(self, **settings) -> None:
        """Store settings the way the options page does (chrome.storage.local key "settings")."""
        self.worker.evaluate("(s) => chrome.storage.local.set({settings: s})", settings)

    def tab_id(self, page_url: str) -> int:
        tabs = self.worker.evaluate("(u) => chrome.tabs.query({url: u}).then(t => t.map(x => x.id))", page_url)
        assert tabs, f"no tab for {page_url}"
        return tabs[0]

    def open(self, url: str):
        page = self.context.new_page()
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        page.goto(url)
        return page
