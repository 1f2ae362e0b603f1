"""``python -m eval_harness.pages DIR [--reference DIR2]``: what a screen-reader user gets on real pages.

Serves ``DIR`` on 127.0.0.1, starts the real backend (``backend.testing.LiveBackend``:
its own SQLite database and token, the model registry given by ``--models``),
opens every ``*.html`` in Chromium with the extension (tests/e2e/browser.py)
and reports per page:

* images lacking a text alternative, before (extension off) and after (the wait brings each
  unanswered image into view in turn, as a reader's cursor reaching it would);
* axe-core violations of the image rules (image-alt, role-img-alt, svg-img-alt,
  input-image-alt, button-name, link-name: nodes), before and after;
* how many images the extension marked decorative / described;
* with ``--reference DIR2`` (a page of the same file name whose images carry
  the alt text a person wrote): decorative agreement and the text metrics of
  eval_harness.metrics for the generated alternatives, images matched by
  ``src`` (then by position).

Writes ``pages.json`` and ``pages.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

log = logging.getLogger("altlens.pages")

IMAGE_RULES = ("image-alt", "role-img-alt", "svg-img-alt", "input-image-alt", "button-name", "link-name")

# Images (img, input type=image, role=img, svg in a control) without any text alternative:
# no alt attribute on <img>, no aria-label/labelledby/title elsewhere; alt="" counts as one (decorative).
# Images that are not rendered (display:none) are left out, as axe and screen readers leave them out.
# Each entry: its position, key (src, else position), alt ('null' when missing), whether the extension marked it.
IMAGES_JS = """() => {
  const all = [...document.querySelectorAll('img, input[type=image], [role=img], svg')];
  return all.map((el, i) => {
    const tag = el.tagName.toLowerCase();
    const named = el.hasAttribute('aria-label') || el.hasAttribute('aria-labelledby') || el.hasAttribute('title');
    const alt = tag === 'img' ? el.getAttribute('alt') : el.getAttribute('aria-label');
    const hidden = el.getAttribute('aria-hidden') === 'true';
    const rendered = el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
    const lacking = !rendered ? false : tag === 'img' ? (el.getAttribute('alt') === null && !named)
      : tag === 'svg' ? (!named && !hidden && !!el.closest('a, button') && !el.closest('a, button').textContent.trim())
      : (!named && !hidden && !(tag === 'input' && el.getAttribute('alt')));
    return {index: i, key: el.getAttribute('src') || `${tag}#${i}`, tag, alt, lacking,
            mark: el.getAttribute('data-altlens') || ''};
  });
}"""


@contextlib.contextmanager
def serve_folder(root: str | Path) -> Iterator[str]:
    """Serve ``root`` on http://127.0.0.1:PORT in a thread; yields the base URL."""
    handler = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PageResult:
    """The before/after numbers of one page (and its comparison with the reference page)."""

    page: str
    images: int
    lacking_before: int
    lacking_after: int
    axe_before: dict[str, int]
    axe_after: dict[str, int]
    decorative: int
    described: int
    pending: int  # images the extension had not answered for when the wait ended
    reference: dict = field(default_factory=dict)


def axe_counts(page) -> dict[str, int]:
    """Nodes violating each image rule, from axe-core (bundled with axe-playwright-python)."""
    from axe_playwright_python.sync_playwright import Axe

    counts = {rule: 0 for rule in IMAGE_RULES}
    for violation in Axe().run(page).response["violations"]:
        if violation["id"] in counts:
            counts[violation["id"]] = len(violation["nodes"])
    return counts


# Marks only the backend's answer writes. "decorative" is not one: the extension marks spacers and
# tracking pixels decorative itself, before any request, so it says nothing about the backend.
BACKEND_MARKS = ("generated", "corrected")


# Bring the index-th image of IMAGES_JS's list to the middle of the viewport.
VISIT_JS = """(index) => {
  const all = [...document.querySelectorAll('img, input[type=image], [role=img], svg')];
  if (all[index]) all[index].scrollIntoView({block: 'center'});
}"""


