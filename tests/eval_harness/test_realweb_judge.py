"""The real-web judge on hand-made cases: every verdict, the defect detector and the per-kind checks."""
from __future__ import annotations

import pytest

from backend.honest import NO_DESCRIPTION, honest_answer
from eval_harness.realweb.judge import (Answer, is_image_of_text, reads_exactly, repeats_defect, spoken_text,
                                        verdict)

TEMPLATE = ("Bar and was added to make the page look more attractive and easier to use for all of the "
            "visitors who come here.")
PAGE = "Tacos for lunch | We cooked together on Friday. A day in the life of a content designer."


def answer(text: str = "", **kw) -> Answer:
    return Answer("set:1", text=text, **kw)


@pytest.mark.parametrize("alt, given, expected", [
    ("", answer(decorative=True), "decorative_right"),
    ("", answer("A red star"), "decorative_wrong"),
    ("", answer(NO_DESCRIPTION), "decorative_wrong"),
    ("", answer(written=False), "decorative_wrong"),
    ("delicious homemade taco", answer(decorative=True), "hidden"),
    ("delicious homemade taco", answer(written=False), "unanswered"),
    ("delicious homemade taco", answer("Possibly: homemade tacos"), "grounded"),
    ("A screenshot of the MyUSCIS homepage.", answer("Screenshot of MyUSCIS"), "grounded"),
    ("delicious homemade taco", answer(NO_DESCRIPTION), "honest"),
    # the honest form saying what the author said is grounded, its fixed words no part of the claim
    ("A screenshot of the 18F Content Guide", answer(honest_answer("screenshot", "18F Content Guide")), "grounded"),
    ("Photo of a media player that is not available", answer(honest_answer("photo")), "honest"),
    ("delicious homemade taco", answer(honest_answer("photo")), "honest"),
    ("delicious homemade taco", answer(honest_answer("photo", "We cooked together on Friday")), "honest"),
    ("delicious homemade taco", answer(honest_answer("photo", "Tacos for lunch")), "grounded"),
    # the honest form saying what the page does not say is not honest
    ("delicious homemade taco", answer(honest_answer("photo", "A birthday party")), "ungrounded"),
    # a bare kind word is the corpus's "generic" defect, not the honest form
    ("delicious homemade taco", answer("Photo"), "ungrounded"),
    # a template answer sharing one word with the alt is not grounded
    ("Bar chart of revenue by state", answer(TEMPLATE), "ungrounded"),
    ("A map of the U.S. visualizing federal natural resource revenues", answer("More news"), "ungrounded"),
])
def test_every_verdict(alt, given, expected):
    assert verdict(alt, given, PAGE) == expected


def test_where_a_link_goes_is_honest_when_the_page_links_there_and_no_claim_about_the_image():
    page = PAGE + " https://www.flickr.com/photos/kiri_no_hana/"
    linked = answer(honest_answer("photo", link="flickr.com"))
    assert verdict("Layer cake, by Flickr user Kirinohana", linked, page) == "honest"  # the link is no description
    assert verdict("Layer cake", linked, PAGE) == "ungrounded"  # a target the page does not link to
    said = answer(honest_answer("screenshot", "Approval Portal", "cap.18f.gov"))
    assert verdict("Screenshot of the Communicart approval portal", said, "https://cap.18f.gov/") == "grounded"


def test_half_the_answer_must_be_in_the_alt():
    alt = "Team members at a whiteboard"
    assert verdict(alt, answer("Team at whiteboard"), "") == "grounded"
    assert verdict(alt, answer("Team celebrates a birthday with cake"), "") == "ungrounded"


def test_defects_of_the_corpus_are_recognised():
    assert repeats_defect(TEMPLATE) == "long_caption"
    assert repeats_defect("Possibly: image") == "generic"
    assert repeats_defect("click here") == "generic"
    assert repeats_defect("tacos2.JPG", file_name="tacos2.JPG") == "file_name"
    nearby = "We helped the agency launch a platform that allows users to easily access information today."
    assert repeats_defect("We helped the agency launch a platform that allows users to easily access information",
                          nearby=nearby) == "post_copy"
    assert repeats_defect("Delicious homemade taco") == ""


def test_prefixes_are_what_the_extension_adds():
    assert spoken_text("Possibly: Free shipping") == ("Free shipping", True)
    assert spoken_text("Generated: Free shipping") == ("Free shipping", False)


def test_images_of_text_and_exact_reading():
    assert is_image_of_text("Better data.", "BETTER DATA.")
    assert not is_image_of_text("Members only today", "Members onIy")  # one word of three read: 33%
    assert not is_image_of_text("A photo of a dog in a park", "")
    assert is_image_of_text("anything", "", tutorial_category="textual")
    assert reads_exactly("Better data.", "Possibly: better data")
    assert not reads_exactly("Better data.", "Better")
    # The backend's frame for a large image's own text is heard as a label, like "Possibly:"...
    assert reads_exactly("Accessibility: essential for some", "Text in image: Accessibility: Essential for some")
    assert not reads_exactly("Accessibility: essential for some", "Text in image: Accessibility: Essential")
    # ...but no other honest form is a read of the image's text, even when it says the same words.
    assert not reads_exactly("Better data", "Screenshot: Better data")
    assert not reads_exactly("Better data", "No description available: Better data")
