"""In Firefox: decorative by rule before any request, and the honest form for a real
photograph, as Firefox's own accessibility engine exposes them (same page as the Chromium
suite's tests/e2e/test_rules_and_honest.py)."""
from __future__ import annotations

import pytest

from backend.honest import parse_honest
from backend.testing import publish_with_bundled_kinds
from tests.e2e.rules_page import BY_RULE, asked_for


@pytest.fixture
def tiny_model_root(tiny_onnx, tmp_path):
    """The served model names a real photograph's kind as the bundled model does (its kinds.json)."""
    return publish_with_bundled_kinds(tiny_onnx, tmp_path)


def test_decorative_by_rule_and_the_honest_form_in_firefox(ff, site):
    ff.goto(site + "/rules.html")
    marks = ff.wait_for_marks([*BY_RULE, "icon-only-content", "real-photo", "real-photo-link"])

    images = {node["own_id"] for node in ff.ax_nodes(role="image")}
    for element_id in BY_RULE:
        assert marks[element_id] == "decorative" and ff.attr(element_id, "alt") == "", element_id
        assert element_id not in images, element_id  # out of the tree, not an unnamed image
    assert "link-settings" in {node["own_id"] for node in ff.ax_nodes(role="link", name="Settings")}
    icon_name = ff.attr("icon-only-content", "alt")
    assert marks["icon-only-content"] == "generated" and icon_name
    assert "link-close" in {node["own_id"] for node in ff.ax_nodes(role="link", name=icon_name)}

    photo_name = ff.attr("real-photo", "alt")
    assert parse_honest(photo_name) == ("Photo", ""), photo_name  # the kind recogniser names it (backend/kinds.py)
    assert "real-photo" in {node["own_id"] for node in ff.ax_nodes(role="image", name=photo_name)}
    linked_name = ff.attr("real-photo-link", "alt")  # a link's only content: where the link goes, too
    assert linked_name == f"{photo_name}. Link to flickr.com", linked_name
    assert "link-photo" in {node["own_id"] for node in ff.ax_nodes(role="link", name=linked_name)}

    asked = asked_for(ff.backend.database_url)
    assert not set(BY_RULE.values()) & set(asked), asked
    assert asked["close.png"] and asked["real-photo.jpg"] == [True, True]
    assert ff.errors() == []