def wait_until_answered(page, timeout_s: float, settle_s: float = 8.0) -> list[dict]:
    """Poll until every image that lacked an alternative carries a mark, or time is up, or nothing has
    changed for ``settle_s`` since the backend's first answer arrived (images the extension cannot fetch
    stay unanswered). The settle clock waits for a backend answer because the extension's own local
    marks come at once: counting from them ended the wait while a slow backend was still working.

    Meanwhile each poll brings the unanswered image visited longest ago into view, as a screen reader's
    cursor reaching it would: the extension describes images near the viewport, so an image that got
    its source or finished loading after the view had moved on waits for the reader (a jump straight
    to the bottom for the lazy images left such an image undescribed: a CI flake, 2026-12-04)."""
    deadline, last, changed = time.time() + timeout_s, None, time.time()
    visited: dict[int, float] = {}
    while True:
        images = page.evaluate(IMAGES_JS)
        marks = [i["mark"] for i in images]
        if marks != last:
            last, changed = marks, time.time()
        unanswered = [i["index"] for i in images if i["lacking"] and not i["mark"]]
        if not unanswered or time.time() > deadline:
            return images
        if any(m in BACKEND_MARKS for m in marks) and time.time() - changed > settle_s:
            return images
        target = min(unanswered, key=lambda index: visited.get(index, 0.0))
        visited[target] = time.time()
        page.evaluate(VISIT_JS, target)
        page.wait_for_timeout(250)


def reference_alts(browser, url: str) -> list[dict]:
    """The images of a reference page, read with the extension switched off."""
    page = browser.open(url)
    try:
        page.wait_for_load_state("load")
        return page.evaluate(IMAGES_JS)
    finally:
        page.close()


def compare_with_reference(generated: list[dict], reference: list[dict], jar=None) -> dict:
    """Decorative agreement and text metrics over images the extension answered and the reference names."""
    from eval_harness.metrics import Prediction, Reference, score

    by_key = {r["key"]: r for r in reference}
    pairs = []
    for position, g in enumerate(generated):
        if not g["mark"]:
            continue
        r = by_key.get(g["key"]) or (reference[position] if position < len(reference) else None)
        if r is None or r["alt"] is None:
            continue
        decorative = g["mark"] == "decorative"
        text = "" if decorative else (g["alt"] or "").removeprefix("Possibly: ").removeprefix("Generated: ")
        pairs.append((Prediction(text, decorative), Reference([r["alt"]], not r["alt"].strip())))
    if not pairs:
        return {"matched": 0}
    sheet = score([p for p, _ in pairs], [r for _, r in pairs], jar)
    keep = ("decorative_agreement", "BLEU-1", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
    return {"matched": len(pairs), **{k: sheet.corpus.get(k) for k in keep}}


def check_page(browser, backend, base_url: str, name: str, reference_url: str | None, timeout_s: float,
               jar=None) -> PageResult:
    """Before (extension off) and after (on) numbers for one page."""
    browser.configure(backendUrl=backend.url, token=backend.token, enabled=False)
    page = browser.open(f"{base_url}/{name}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)
    before = page.evaluate(IMAGES_JS)
    axe_before = axe_counts(page)
    page.close()

    browser.configure(backendUrl=backend.url, token=backend.token, enabled=True, retryBaseMs=300,
                      retryMaxMs=1500)
    page = browser.open(f"{base_url}/{name}")
    page.wait_for_load_state("load")
    after = wait_until_answered(page, timeout_s)
    axe_after = axe_counts(page)
    page.close()
    result = PageResult(
        page=name, images=len(after), lacking_before=sum(i["lacking"] for i in before),
        lacking_after=sum(i["lacking"] and not i["mark"] for i in after),
        axe_before=axe_before, axe_after=axe_after,
        decorative=sum(i["mark"] == "decorative" for i in after),
        described=sum(i["mark"] in ("generated", "corrected") for i in after),
        pending=sum(i["lacking"] and not i["mark"] for i in after))
    if reference_url:
        result.reference = compare_with_reference(after, reference_alts(browser, reference_url), jar)
    return result


def run(pages_dir: Path, reference_dir: Path | None, models_dir: Path | None, timeout_s: float = 60.0,
        ocr: bool = False, work_dir: Path | None = None) -> list[PageResult]:
    """Check every ``*.html`` in ``pages_dir`` with a fresh backend and browser profile."""
    from playwright.sync_api import sync_playwright

    from backend.testing import LiveBackend
    from eval_harness.metrics import MeteorJar
    from tests.e2e.browser import ExtensionBrowser, launch_with_extension

    names = sorted(p.name for p in pages_dir.glob("*.html"))
    if not names:
        raise SystemExit(f"no .html pages in {pages_dir}")
    with contextlib.ExitStack() as stack:
        work = work_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="altlens-pages-")))
        if models_dir is None:
            from backend.config import Config

            models_dir = Path(Config.from_env().models_dir)  # what `make run` serves
        backend = LiveBackend(models_dir=models_dir, database_url=f"sqlite:///{work / 'pages.db'}",
                              log_path=work / "backend.log", extra_env={"ALTLENS_OCR": "auto" if ocr else "off"})
        backend.init().start()
        stack.callback(backend.stop)
        base = stack.enter_context(serve_folder(pages_dir))
        ref_base = stack.enter_context(serve_folder(reference_dir)) if reference_dir else None
        playwright = stack.enter_context(sync_playwright())
        context = launch_with_extension(playwright, work / "profile")
        stack.callback(context.close)
        browser = ExtensionBrowser(context)
        jar = stack.enter_context(MeteorJar()) if reference_dir else None
        results = []
        for name in names:
            has_ref = reference_dir is not None and (reference_dir / name).is_file()
            results.append(check_page(browser, backend, base, name, f"{ref_base}/{name}" if has_ref else None,
                                      timeout_s, jar))
            log.info("%s: %s", name, asdict(results[-1]))
        return results


