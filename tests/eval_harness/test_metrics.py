"""Metrics against values worked out by hand, and against pycocoevalcap's own pipeline."""
from __future__ import annotations

import math

import numpy as np
import pytest

from eval_harness.metrics import (
    Prediction,
    Reference,
    bleu_from_stats,
    bleu_stats,
    is_repetitive,
    normalize_for_match,
    ptb_tokenize,
    score,
)


def sheet(pairs, jar, **ref_kw):
    """Score [(hypothesis, [references])] with plain predictions."""
    return score([Prediction(h) for h, _ in pairs], [Reference(list(r), **ref_kw) for _, r in pairs], jar)


# ----------------------------------------------------------------------------- tokeniser


def test_ptb_tokenize_lowercases_splits_clitics_and_drops_punctuation():
    out = ptb_tokenize(["The cat's sitting on a mat, isn't it?", "", "Café\ncrème — 2019!", "A  DOG."])
    assert out == ["the cat 's sitting on a mat is n't it", "", "café crème 2019", "a dog"]


def test_ptb_tokenize_keeps_one_line_per_text_even_with_trailing_empties():
    assert ptb_tokenize(["a", "", ""]) == ["a", "", ""]
    assert ptb_tokenize([]) == []


# ----------------------------------------------------------------------------- BLEU


def test_bleu_cumulative_by_hand(meteor_jar):
    # hyp n-grams matched in "the cat sat on the mat":
    # 1-grams the cat sat on mat -> 5/6; 2-grams the·cat cat·sat sat·on -> 3/5;
    # 3-grams the·cat·sat cat·sat·on -> 2/4; 4-grams the·cat·sat·on -> 1/3; equal lengths, no penalty.
    s = sheet([("the cat sat on a mat", ["the cat sat on the mat"])], meteor_jar).corpus
    p = [5 / 6, 3 / 5, 2 / 4, 1 / 3]
    for n in range(1, 5):
        assert s[f"BLEU-{n}"] == pytest.approx(math.prod(p[:n]) ** (1 / n), abs=1e-6)


def test_bleu_brevity_penalty_by_hand(meteor_jar):
    # every hypothesis word matches, but 2 words against 6: BP = exp(1 - 6/2)
    s = sheet([("the cat", ["the cat sat on the mat"])], meteor_jar).corpus
    assert s["BLEU-1"] == pytest.approx(math.exp(-2), abs=1e-6)


def test_bleu_is_corpus_level_not_a_mean_of_sentences(meteor_jar):
    # 4 of 4 words right plus 0 of 2: corpus BLEU-1 is 4/6 (a sentence mean would say 1/2);
    # total hypothesis length 6 vs closest reference lengths 4 + 2 = 6, no penalty.
    s = sheet([("w x y z", ["w x y z"]), ("p q", ["r s"])], meteor_jar).corpus
    assert s["BLEU-1"] == pytest.approx(4 / 6, abs=1e-6)


def test_bleu_uses_the_closest_reference_length():
    # references of 2 and 5 words; a 4-word hypothesis is closest to 5
    stats = bleu_stats("a b c d", ["a b", "a b c d e"])
    assert stats[:2].tolist() == [4, 5]
    assert bleu_from_stats(stats)[0] == pytest.approx(1.0 * math.exp(1 - 5 / 4), abs=1e-6)


# ----------------------------------------------------------------------------- ROUGE-L, CIDEr, METEOR


def test_rouge_l_by_hand(meteor_jar):
    # LCS("a cat on the mat", "the cat sat on the mat") = cat on the mat = 4 words
    p, r, beta = 4 / 5, 4 / 6, 1.2
    expected = (1 + beta ** 2) * p * r / (r + beta ** 2 * p)
    s = sheet([("a cat on the mat", ["the cat sat on the mat"])], meteor_jar).corpus
    assert s["ROUGE-L"] == pytest.approx(expected, abs=1e-9)


def test_rouge_l_takes_best_precision_and_recall_over_references(meteor_jar):
    # ref1 = hypothesis + 2 words: P=1, R=2/4; ref2 shares nothing
    p, r, beta = 1.0, 2 / 4, 1.2
    s = sheet([("red car", ["red car parked outside", "blue sky"])], meteor_jar).corpus
    assert s["ROUGE-L"] == pytest.approx((1 + beta ** 2) * p * r / (r + beta ** 2 * p), abs=1e-9)


def test_cider_perfect_answers_with_distinct_vocabularies_score_ten(meteor_jar):
    # every n-gram occurs in one of two images: IDF log 2 each, cosine 1, no length penalty -> 10 * 1
    s = sheet([("red car parked outside", ["red car parked outside"]),
               ("blue sky with clouds", ["blue sky with clouds"])], meteor_jar).corpus
    assert s["CIDEr"] == pytest.approx(10.0, abs=1e-9)
    wrong = sheet([("green tree", ["red car parked outside"]), ("tall house", ["blue sky with clouds"])],
                  meteor_jar).corpus
    assert wrong["CIDEr"] == 0.0


def test_meteor_identical_and_disjoint(meteor_jar):
    s = sheet([("a red car parked outside", ["a red car parked outside"])], meteor_jar).corpus
    assert s["METEOR"] == pytest.approx(1.0, abs=1e-9)
    # no word, stem, synonym or paraphrase in common (METEOR does match "green" to "red")
    s = sheet([("zqx vbn", ["red car parked outside"])], meteor_jar).corpus
    assert s["METEOR"] == 0.0


