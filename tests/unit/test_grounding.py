"""Handles and hashtags in a description are the ones the image's text shows (backend/grounding.py)."""
from backend.grounding import ground_mentions


def test_a_handle_the_image_does_not_show_becomes_the_one_it_shows():
    # what the bundled model wrote for a post screenshot before grounding (val split)
    assert ground_mentions("Post by @a.khan: Voting closes at 10pm",
                           "Aisha Khan @khan13 Voting closes at 10pm") == "Post by @khan13: Voting closes at 10pm"
    assert ground_mentions("Post by @leo: hi", "Leo Rossi @leorossi hi") == "Post by @leorossi: hi"


def test_a_handle_with_inner_dots_is_one_handle_and_trailing_punctuation_stays():
    assert ground_mentions("Post by @omar.patel: done.", "Tom Becker @tom.becker done") == "Post by @tom.becker: done."


def test_the_closest_of_several_shown_handles_is_taken():
    ocr = "Replying to @sam.carter and @okafor58"
    assert ground_mentions("Reply to @samcarter", ocr) == "Reply to @sam.carter"
    assert ground_mentions("Reply to @okafor", ocr) == "Reply to @okafor58"


def test_shown_handles_any_case_and_images_without_handles_are_left_alone():
    assert ground_mentions("Post by @Khan13: hi", "@khan13 hi") == "Post by @Khan13: hi"
    assert ground_mentions("Post by @khan13: hi", "") == "Post by @khan13: hi"
    assert ground_mentions("Post by @khan13: hi", "Aisha Khan hi") == "Post by @khan13: hi"


def test_a_hashtag_is_only_replaced_by_a_hashtag_and_an_email_address_is_not_a_handle():
    assert ground_mentions("Vote #election", "@council #elections2026") == "Vote #elections2026"
    assert ground_mentions("Vote #election", "@council") == "Vote #election"
    assert ground_mentions("Write to info@shop.com", "@shop") == "Write to info@shop.com"
