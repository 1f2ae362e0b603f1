"""The feedback → pair rules of DESIGN.md §4 and the text guards, as pure functions."""
from __future__ import annotations

import pytest

from backend.errors import ApiError
from backend.preferences import Pair, parse_feedback, pairs_for, validate_text

GEN = dict(description="A red square", decorative=False, candidates=["A square", "Red"])


def pairs(kind, **payload):
    return pairs_for(GEN["description"], GEN["decorative"], GEN["candidates"], kind, payload)


def test_correct_prefers_user_text_over_generated():
    assert pairs("correct", text="Stop sign") == [Pair("Stop sign", "A red square", 1.0)]


def test_pick_prefers_candidate_over_generated():
    assert pairs("pick", candidate_index=1) == [Pair("Red", "A red square", 1.0)]


def test_choose_prefers_picked_over_other_shown():
    assert pairs("choose", shown=["A square", "A red square"], chosen_index=0) == [Pair("A square", "A red square", 1.0)]
    assert pairs("choose", shown=["Red", "A square"], chosen_index=0) == [Pair("Red", "A square", 1.0)]


def test_rate_down_gives_no_pair():
    assert pairs("rate", rating="down") == []


def test_rate_up_prefers_generated_over_lowest_ranked_candidate_with_weaker_weight():
    [pair] = pairs("rate", rating="up")
    assert pair == Pair("A red square", "Red", 0.5)
    assert pair.weight < 1.0


def test_rate_up_without_candidates_gives_no_pair():
    assert pairs_for("A cat", False, [], "rate", {"rating": "up"}) == []


def test_decorative_generation_is_the_empty_text():
    assert pairs_for("", True, ["A border"], "correct", {"text": "Company logo"}) == [Pair("Company logo", "", 1.0)]
    assert pairs_for("", True, ["A border"], "rate", {"rating": "up"}) == [Pair("", "A border", 0.5)]


def test_feedback_on_what_the_backend_said_instead_pushes_down_what_the_model_said():
    # the user heard "No description available"; the model had said an unsupported sentence
    said = "This image shows a star"
    correct = pairs_for("No description available", False, ["A star", "A logo"], "correct",
                        {"text": "Team photo"}, model_answer=said)
    assert correct == [Pair("Team photo", said, 1.0)]
    assert pairs_for("No description available", False, ["A star", "A logo"], "pick", {"candidate_index": 1},
                     model_answer=said) == [Pair("A logo", said, 1.0)]
    # a decorative claim the backend did not believe: the correction pairs against "decorative"
    assert pairs_for("No description available", False, [], "correct", {"text": "Team photo"},
                     model_answer="") == [Pair("Team photo", "", 1.0)]
    # a correction that says what the model had said teaches no preference
    assert pairs_for("No description available", False, [], "correct", {"text": said}, model_answer=said) == []


def test_correction_equal_to_generated_is_refused():
    with pytest.raises(ApiError) as err:
        pairs("correct", text="a  RED square")
    assert err.value.status == 422


@pytest.mark.parametrize("index", [2, -1, 99])
def test_pick_out_of_range_is_refused(index):
    with pytest.raises(ApiError) as err:
        pairs("pick", candidate_index=index)
    assert err.value.status == 422


@pytest.mark.parametrize("shown", [["Injected text", "A square"], ["A square", "a square"]])
def test_choose_only_between_offered_distinct_texts(shown):
    with pytest.raises(ApiError) as err:
        pairs("choose", shown=shown, chosen_index=0)
    assert err.value.status == 422


@pytest.mark.parametrize("text", [
    "<b>bold</b>", "<script>alert(1)</script>", "a &lt; b", "click javascript:alert(1)",
    "see data:text/html,x", "x", "", " " * 10, "a" * 301, "bad\x00byte", "tab\x07bell",
    "evil \u202etxt.exe", "zero\u200bwidth", "!!! ???", "<!-- comment -->",
])
def test_invalid_texts_are_refused(text):
    with pytest.raises(ApiError) as err:
        validate_text(text)
    assert err.value.status == 422


@pytest.mark.parametrize("text, expected", [
    ("  A   dog\nrunning ", "A dog running"),
    ("Café au lait", "Café au lait"),
    ("Chart data: sales 2024 < 5%", None),  # a bare '<' before a space or digit is not markup
    ("Family \U0001F468\u200d\U0001F469\u200d\U0001F467 photo", None),
    ("日本語の説明", None),
    ("a" * 300, None),
])
def test_valid_texts_are_normalised(text, expected):
    assert validate_text(text) == (expected or text)


@pytest.mark.parametrize("body", [
    [], "x", {"kind": "rate", "rating": "up"}, {"generation_id": "g", "kind": "shout"},
    {"generation_id": "g", "kind": "rate", "rating": "meh"},
    {"generation_id": "g", "kind": "pick", "candidate_index": "1"},
    {"generation_id": "g", "kind": "pick", "candidate_index": True},
    {"generation_id": "g", "kind": "choose", "shown": ["a"], "chosen_index": 0},
    {"generation_id": "g", "kind": "choose", "shown": ["a", "b"], "chosen_index": 2},
    {"generation_id": "g", "kind": "correct", "text": 5},
    {"generation_id": 5, "kind": "rate", "rating": "up"},
])
def test_malformed_feedback_is_a_400(body):
    with pytest.raises(ApiError) as err:
        parse_feedback(body)
    assert err.value.status == 400
