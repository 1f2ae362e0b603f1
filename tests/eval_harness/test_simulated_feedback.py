"""The simulated user of ``python -m eval_harness.compare --pairs feedback``: what it sends, and the pairs the API rules make of it."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from backend.engine import Description
from backend.modelinput import PageContext
from eval_harness.simulated_feedback import Feedback, feedback_pairs, simulated_feedback, summary
from trainer.data import PreferenceExample


def _answer(text: str, candidates: list[str], decorative: bool = False) -> Description:
    return Description(text, decorative, 0.8, False, candidates)


def test_a_right_answer_gets_a_thumbs_up_up_to_case_and_edge_punctuation():
    assert simulated_feedback(_answer("add to cart.", ["Add"]), "Add to cart", False) == Feedback("rate", {"rating": "up"})
    assert simulated_feedback(_answer("", ["Spacer"], decorative=True), "", True) == Feedback("rate", {"rating": "up"})


def test_a_wrong_answer_picks_the_candidate_closest_to_the_correct_alt():
    answer = _answer("Search the", ["Zoom", "Search the shop", "Search"])
    assert simulated_feedback(answer, "Search the shop", False) == Feedback("pick", {"candidate_index": 1})
    # a closer candidate that is still wrong is picked too: the chosen side need not be right
    answer = _answer("Open", ["Open the menu now", "Close"])
    assert simulated_feedback(answer, "Open the menu", False) == Feedback("pick", {"candidate_index": 0})
    # an image wrongly hidden as decorative: any candidate with a word of the alt beats it
    answer = _answer("", ["Cart", "Home"], decorative=True)
    assert simulated_feedback(answer, "Go to cart", False) == Feedback("pick", {"candidate_index": 0})


def test_no_better_candidate_or_a_missed_decorative_image_gets_a_thumbs_down():
    down = Feedback("rate", {"rating": "down"})
    assert simulated_feedback(_answer("Search the shop", ["Zoom in", "Search"]), "Search the shop now", False) == down
    assert simulated_feedback(_answer("Red line", ["Blue line"]), "", True) == down  # no candidate says decorative
    assert simulated_feedback(_answer("Zoom", []), "Search", False) == down


class ScriptedEngine:
    """Answers as scripted per image width; feedback_pairs only needs ``describe``."""

    def __init__(self, answers: dict[int, Description]):
        self.answers = answers

    def describe(self, images, contexts, ocr_texts):
        return [self.answers[image.size[0]] for image in images]


def _record(tmp_path: Path, width: int, reference: str, decorative: bool = False) -> PreferenceExample:
    path = tmp_path / f"{width}.png"
    Image.new("RGB", (width, 20), "white").save(path)
    return PreferenceExample(context=PageContext(), chosen=reference, chosen_decorative=decorative, image_path=path,
                             source=f"train:{width}",
                             meta={"id": str(width), "reference": reference, "decorative": decorative})


def test_feedback_pairs_follow_the_apis_pair_rules(tmp_path):
    engine = ScriptedEngine({
        30: _answer("Add to cart", ["Add to", "Cart"]),  # right: thumbs up, pairs it with the lowest candidate
        31: _answer("Search the", ["Search the shop", "Zoom"]),  # wrong: picks the closer candidate
        32: _answer("Blue line", ["Red line"]),  # should be decorative: thumbs down, no pair
        33: _answer("", ["Go home", "Home page"], decorative=True),  # wrongly decorative: picks the closer text
    })
    records = [_record(tmp_path, 30, "Add to cart"), _record(tmp_path, 31, "Search the shop"),
               _record(tmp_path, 32, "", decorative=True), _record(tmp_path, 33, "Home page")]
    pairs = feedback_pairs(engine, records, batch_size=3)
    got = [(p.meta["id"], p.chosen, p.chosen_decorative, p.rejected, p.rejected_decorative, p.weight,
            p.meta["feedback"], p.meta["chosen_is_reference"]) for p in pairs]
    assert got == [("30", "Add to cart", False, "Cart", False, 0.5, "rate", True),
                   ("31", "Search the shop", False, "Search the", False, 1.0, "pick", True),
                   ("33", "Home page", False, "", True, 1.0, "pick", True)]
    assert all(p.image_path == r.image_path and p.context == r.context for p, r in zip(pairs, [records[0], records[1],
                                                                                                records[3]]))
    assert summary(pairs, len(records)) == {"records": 4, "pairs": 3, "by_kind": {"rate": 1, "pick": 2},
                                            "chosen_is_reference": 3, "chosen_is_not_reference": 0}


def test_a_picked_candidate_that_is_still_wrong_is_marked_so(tmp_path):
    engine = ScriptedEngine({40: _answer("Open", ["Open the menu now", "Close"])})
    pairs = feedback_pairs(engine, [_record(tmp_path, 40, "Open the menu")])
    assert [(p.chosen, p.rejected, p.meta["chosen_is_reference"]) for p in pairs] == [("Open the menu now", "Open",
                                                                                        False)]
    assert summary(pairs, 1)["chosen_is_not_reference"] == 1