SHARED_REFS = [["A man riding a horse on the beach.", "Someone rides a horse by the sea"],
               ["The cat's sitting on a mat, isn't it?"],
               ["Bar chart of sales by year, 2019–2023."],
               ["Café crème on a wooden table"],
               ["A dog running across a grassy field."],
               ["Shopping cart"]]
SHARED_HYPS = ["", "a cat sits on the mat", "bar chart showing sales per year", "un café crème sur la table",
               "a dog runs in the grass", "Shopping cart icon"]


def test_agrees_with_pycocoevalcap_pipeline_to_four_decimals(meteor_jar):
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({i: [{"caption": c} for c in refs] for i, refs in enumerate(SHARED_REFS)})
    res = tokenizer.tokenize({i: [{"caption": h}] for i, h in enumerate(SHARED_HYPS)})
    expected = dict(zip(("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"), Bleu(4).compute_score(gts, res, verbose=0)[0]))
    expected["METEOR"] = Meteor().compute_score(gts, res)[0]
    expected["ROUGE-L"] = Rouge().compute_score(gts, res)[0]
    expected["CIDEr"] = Cider().compute_score(gts, res)[0]

    ours = sheet(list(zip(SHARED_HYPS, SHARED_REFS)), meteor_jar).corpus
    assert expected["CIDEr"] > 0 and expected["METEOR"] > 0  # a shared example that exercises every metric
    for name, value in expected.items():
        assert round(ours[name], 4) == round(float(value), 4), name


def test_resampled_aggregates_match_scoring_the_resample_directly(meteor_jar):
    pairs = list(zip(SHARED_HYPS, SHARED_REFS))
    full = sheet(pairs, meteor_jar)
    idx = np.array([1, 1, 2, 4, 5, 5, 5])
    direct = sheet([pairs[i] for i in idx], meteor_jar).corpus
    for name in ("BLEU-1", "BLEU-4", "METEOR", "ROUGE-L", "mean_words"):
        assert full.aggregate(name, idx) == pytest.approx(direct[name], abs=1e-9), name
    for name, value in full.corpus.items():
        if not math.isnan(value):
            assert full.aggregate(name, np.arange(len(pairs))) == pytest.approx(value, abs=1e-12), name


# ----------------------------------------------------------------------------- behaviour metrics


def test_length_share_decorative_and_repetition_by_hand(meteor_jar):
    long_text = "word " * 25 + "words"  # 26 words, 131 characters
    assert len(long_text) > 125
    preds = [Prediction("a dog a dog"), Prediction(long_text), Prediction("", decorative=True),
             Prediction("a dog and a cat")]
    refs = [Reference(["a dog"]), Reference(["x"]), Reference(["a spacer"]), Reference(["a dog and a cat"])]
    s = score(preds, refs, meteor_jar).corpus
    # informative predictions: 4, 26 and 5 words
    assert s["mean_words"] == pytest.approx((4 + 26 + 5) / 3)
    assert s["share_over_125_chars"] == pytest.approx(1 / 3)
    assert s["decorative_rate"] == pytest.approx(1 / 4)
    assert s["repetition_rate"] == pytest.approx(2 / 3)  # "a dog a dog" and the long one repeat
    assert math.isnan(s["decorative_agreement"])  # no reference says whether it is decorative


def test_repetition_rules():
    assert is_repetitive("very very big")
    assert is_repetitive("a man on a horse, a man on a horse")
    assert not is_repetitive("a dog and a cat")
    assert not is_repetitive("")


def test_exact_match_for_images_of_text_by_category(meteor_jar):
    preds = [Prediction("Ticket prices."), Prediction("HOME"), Prediction("news page"), Prediction("a cat"),
             Prediction("", decorative=True)]
    refs = [Reference(["Ticket Prices"], category="text"), Reference(["Home"], category="text"),
            Reference(["News"], category="text"), Reference(["a cat"], category="photo"),
            Reference([""], decorative=True, category="decorative")]
    s = score(preds, refs, meteor_jar).corpus
    assert s["exact_match_text"] == pytest.approx(2 / 3)
    assert s["exact_match[text]"] == pytest.approx(2 / 3)
    assert s["exact_match[photo]"] == 1.0
    assert normalize_for_match("  “Ticket  Prices!” ") == "ticket  prices".replace("  ", " ")


def test_decorative_agreement_and_decorative_references_leave_caption_metrics(meteor_jar):
    preds = [Prediction("", decorative=True), Prediction("a red car"), Prediction("a spacer")]
    refs = [Reference([""], decorative=True), Reference(["a red car"], decorative=False),
            Reference([""], decorative=True)]
    s = score(preds, refs, meteor_jar).corpus
    assert s["decorative_agreement"] == pytest.approx(2 / 3)
    # only the one described example enters BLEU, and it is a perfect match
    assert s["BLEU-1"] == pytest.approx(1.0, abs=1e-6)


def test_no_described_example_gives_nan_caption_metrics(meteor_jar):
    s = score([Prediction("", decorative=True)], [Reference([""], decorative=True)], meteor_jar).corpus
    assert all(math.isnan(s[m]) for m in ("BLEU-1", "METEOR", "ROUGE-L", "CIDEr"))
    assert s["decorative_agreement"] == 1.0


def test_score_starts_and_stops_its_own_jar_when_none_is_given():
    s = score([Prediction("a red car")], [Reference(["a red car"])])
    assert s.corpus["METEOR"] == pytest.approx(1.0)
    with pytest.raises(RuntimeError, match="closed"):
        s.aggregate("METEOR", np.array([0]))


def test_length_mismatch_is_an_error(meteor_jar):
    with pytest.raises(ValueError):
        score([Prediction("a")], [], meteor_jar)
