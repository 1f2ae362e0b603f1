"""HTML fragment → PageContext: the same fields the extension collects from a live page."""
from __future__ import annotations

from backend.context_builder import build_context
from backend.modelinput import PageContext


def test_icon_only_link():
    html = ('<html lang="de"><title>Shop</title><nav><a href="/cart"><img src="/i/cart%20icon.png" '
            'width="24" height="24"></a></nav></html>')
    assert build_context(html) == PageContext(page_title="Shop", lang="de", control_role="link",
                                              control_href="/cart", only_content=True,
                                              file_name="cart icon.png", width=24, height=24)


def test_button_with_label_and_role():
    ctx = build_context('<div role="button" aria-label="Next page"><img src="data:image/png;base64,AAA"></div>')
    assert (ctx.control_role, ctx.control_text, ctx.only_content, ctx.file_name) == ("button", "Next page", False, "")
    ctx = build_context('<button>Search <img src="s.svg"></button>')
    assert (ctx.control_role, ctx.control_text, ctx.only_content) == ("button", "Search", False)


def test_figure_heading_and_surrounding_text():
    html = ("<h1>Annual report</h1><section><h2>Sales</h2><p>Revenue grew in every quarter of the year "
            "<img src='chart.png'> as shown.</p><figure><img id='f'><figcaption>Quarterly sales</figcaption></figure>"
            "</section>")
    first = build_context(html)
    assert first.heading == "Sales" and first.caption == ""
    assert first.surrounding_text == "Revenue grew in every quarter of the year as shown."
    second = build_context(html, image_id="f")
    assert second.caption == "Quarterly sales" and second.heading == "Sales" and second.file_name == ""


def test_target_is_first_image_without_alt_or_by_id():
    html = '<img src="a.png" alt="Logo"><img src="b.png" alt=""><img data-altlens-id="x7" src="c.png">'
    assert build_context(html).file_name == "b.png"
    assert build_context(html, "x7").file_name == "c.png"
    assert build_context(html, "missing") == PageContext()
    assert build_context("<p>no images</p>") == PageContext()


def test_scripts_are_ignored_and_fields_bounded():
    html = ("<p><script>var secret = 'do not read';</script>" + "word " * 500 + "<img src=x.png></p>"
            "<style>p{}</style>")
    ctx = build_context(html)
    assert "secret" not in ctx.surrounding_text and len(ctx.surrounding_text) <= 300
    assert build_context('<img width="99999999999" height="-3" src="x">').width == 100_000


def test_matches_what_the_extension_sends_for_the_same_image():
    sent = {"control_role": "link", "control_text": "Home", "control_href": "/", "only_content": False,
            "file_name": "home.gif", "width": 100, "height": 25, "heading": "Menu"}
    html = '<h3>Menu</h3><a href="/">Home <img src="/img/home.gif" width="100" height="25"></a>'
    assert build_context(html) == PageContext.from_mapping(sent)
