"""backend.support: what may be spoken; and the engine's use of it (honest form, redundant images)."""
from __future__ import annotations

from backend.engine import redundant_in_control
from backend.honest import NO_DESCRIPTION, honest_answer, parse_honest
from backend.modelinput import PageContext
from backend.support import (Evidence, KnownWorld, content_words, is_readable, known_world, site_read,
                             unsupported_words)

WORLD = known_world(3 * [("icon_control", "Shopping cart", 32, 32), ("emoji", "Trophy", 48, 48),
                         ("chart", "Bar chart: Revenue by region, highest West", 216, 144)]
                    + [("text", f"Members only {i}", 300, 60) for i in range(20)])


def test_the_known_world_holds_picture_answers_and_frame_words():
    assert {"shopping", "cart", "trophy", "bar", "revenue", "region", "highest", "west"} <= set(WORLD.words)
    assert WORLD.words["cart"] == 32 and WORLD.words["bar"] == 216
    texts = known_world([("text", f"Post by @user{i}: message number {i}", 280, 94) for i in range(29)]
                        + [("text", "Members only", 300, 60)])
    assert texts.words == {"post": 280, "message": 280, "number": 280}  # frame words, not one image's text
    assert KnownWorld.from_info({"known_world": WORLD.to_info()}) == WORLD
    assert KnownWorld.from_info({}) == KnownWorld()


def test_a_picture_word_is_learned_only_when_several_training_answers_say_it():
    world = known_world(30 * [("icon_control", "Search", 24, 24)] + 2 * [("emoji", "Trophy", 48, 48)]
                        + 28 * [("emoji", "Fire", 20, 20)]
                        + [("icon_control", "Katana", 140, 40), ("icon_control", "Share on Katana", 32, 32)])
    # "trophy" twice, "katana" twice (a brand read once in its wordmark, named once by its link)
    assert world.words == {"search": 24, "fire": 20}
    assert known_world(3 * [("emoji", "Trophy", 48, 48)]).words == {"trophy": 48}


def test_decorative_is_supported_only_up_to_the_largest_decorative_image_learned():
    world = known_world([("decorative", "", 300, 8), ("decorative", "", 120, 40), ("text", "Members only", 300, 60)])
    assert world.decorative_area == 4800
    assert world.supports_decorative(4800) and not world.supports_decorative(250 * 250)
    assert KnownWorld.from_info({"known_world": world.to_info()}) == world
    assert known_world([("text", "Members only", 300, 60)]).decorative_area == 0  # never learned: never believed
    assert KnownWorld().supports_decorative(10 ** 6)  # a model packaged without one is not limited


def test_only_the_first_words_of_an_image_larger_than_any_learned_are_read():
    from backend.modelinput import OCR_LIMIT, UNSEEN_SIZE_OCR_LIMIT, ocr_limit

    world = known_world([("chart", "Sales by month", 180, 180), ("text", "Members only", 300, 60)])
    assert world.seen_area == 180 * 180
    assert KnownWorld.from_info({"known_world": world.to_info()}) == world
    assert ocr_limit((180, 180), world.seen_area) == OCR_LIMIT  # as large as what it learned: all the prompt holds
    assert ocr_limit((1200, 630), world.seen_area) == UNSEEN_SIZE_OCR_LIMIT < OCR_LIMIT  # a screenshot
    assert ocr_limit((1200, 630), None) == OCR_LIMIT  # a model packaged without it is read in full


def test_content_words_drop_what_claims_nothing():
    assert content_words("A screenshot of the Budget dashboards") == ["budget", "dashboard"]


def test_an_answer_must_be_supported_by_the_page_the_image_text_or_the_known_world():
    page = PageContext(page_title="Our lunch", surrounding_text="We cooked tacos on Friday.")
    assert unsupported_words("Tacos on Friday", page, "", (800, 600), WORLD) == []
    assert unsupported_words("Members only", PageContext(), "MEMBERS ONLY", (300, 60), WORLD) == []
    assert unsupported_words("Shopping cart", PageContext(), "", (32, 32), WORLD) == []
    # the same words for an image larger than any the model learned them from are not supported
    assert unsupported_words("Shopping cart", PageContext(), "", (100, 100), WORLD) == ["shopping", "cart"]
    # the page's own served size decides when it says one
    assert unsupported_words("Trophy", PageContext(width=40, height=40), "", (1200, 1200), WORLD) == []
    template = "Bar and was added to make the page look more attractive"
    assert "attractive" in unsupported_words(template, page, "", (64, 64), WORLD)


