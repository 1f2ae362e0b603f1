"""Decorative by rule, before any request, and the honest form for a real photograph, alone and as a
link's only content (Chromium).

The rules (extension/content/detect.js, localClass): an image too small to mean anything
alone, an image repeated as layout, an image inside a link that has its own text. None of
them may silence a control's only content. The photograph comes from the real-web data's
dev split: the backend's support check turns the model's guess into the honest form.
"""
from __future__ import annotations

import pytest

from backend.honest import parse_honest
from backend.testing import publish_with_bundled_kinds
from tests.e2e.conftest import wait_for_marks
from tests.e2e.rules_page import BY_RULE, asked_for


@pytest.fixture
def tiny_model_root(tiny_onnx, tmp_path):
    """The served model names a real photograph's kind as the bundled model does (its kinds.json)."""
    return publish_with_bundled_kinds(tiny_onnx, tmp_path)


def test_decorative_by_rule_sends_nothing_and_a_real_photo_gets_the_honest_form(ext, site):
    page = ext.open(site + "/rules.html")
    marks = wait_for_marks(page, [*BY_RULE, "icon-only-content", "real-photo", "real-photo-link"])

    for element_id in BY_RULE:
        assert marks[element_id] == "decorative", (element_id, marks)
        assert page.get_attribute(f"#{element_id}", "alt") == ""
    # The link keeps the name its own text gives it, read once.
    assert page.get_by_role("link", name="Settings", exact=True).count() == 1
    # A 12 x 12 icon that is a link's only content is still named, and names the link.
    icon_name = page.get_attribute("#icon-only-content", "alt")
    assert marks["icon-only-content"] == "generated" and icon_name
    assert page.get_by_role("link", name=icon_name, exact=True).count() == 1

    # The real photograph: the honest form, said as it is (no "Possibly:"), in the accessibility tree.
    photo_name = page.get_attribute("#real-photo", "alt")
    # The kind recogniser (backend/kinds.py) is sure it is a photograph, and the figure has no caption.
    assert parse_honest(photo_name) == ("Photo", ""), photo_name
    assert f'img "{photo_name}"' in page.locator("figure").aria_snapshot()
    # The same photograph as a link's only content also says where the link goes, and names the link.
    linked_name = page.get_attribute("#real-photo-link", "alt")
    assert linked_name == f"{photo_name}. Link to flickr.com", linked_name
    assert page.get_by_role("link", name=linked_name, exact=True).count() == 1

    asked = asked_for(ext.backend.database_url)
    assert not {BY_RULE[i] for i in BY_RULE} & set(asked), asked  # no request for any of them
    assert asked["close.png"] and asked["real-photo.jpg"] == [True, True]  # the honest form is flagged low-confidence
    assert not ext.console_errors, ext.console_errors
