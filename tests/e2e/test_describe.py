"""Unlabeled images of every kind get names a screen reader reads; good alt is left alone."""
from __future__ import annotations

import re
import time

from playwright.sync_api import expect
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.e2e.conftest import wait_for_marks

GENERATED = ["img-missing", "img-filename", "img-placeholder", "img-picture", "img-srcset", "img-data",
             "img-blob", "img-cross", "img-in-link", "img-in-button", "img-empty-alt-link", "svg-in-button",
             "input-image", "role-img-bg", "svg-role-img", "shadow-img"]
NAME_ATTR = {"input-image": "aria-label", "role-img-bg": "aria-label", "svg-role-img": "aria-label",
             "svg-in-button": "aria-label"}
UNTOUCHED = {"good-alt": "A red bicycle leaning on a brick wall", "good-empty": "", "img-link-text": ""}


def attr(page, element_id: str, name: str):
    return page.evaluate("([id, n]) => { const e = document.getElementById(id) || "
                         "document.querySelector('altlens-card').shadowRoot.getElementById(id); "
                         "return e.getAttribute(n); }", [element_id, name])


def test_every_kind_of_unlabeled_image_gets_a_name(ext, site):
    page = ext.open(site + "/kinds.html")
    marks = wait_for_marks(page, GENERATED + ["spacer"])
    assert all(marks[i] == "generated" for i in GENERATED), marks
    assert marks["spacer"] == "decorative" and attr(page, "spacer", "alt") == ""

    snapshot = page.locator("main").aria_snapshot()
    for element_id in GENERATED:
        name = attr(page, element_id, NAME_ATTR.get(element_id, "alt"))
        assert name and name.strip(), element_id
        assert name in snapshot.replace('\\"', '"'), (element_id, name)
    # A control whose only content is an image is named by the generated text.
    link_name = attr(page, "img-in-link", "alt")
    assert page.get_by_role("link", name=link_name, exact=True).count() >= 1
    # (the untrained test model may give several controls the same name: asked of the element itself)
    expect(page.locator("#input-image")).to_have_role("button")
    expect(page.locator("#input-image")).to_have_accessible_name(attr(page, "input-image", "aria-label"))

    # Good author alt, authored alt="" and hidden images are left as they were.
    for element_id, alt in UNTOUCHED.items():
        assert attr(page, element_id, "alt") == alt and attr(page, element_id, "data-altlens") is None
    assert attr(page, "svg-titled", "aria-label") is None
    assert attr(page, "hidden-img", "data-altlens") is None and attr(page, "hidden-img", "alt") is None
    assert 'img "A red bicycle leaning on a brick wall"' in snapshot
    # The spacer is decorative: no image in its paragraph's accessibility tree.
    assert "img" not in page.locator("p", has_text="Spacer").aria_snapshot()

    # Lazy image: described once scrolled near.
    assert attr(page, "img-lazy", "data-altlens") is None
    page.locator("#img-lazy").scroll_into_view_if_needed()
    wait_for_marks(page, ["img-lazy"])
    assert not ext.console_errors, ext.console_errors

    # Context reached the backend with the fields of PageContext, bounded and without query strings.
    from backend.models import Context

    with Session(create_engine(ext.backend.database_url)) as db:
        contexts = [c.data for c in db.scalars(select(Context))]
    cart = next(c for c in contexts if c.get("file_name") == "cart.png")
    assert cart["control_role"] == "link" and cart["only_content"] is True
    assert cart["control_href"].endswith("/cart") and "secret" not in cart["control_href"]
    assert cart["page_title"].startswith("altlens test page")
    photo = next(c for c in contexts if c.get("file_name") == "photo.png")
    assert photo["caption"] == "Our team at the summer picnic by the lake."
    assert photo["heading"] == "Photos and charts" and photo["lang"] == "en"
    assert photo["width"] == 200 and photo["height"] == 150

    # Batching: many images, few describe requests.
    log = ext.backend.log_path.read_text(errors="replace")
    requests = len(re.findall(r"POST /api/v1/describe", log))
    assert requests >= 1 and requests < len(GENERATED) // 2, requests


def test_dynamic_images_and_turning_a_site_off_and_on(ext, site):
    page = ext.open(site + "/dynamic.html")
    wait_for_marks(page, ["dyn-1"])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "load-more"
    page.keyboard.press("Enter")
    marks = wait_for_marks(page, ["dyn-2", "dyn-3"])
    assert set(marks.values()) == {"generated"}

    # Off for this site: the page's own state (no alt at all) comes back.
    ext.configure(backendUrl=ext.backend.url, token=ext.backend.token, disabledSites=["127.0.0.1"])
    deadline = time.time() + 10
    while time.time() < deadline and page.evaluate("document.querySelectorAll('[data-altlens]').length"):
        time.sleep(0.1)
    assert page.evaluate("document.querySelectorAll('[data-altlens], img[alt]').length") == 0
    # The page still works while off.
    page.keyboard.press("Enter")
    assert page.locator("#feed img").count() == 5

    ext.configure(backendUrl=ext.backend.url, token=ext.backend.token, disabledSites=[])
    marks = wait_for_marks(page, ["dyn-1", "dyn-2", "dyn-3", "dyn-4", "dyn-5"])
    assert set(marks.values()) == {"generated"}
    assert not ext.console_errors, ext.console_errors


def test_an_image_whose_source_the_page_sets_later_is_described(ext, site):
    # Script lazy-loaders give an <img> its src when they choose. The extension had found this image
    # with no picture to send; the src the page sets afterwards must bring a description.
    page = ext.open(site + "/dynamic.html")
    wait_for_marks(page, ["dyn-1"])  # the first answer: the picture-less image was dealt with before it
    assert attr(page, "late-src", "data-altlens") is None
    page.evaluate("loadLate()")
    marks = wait_for_marks(page, ["late-src"], timeout=30)
    assert marks["late-src"] == "generated"
    assert attr(page, "late-src", "alt")
    assert not ext.console_errors, ext.console_errors


def test_images_in_view_are_sent_alone_ahead_of_those_just_below_it(ext, site):
    # A describe message is answered whole, and a real image costs the backend up to a second of
    # text reading: the image a reader sees must not wait for the ones only near the viewport.
    sent: list[list[str]] = []
    prefix = ext.backend.url + "/api/v1/describe"

    def record(request) -> None:
        if request.url.startswith(prefix):
            sent.append([i["context"].get("file_name") for i in (request.post_data_json or {}).get("images", [])])

    ext.context.on("request", record)
    page = ext.open(site + "/order.html")
    marks = wait_for_marks(page, ["in-view", "near-1", "near-2", "near-3"])
    assert set(marks.values()) == {"generated"}
    assert sent[0] == ["order-top.png"], sent
    assert sorted(name for request in sent[1:] for name in request) == [f"order-near-{i}.png" for i in (1, 2, 3)]
    assert not ext.console_errors, ext.console_errors