def test_the_honest_form_is_recognised_and_a_bare_kind_word_is_not():
    assert parse_honest(NO_DESCRIPTION) == ("", "")
    assert parse_honest(honest_answer("screenshot", "Budget dashboard")) == ("Screenshot", "Budget dashboard")
    assert parse_honest(honest_answer("photo")) == ("Photo", "")
    assert parse_honest("Photo") is None
    assert parse_honest("Shopping cart") is None
    assert honest_answer("text", "An official website") == "Text in image: An official website"
    assert parse_honest("Text in image: An official website") == ("Text in image", "An official website")


def test_the_honest_form_of_a_links_only_content_says_where_the_link_goes():
    from backend.honest import honest_link

    linked = honest_answer("photo", link="flickr.com")
    assert linked == "Photo, no description available. Link to flickr.com"
    assert parse_honest(linked) == ("Photo", "") and honest_link(linked) == "flickr.com"
    said = honest_answer("text", "Secure HTTP (HTTPS)", "pulse.cio.gov")
    assert said == "Text in image: Secure HTTP (HTTPS). Link to pulse.cio.gov"
    assert parse_honest(said) == ("Text in image", "Secure HTTP (HTTPS)") and honest_link(said) == "pulse.cio.gov"
    assert honest_answer("", "", "w3.org") == "No description available. Link to w3.org"
    assert honest_answer("photo", "Our team.", "x.gov") == "Photo: Our team. Link to x.gov"  # one full stop
    assert honest_link(honest_answer("photo")) == "" and honest_link("Shopping cart") == ""


def test_the_text_in_an_image_is_its_answer_only_at_the_size_images_of_text_were_learned():
    world = known_world([("text", "Members only", 300, 60), ("decorative", "", 300, 8)])
    assert world.text_area == 18000
    assert Evidence.of(PageContext(width=240, height=60), "", (0, 0), world).reads_as_text()
    assert Evidence.of(PageContext(width=800, height=450), "", (0, 0), world).reads_as_text() is False
    assert Evidence.of(PageContext(width=800, height=450), "", (0, 0), KnownWorld()).reads_as_text() is None
    large = Evidence.of(PageContext(width=1600, height=934, page_title="A good blog post"), "", (0, 0),
                        known_world([("text", f"Post by @user{i}: message", 280, 94) for i in range(9)]
                                    + 3 * [("chart", "Bar chart: Revenue by region", 1600, 900)]))
    assert large.retells_text("Looking for fec.gov?", "Looking for fec.gov? An official website")
    # a frame the model learned for small posts, around the text read: "post" is only the page's word here
    assert large.retells_text("Post by designer: used the Draft Standards", "designer: used the Draft Standards")
    assert not large.retells_text("Bar chart: Revenue by region", "Revenue by region")  # "bar": learned this large
    assert not large.retells_text("Post by", "")  # nothing of the image's text: the support check's business
    assert not large.retells_text("", "Members only")
    assert is_readable("Post by") and not is_readable("Ath") and not is_readable("三") and not is_readable("G 18")


def test_an_image_beside_its_controls_own_text_is_redundant_unless_it_holds_other_text():
    link = PageContext(control_role="link", control_text="Watch the keyboard video", control_href="/video")
    assert redundant_in_control(link, "")
    assert redundant_in_control(link, "keyboard video")  # its text is the link's
    assert not redundant_in_control(link, "50% OFF")  # text the page does not say must be named
    assert not redundant_in_control(link.with_changes(control_text="", only_content=True), "")
    assert not redundant_in_control(PageContext(surrounding_text="A photo"), "")


def test_a_decoding_loop_is_never_supported():
    assert unsupported_words("us us us us us", PageContext(), "Let us know", (300, 60), WORLD) == ["us"]
    assert unsupported_words("Let us know", PageContext(), "Let us know", (300, 60), WORLD) == []


def test_an_answer_without_a_word_of_two_letters_or_digits_claims_nothing():
    evidence = Evidence.of(PageContext(), "日 X HTML5 Powered", (229, 64), KnownWorld())
    assert evidence.unsupported("日") == ["日"]  # one mark read off a badge is no name
    assert evidence.unsupported("HTML5 Powered") == []
    # unless the model learned it from pixels: the "X" brand's icon
    icons = known_world(3 * [("icon_control", "X", 32, 32)])
    assert Evidence.of(PageContext(), "", (32, 32), icons).unsupported("X") == []
    assert evidence.unsupported("X") == ["x"]


def test_a_web_address_read_in_an_image_is_its_host():
    assert site_read("analytics.usa.gov About this site 140,868") == "analytics.usa.gov"
    assert site_read("Looking for https://www.uskpa.org/ today") == "uskpa.org"
    assert site_read("18F/18f.gsa.gov + GitHub, Inc.") == "18f.gsa.gov"
    # not an e-mail address, a file name, an abbreviation
    assert site_read("Write to team@agency.gov README.md post.py e.g. i.e.") == ""
