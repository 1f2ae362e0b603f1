"""axe-core before vs after the extension on the test pages (counts recorded in
var/e2e/axe_counts.json), zero violations on the popup and options pages, and
the options page's connection test against the real backend."""
from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe

from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_marks, write_result

RULES = ["image-alt", "role-img-alt", "svg-img-alt", "input-image-alt", "button-name", "link-name"]


def rule_counts(page) -> dict[str, int]:
    violations = Axe().run(page).response["violations"]
    counts = {rule: 0 for rule in RULES}
    for v in violations:
        if v["id"] in counts:
            counts[v["id"]] = len(v["nodes"])
    return counts


def violations(page) -> list:
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in Axe().run(page).response["violations"]]


def test_axe_before_after_and_extension_pages(ext, site):
    ext.configure(backendUrl=ext.backend.url, token=ext.backend.token, enabled=False)
    page = ext.open(site + "/kinds.html")
    page.wait_for_timeout(500)
    before = rule_counts(page)
    assert page.evaluate("document.querySelectorAll('[data-altlens]').length") == 0

    ext.configure(backendUrl=ext.backend.url, token=ext.backend.token, enabled=True, retryBaseMs=300)
    page.locator("#img-lazy").scroll_into_view_if_needed()
    wait_for_marks(page, ["img-missing", "img-in-link", "img-in-button", "input-image", "svg-role-img",
                          "role-img-bg", "svg-in-button", "img-empty-alt-link", "img-lazy"])
    after = rule_counts(page)
    write_result("axe_counts.json", {"page": "kinds.html", "before": before, "after": after})
    for rule in ("image-alt", "role-img-alt", "svg-img-alt", "input-image-alt", "button-name", "link-name"):
        assert before[rule] >= 1, (rule, before)
        assert after[rule] == 0, (rule, after)

    # The popup, listing this page's descriptions, and its detail view.
    tab = ext.tab_id(page.url)
    panel = ext.open(ext.url(f"ui/panel.html?tab={tab}"))
    panel.wait_for_selector("body[data-ready=true]")
    assert panel.locator("#items button").count() >= 10
    assert violations(panel) == []
    panel.locator("#items button").first.focus()
    panel.keyboard.press("Enter")
    assert panel.evaluate("document.activeElement.id") == "detail-heading"
    assert violations(panel) == []

    options = ext.open(ext.url("ui/options.html"))
    options.wait_for_selector("body[data-ready=true]")
    assert violations(options) == []
    assert options.locator("#backend-url").input_value() == ext.backend.url
    options.locator("#test-connection").click()
    expect(options.locator("#status")).to_have_text(re.compile(r"^Connected"), timeout=15000)
    options.locator("#token").fill("wrong-token")
    options.locator("#test-connection").click()
    expect(options.locator("#status")).to_contain_text("rejected the token", timeout=15000)
