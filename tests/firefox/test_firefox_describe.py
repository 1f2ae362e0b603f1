"""In Firefox: unlabeled images of every kind get names that Firefox's own accessibility
engine exposes, good alt is left alone, decorative images leave the tree, and images
that arrive later are described. Same pages and ids as the Chromium suite (tests/e2e).

Accessible names and roles come from Firefox itself (WebDriver BiDi
``browsingContext.locateNodes`` with an accessibility locator), not from attributes.
"""
from __future__ import annotations

# Elements in the light DOM that must be named, and the attribute the name is written to.
GENERATED = {"img-missing": "alt", "img-filename": "alt", "img-placeholder": "alt", "img-picture": "alt",
             "img-srcset": "alt", "img-data": "alt", "img-blob": "alt", "img-cross": "alt",
             "img-in-link": "alt", "img-in-button": "alt", "img-empty-alt-link": "alt",
             "svg-in-button": "aria-label", "input-image": "aria-label", "role-img-bg": "aria-label",
             "svg-role-img": "aria-label"}
# Controls whose only content is an image take the generated text as their own name.
CONTROLS = {"link-only": ("link", "img-in-link", "alt"), "button-only": ("button", "img-in-button", "alt"),
            "link-empty-alt": ("link", "img-empty-alt-link", "alt"),
            "button-svg": ("button", "svg-in-button", "aria-label"),
            "input-image": ("button", "input-image", "aria-label")}
UNTOUCHED = {"good-alt": "A red bicycle leaning on a brick wall", "good-empty": "", "img-link-text": ""}


def ids_with(ff, role: str, name: str | None = None) -> set[str]:
    return {node["own_id"] for node in ff.ax_nodes(role=role, name=name)}


def test_every_kind_of_unlabeled_image_gets_a_name_in_firefox(ff, site):
    ff.goto(site + "/kinds.html")
    marks = ff.wait_for_marks([*GENERATED, "shadow-img", "spacer"])
    assert all(marks[i] == "generated" for i in [*GENERATED, "shadow-img"]), marks

    for element_id, attr in GENERATED.items():
        name = ff.attr(element_id, attr)
        assert name and name.strip(), element_id
        if element_id != "input-image":  # an input is a button, checked with the controls
            assert element_id in ids_with(ff, "image", name), (element_id, name)
    for control_id, (role, image_id, attr) in CONTROLS.items():
        assert control_id in ids_with(ff, role, ff.attr(image_id, attr)), control_id
    # Open shadow roots are handled (Firefox's locator does not enter them, so the DOM is checked).
    assert ff.attr("shadow-img", "alt")

    # Decorative: alt="" and Firefox takes the spacer out of the tree.
    assert marks["spacer"] == "decorative" and ff.attr("spacer", "alt") == ""
    images = ids_with(ff, "image")
    assert "spacer" not in images and "spacer" in ids_with(ff, "none")

    # Good author alt, authored alt="" and hidden images are left as they were.
    for element_id, alt in UNTOUCHED.items():
        assert ff.attr(element_id, "alt") == alt and ff.attr(element_id, "data-altlens") is None
    assert "good-alt" in ids_with(ff, "image", UNTOUCHED["good-alt"])
    assert "svg-titled" in ids_with(ff, "image", "Sales rose 20%")
    assert ff.attr("svg-titled", "aria-label") is None
    assert ff.attr("hidden-img", "data-altlens") is None and ff.attr("hidden-img", "alt") is None

    # Lazy image: described only once scrolled near.
    assert ff.attr("img-lazy", "data-altlens") is None
    ff.eval("document.getElementById('img-lazy').scrollIntoView()")
    ff.wait_for_marks(["img-lazy"])
    assert "img-lazy" in ids_with(ff, "image", ff.attr("img-lazy", "alt"))
    assert ff.errors() == []


def test_images_that_arrive_later_are_described_in_firefox(ff, site):
    ff.goto(site + "/dynamic.html")
    ff.wait_for_marks(["dyn-1"])
    ff.press("Tab")
    assert ff.active_id() == "load-more"
    ff.press("Enter")
    marks = ff.wait_for_marks(["dyn-2", "dyn-3"])
    assert set(marks.values()) == {"generated"}
    for element_id in ["dyn-1", "dyn-2", "dyn-3"]:
        assert element_id in ids_with(ff, "image", ff.attr(element_id, "alt")), element_id
    assert ff.errors() == []


def test_backend_down_breaks_nothing_and_descriptions_come_when_it_is_back(ff, site):
    ff.backend.stop()
    ff.goto(site + "/dynamic.html")
    ff.wait_for("document.getElementById('dyn-1')")
    ff.press("Tab")
    ff.press("Enter")
    assert ff.eval("document.querySelectorAll('#feed img').length") == 3  # the page's own script still runs
    ff.wait_for("new Promise(r => setTimeout(() => r(true), 2500))")  # several retries against a dead backend
    assert ff.eval("document.querySelectorAll('[data-altlens], img[alt]').length") == 0

    ff.backend.start()
    marks = ff.wait_for_marks(["dyn-1", "dyn-2", "dyn-3"], timeout_ms=30000)
    assert set(marks.values()) == {"generated"}
    assert ff.errors() == []