def markdown(results: list[PageResult], command: str) -> str:
    lines = ["# Page-level check", "", f"Produced by `{command}`.", "",
             "| page | images | lacking alt before → after | axe image-rule nodes before → after | decorative | "
             "described | pending | vs reference |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        ref = r.reference
        ref_text = "–" if not ref else (f"{ref['matched']} matched" if ref["matched"] == 0 else
                                        f"{ref['matched']} matched, decorative agreement "
                                        f"{ref['decorative_agreement']:.2f}, ROUGE-L {_f(ref['ROUGE-L'])}, "
                                        f"CIDEr {_f(ref['CIDEr'])}")
        lines.append(f"| {r.page} | {r.images} | {r.lacking_before} → {r.lacking_after} | "
                     f"{sum(r.axe_before.values())} → {sum(r.axe_after.values())} | {r.decorative} | "
                     f"{r.described} | {r.pending} | {ref_text} |")
    lines += ["", "Image rules: " + ", ".join(IMAGE_RULES) + ". Per-rule counts are in pages.json.", ""]
    return "\n".join(lines)


def _f(value) -> str:
    return "–" if value is None or value != value else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval_harness.pages", description=__doc__.split("\n\n")[0])
    p.add_argument("pages", type=Path, help="folder of .html pages (and the images they use)")
    p.add_argument("--reference", type=Path, help="folder with reference versions of the pages (same file names)")
    p.add_argument("--models", type=Path, default=None,
                   help="model registry root for the backend (default: the backend's own default)")
    p.add_argument("--out", type=Path, default=Path("var/eval/pages"), help="pages.json and pages.md go here")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the answers on a page")
    p.add_argument("--ocr", action="store_true", help="let the backend read text in images (slower)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    results = run(args.pages, args.reference, args.models, args.timeout, args.ocr)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m eval_harness.pages " + " ".join(sys.argv[1:] if argv is None else argv)
    (args.out / "pages.json").write_text(json.dumps({"command": command, "pages": [asdict(r) for r in results]},
                                                    indent=2, default=str) + "\n")
    (args.out / "pages.md").write_text(markdown(results, command))
    print(args.out / "pages.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
