"""The ONNX engine answers like the PyTorch model it was exported from."""
import math

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

from backend.engine import AltTextEngine, EngineSettings, Hypothesis, OnnxModel, _without, reading_order_bans
from backend.modelinput import PageContext, build_model_input, pointer_ids
from backend.honest import NO_DESCRIPTION

CONTEXTS = [
    PageContext(control_role="button", control_text="", only_content=True, page_title="Shop"),
    PageContext(caption="Sales by quarter", heading="Annual report", surrounding_text="Q4 was best"),
    PageContext(),
]


def images():
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 255, (30 + 7 * i, 50, 3), dtype=np.uint8)) for i in range(3)]


def test_onnx_greedy_matches_pytorch_token_for_token(tiny_checkpoint, tiny_onnx):
    torch_model = VisionEncoderDecoderModel.from_pretrained(tiny_checkpoint).eval()
    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    processor = AutoImageProcessor.from_pretrained(tiny_checkpoint)
    onnx = OnnxModel(tiny_onnx, providers=["CPUExecutionProvider"])
    for image, context in zip(images(), CONTEXTS):
        model_input = build_model_input(image, context, "OPEN 24 HOURS", tokenizer, processor)
        assert len(model_input.prompt_ids) > 3  # the context really is in the prompt
        with torch.no_grad():
            expected = torch_model.generate(
                pixel_values=torch.from_numpy(model_input.pixel_values[None]),
                decoder_input_ids=torch.tensor([model_input.prompt_ids]),
                do_sample=False, num_beams=1, max_new_tokens=20,
            )[0].tolist()
        assert onnx.generate_greedy(model_input, max_new_tokens=20) == expected


def test_single_beam_equals_greedy(tiny_onnx):
    onnx = OnnxModel(tiny_onnx, providers=["CPUExecutionProvider"])
    model_input = onnx.build_input(images()[0], CONTEXTS[0], "")
    hidden = onnx.encode(model_input.pixel_values[None])[0]
    best = onnx.beam_search(model_input.prompt_ids, hidden, num_beams=1, max_new_tokens=12)[0]
    greedy = onnx.generate_greedy(model_input, max_new_tokens=12)
    assert best.ids == greedy[len(model_input.prompt_ids):]


def test_beam_hypotheses_are_ranked_and_scored(tiny_onnx):
    onnx = OnnxModel(tiny_onnx, providers=["CPUExecutionProvider"])
    model_input = onnx.build_input(images()[1], CONTEXTS[1], "")
    hidden = onnx.encode(model_input.pixel_values[None])[0]
    hyps = onnx.beam_search(model_input.prompt_ids, hidden, num_beams=4, max_new_tokens=10)
    assert len(hyps) >= 1 and len(hyps) <= 4
    means = [h.mean_logprob for h in hyps]
    assert means == sorted(means, reverse=True)
    assert all(m < 0 for m in means)


def test_engine_reports_provider_and_answers_every_field(tiny_onnx):
    engine = AltTextEngine(tiny_onnx, version="v0001")
    assert engine.provider == "CPUExecutionProvider"  # no CUDA on this machine: CPU is reported, not assumed
    assert engine.trained is False and engine.note
    answers = engine.describe(images(), CONTEXTS, ["", "", ""])
    assert len(answers) == 3
    for a in answers:
        assert 0.0 <= a.confidence <= 1.0
        assert isinstance(a.candidates, list)


def test_low_confidence_gives_a_shorter_safe_answer(tiny_onnx):
    strict = AltTextEngine(tiny_onnx, settings=EngineSettings(low_confidence_below=1.01, safe_max_words=3))
    answers = strict.describe(images(), CONTEXTS, ["", "SALE 50% OFF TODAY ONLY", ""])
    for a in answers:
        assert a.low_confidence and not a.decorative
        assert len(a.description.split()) <= 3
    # with text found in the image, the safe answer is that text (never an invention), in sentence case
    assert answers[1].description == "Sale 50% off"


def test_scoring_a_response_agrees_with_the_decoding_loop(tiny_onnx):
    onnx = OnnxModel(tiny_onnx, providers=["CPUExecutionProvider"])
    model_input = onnx.build_input(images()[1], CONTEXTS[1], "OPEN")
    hidden = onnx.encode(model_input.pixel_values[None])[0]
    for hypothesis in onnx.beam_search(model_input.prompt_ids, hidden, num_beams=3, max_new_tokens=8):
        scored = onnx.score(model_input.prompt_ids, hidden, hypothesis.ids)
        assert scored.ids == hypothesis.ids
        assert scored.logprob == pytest.approx(hypothesis.logprob, abs=1e-3)


def test_text_read_in_the_image_is_put_to_the_model_as_a_candidate(tiny_onnx, monkeypatch):
    context, image = CONTEXTS[0], images()[0]
    # decoding mechanics: the support check (tests/unit/test_support.py) would hide the untrained answers
    settings = EngineSettings(low_confidence_below=0.0, check_support=False)
    engine = AltTextEngine(tiny_onnx, settings=settings)
    beam_only = AltTextEngine(tiny_onnx, settings=EngineSettings(low_confidence_below=0.0, score_ocr_text=False, check_support=False))
    baseline = beam_only.describe([image], [context], ["Add to basket"])[0]
    assert baseline.description != "Add to basket"  # the untrained model does not write it by itself
    # the model's own score decides: an untrained model finds the text unlikely and keeps its beam answer
    assert engine.describe([image], [context], ["Add to basket"])[0].description == baseline.description
    # ... and when the model finds the text the likeliest answer, the text is the answer
    scored = OnnxModel.score
    monkeypatch.setattr(OnnxModel, "score", lambda self, p, h, ids, *bans: Hypothesis(scored(self, p, h, ids).ids, -1e-3))
    answer = engine.describe([image], [context], ["Add to basket"])[0]
    assert answer.description == "Add to basket" and answer.confidence > 0.99
    assert baseline.description in answer.candidates or baseline.decorative


def test_beam_hypotheses_are_distinct_and_ended(tiny_onnx):
    """Ended hypotheses leave the beam once (an earlier loop returned duplicates and cut-off beams)."""
    onnx = OnnxModel(tiny_onnx, providers=["CPUExecutionProvider"])
    for image, context in zip(images(), CONTEXTS):
        model_input = onnx.build_input(image, context, "")
        hidden = onnx.encode(model_input.pixel_values[None])[0]
        hyps = onnx.beam_search(model_input.prompt_ids, hidden, num_beams=4, max_new_tokens=40)
        assert len({tuple(h.ids) for h in hyps}) == len(hyps)
        for h in hyps:
            assert h.ids[-1] == onnx.eos_id or len(h.ids) == 40
            assert onnx.eos_id not in h.ids[:-1]


def test_images_that_alt_empty_would_harm_are_never_decorative(tiny_onnx, monkeypatch):
    from backend import engine as engine_module

    only_content = PageContext(control_role="link", control_href="/cart", only_content=True)
    assert engine_module.must_be_named(only_content, "")
    assert engine_module.must_be_named(PageContext(), "Free shipping")
    assert not engine_module.must_be_named(PageContext(surrounding_text="Free shipping on all orders"), "Free shipping")
    assert not engine_module.must_be_named(PageContext(control_role="link", control_text="Cart"), "")
    # a model that calls everything decorative is overruled there, with the safe low-confidence answer
    decorative_id = OnnxModel(tiny_onnx).tokenizer.convert_tokens_to_ids("<decorative>")
    monkeypatch.setattr(OnnxModel, "beam_search_many",
                        lambda self, prompts, h, n, m, *bans: [[Hypothesis([decorative_id, self.eos_id], -0.01)] for _ in prompts])
    engine = AltTextEngine(tiny_onnx, settings=EngineSettings(score_ocr_text=False))
    named, text, plain = engine.describe(images(), [only_content, PageContext(), PageContext()], ["", "Free shipping", ""])
    assert plain.decorative and not plain.low_confidence
    assert not text.decorative and text.low_confidence and text.description == "Free shipping"
    assert not named.decorative and named.low_confidence



def _engine_answering(tiny_onnx, monkeypatch, scored_texts, **settings):
    """An engine whose beam search returns ``scored_texts`` ((text, mean log-prob) pairs) for every image.

    The support check is off unless asked for: these tests are about ranking, and the tiny model has no
    known world (tests/unit/test_support.py covers the check)."""
    settings.setdefault("check_support", False)
    from backend.modelinput import encode_response

    tokenizer = OnnxModel(tiny_onnx).tokenizer
    found = [(encode_response(tokenizer, text), mean) for text, mean in scored_texts]
    monkeypatch.setattr(OnnxModel, "beam_search_many", lambda self, prompts, h, n, m, *bans: [
        [Hypothesis(list(ids), mean * len(ids)) for ids, mean in found] for _ in prompts])
    return AltTextEngine(tiny_onnx, settings=EngineSettings(score_ocr_text=False, **settings))


def test_a_handle_the_model_invents_is_replaced_by_the_one_the_image_shows(tiny_onnx, monkeypatch):
    ocr, written = "Aisha Khan @khan13 Voting closes at 10pm", "Post by @a.khan: Voting closes at 10pm"
    as_written = _engine_answering(tiny_onnx, monkeypatch, [(written, -0.01)], ground_mentions=False)
    assert as_written.describe(images()[:1], [PageContext()], [ocr])[0].description == written
    grounded = _engine_answering(tiny_onnx, monkeypatch, [(written, -0.01)])
    answer = grounded.describe(images()[:1], [PageContext()], [ocr])[0]
    assert answer.description == "Post by @khan13: Voting closes at 10pm" and not answer.low_confidence
    # without text read in the image there is nothing to ground in: the answer stays as the model wrote it
    assert grounded.describe(images()[:1], [PageContext()], [""])[0].description == written

def test_a_near_tie_goes_to_the_copy_that_agrees_with_the_text_in_the_image(tiny_onnx, monkeypatch):
    ocr = "\u201cThe best way out is always through.\" \u2014 Robert Frost"
    looped = "The best way out is alway out is always through. \u2014 Robert Frost"
    faithful = "The best way out is always through. \u2014 Robert Frost"  # scores the bundled model gave (val)
    scored = [(looped, -0.049), (faithful, -0.054)]
    model_only = _engine_answering(tiny_onnx, monkeypatch, scored, ocr_agreement_weight=0.0)
    assert model_only.describe(images()[:1], [PageContext()], [ocr])[0].description == looped
    answer = _engine_answering(tiny_onnx, monkeypatch, scored).describe(images()[:1], [PageContext()], [ocr])[0]
    assert answer.description == faithful
    assert answer.confidence == pytest.approx(np.exp(-0.054), rel=1e-3)  # the model's own probability, no bonus
    assert looped in answer.candidates


def test_a_summary_far_ahead_keeps_its_lead_over_the_labels_it_was_drawn_from(tiny_onnx, monkeypatch):
    ocr = "Visitors per month Jan Feb Mar"
    summary, labels = "Bar chart: Visitors per month, highest in March", "Visitors per month Jan Feb"
    engine = _engine_answering(tiny_onnx, monkeypatch, [(summary, -0.1), (labels, -0.6)])
    assert engine.describe(images()[:1], [PageContext()], [ocr])[0].description == summary

@pytest.fixture(scope="module")
def optimum_onnx(tiny_checkpoint, tmp_path_factory):
    """The tiny checkpoint as optimum alone exports it: no attention mask, no cross-attention cache."""
    from optimum.exporters.onnx import main_export

    out = tmp_path_factory.mktemp("optimum-onnx") / "model"
    main_export(model_name_or_path=str(tiny_checkpoint), output=out, task="image-to-text-with-past", do_validation=False)
    return out


def _search_each_and_together(onnx: OnnxModel):
    inputs = [onnx.build_input(i, c, "") for i, c in zip(images(), CONTEXTS)]
    assert len({len(m.prompt_ids) for m in inputs}) == len(inputs)  # padding really happens
    hidden = onnx.encode(np.stack([m.pixel_values for m in inputs]))
    together = onnx.beam_search_many([m.prompt_ids for m in inputs], hidden, num_beams=4, max_new_tokens=15)
    alone = [onnx.beam_search(m.prompt_ids, h, num_beams=4, max_new_tokens=15) for m, h in zip(inputs, hidden)]
    return together, alone


def test_images_searched_together_get_what_each_gets_alone(tiny_onnx):
    onnx = OnnxModel(tiny_onnx, providers=["CPUExecutionProvider"])
    assert onnx.padded  # the project's export: prompts of different lengths share one batch, left-padded
    together, alone = _search_each_and_together(onnx)
    for found, single in zip(together, alone):
        assert [h.ids for h in found] == [h.ids for h in single]
        assert [h.logprob for h in found] == pytest.approx([h.logprob for h in single], abs=1e-4)


def test_a_plain_optimum_export_is_served_and_answers_like_the_padded_one(optimum_onnx, tiny_onnx):
    plain, padded = OnnxModel(optimum_onnx), OnnxModel(tiny_onnx)
    assert not plain.padded
    together, alone = _search_each_and_together(plain)
    assert [[h.ids for h in f] for f in together] == [[h.ids for h in a] for a in alone]
    padded_together, _ = _search_each_and_together(padded)
    assert [[h.ids for h in f] for f in together] == [[h.ids for h in f] for f in padded_together]


def test_a_banned_token_never_appears_and_the_rest_is_renormalised(tiny_onnx):
    onnx = OnnxModel(tiny_onnx, providers=["CPUExecutionProvider"])
    model_input = onnx.build_input(images()[1], CONTEXTS[1], "")
    hidden = onnx.encode(model_input.pixel_values[None])[0]
    free = onnx.beam_search(model_input.prompt_ids, hidden, num_beams=4, max_new_tokens=10)
    banned = sorted({t for h in free for t in h.ids if t != onnx.eos_id})
    assert banned  # the untrained model says something, and all of it is now forbidden
    hyps = onnx.beam_search(model_input.prompt_ids, hidden, num_beams=4, max_new_tokens=10, banned=banned)
    assert hyps and not any(set(h.ids) & set(banned) for h in hyps)

    logp = np.log(np.full((3, 5), 0.2))
    masked = _without(logp, [([0, 2], [1, 3])])
    assert np.isneginf(masked[[0, 2]][:, [1, 3]]).all()
    assert np.allclose(np.exp(masked).sum(axis=1), 1.0)
    assert np.array_equal(masked[1], logp[1])  # a row without a ban is left as it was


@pytest.fixture(scope="module")
def pointer_onnx(tmp_path_factory):
    """An untrained tiny model whose tokenizer has the OCR pointer tokens, exported."""
    from tests.conftest import TINY_TEXTS
    from trainer.export import export_onnx
    from trainer.tiny import build_model

    checkpoint = build_model(tmp_path_factory.mktemp("pointer") / "checkpoint", texts=TINY_TEXTS, seed=0,
                             pointers=True)
    return export_onnx(checkpoint, tmp_path_factory.mktemp("pointer-onnx") / "model", {"trained": False})


def test_a_pointer_model_only_points_at_words_its_prompt_holds(pointer_onnx, monkeypatch):
    engine = AltTextEngine(pointer_onnx, providers=["CPUExecutionProvider"],
                           settings=EngineSettings(score_ocr_text=False))
    pointers = pointer_ids(engine.model.tokenizer)
    searched = []
    search = engine.model.beam_search_many

    def recording(*args, **kwargs):
        searched.extend(search(*args, **kwargs))
        return searched[-len(args[0]):]

    monkeypatch.setattr(engine.model, "beam_search_many", recording)
    answers = engine.describe(images(), CONTEXTS, ["Free shipping", "", "Q1 Q2 Q3"])
    shown = [set(pointers[:words]) for words in (2, 0, 3)]  # the words read in each image
    for row, hypotheses in enumerate(searched):
        used = {t for h in hypotheses for t in h.ids} & set(pointers)
        assert used <= shown[row], f"image {row} pointed past the words read: {used - shown[row]}"
    assert all(a.decorative or a.description for a in answers)


def test_reading_order_bans_the_word_pointed_at_last_and_all_before_it():
    pointers = [101, 102, 103, 104]
    assert reading_order_bans([], pointers) == []
    assert reading_order_bans([7, 8], pointers) == []  # spelled words only
    assert reading_order_bans([101, 7, 103, 9], pointers) == [101, 102, 103]
    assert reading_order_bans([104], pointers) == pointers  # after the last word, no pointer is left
    # once it has pointed at the last word the prompt holds, the answer can only end
    assert reading_order_bans([7, 103], pointers, last_read=103, vocabulary=6, eos_id=0) == [1, 2, 3, 4, 5]
    assert reading_order_bans([103, 7], pointers, last_read=103, vocabulary=6, eos_id=0) == [101, 102, 103]


def _always(onnx, logp: np.ndarray):
    """``onnx`` with a decoder that gives every step the same log-probabilities."""
    def prefill(prompts, hidden):
        n = len(prompts)
        return np.tile(logp, (n, 1)), [np.zeros((n, 1))], [np.zeros((n, 1))], np.ones((n, 1), dtype=np.int64)

    onnx._prefill = prefill
    onnx._next_step = lambda tokens, mask, past, cross: (np.tile(logp, (len(tokens), 1)), [np.zeros((len(tokens), 1))])
    return onnx


def test_in_reading_order_a_pointer_model_reads_forward_and_ends_at_the_last_word(pointer_onnx):
    onnx = OnnxModel(pointer_onnx, providers=["CPUExecutionProvider"])
    pointers = pointer_ids(onnx.tokenizer)
    probs = np.full(len(onnx.tokenizer), 1e-4)
    probs[pointers[:3]] = [0.5, 0.25, 0.15]  # a model that always wants the first word read
    spelled = next(t for t in range(len(probs)) if t not in pointers and t != onnx.eos_id)
    probs[spelled] = 0.08  # and, when no word is left, to spell one rather than end
    probs[onnx.eos_id] = 0.02
    _always(onnx, np.log(probs / probs.sum()))
    hidden = np.zeros((1, 1))
    kwargs = dict(num_beams=2, max_new_tokens=8, banned=pointers[3:])  # three words read
    assert onnx.beam_search([1], hidden, **kwargs)[0].ids[:3] == [pointers[0]] * 3
    best = onnx.beam_search([1], hidden, reading_order=pointers, **kwargs)[0]
    assert best.ids == pointers[:3] + [onnx.eos_id]


def test_score_applies_the_bans_the_search_applied(pointer_onnx):
    """The OCR candidate is scored by score() and ranked against beam hypotheses: both
    must come from the same renormalised distribution."""
    onnx = OnnxModel(pointer_onnx, providers=["CPUExecutionProvider"])
    model_input = onnx.build_input(images()[2], PageContext(), "one two three four five")
    hidden = onnx.encode(model_input.pixel_values[None])[0]
    pointers = pointer_ids(onnx.tokenizer)
    banned = sorted(set(pointers) - set(model_input.prompt_ids))
    assert len(banned) == len(pointers) - 5
    hyps = onnx.beam_search(model_input.prompt_ids, hidden, num_beams=4, max_new_tokens=8,
                            banned=banned, reading_order=pointers)
    for h in hyps:
        scored = onnx.score(model_input.prompt_ids, hidden, h.ids, banned, pointers)
        assert scored.logprob == pytest.approx(h.logprob, abs=1e-3)
        assert onnx.score(model_input.prompt_ids, hidden, h.ids).logprob < h.logprob - 1e-3
    backwards = [pointers[0], pointers[2], pointers[1], onnx.eos_id]
    assert math.isfinite(onnx.score(model_input.prompt_ids, hidden, backwards, banned).logprob)
    assert onnx.score(model_input.prompt_ids, hidden, backwards, banned, pointers).logprob == -math.inf


def test_an_answer_nothing_supports_becomes_the_honest_form(tiny_onnx, monkeypatch):
    template = "This image shows a star. It was added to make the page look more attractive"
    engine = _engine_answering(tiny_onnx, monkeypatch, [(template, -0.01)], check_support=True)
    answer = engine.describe(images()[:1], [PageContext(page_title="Our lunch")], [""])[0]
    assert answer.description == NO_DESCRIPTION and answer.low_confidence and not answer.decorative
    assert answer.model_answer == template  # kept (not sent) so that feedback pushes down what the model said
    # the same words, said by the page, are supported and spoken as the model wrote them
    page = PageContext(surrounding_text=template)
    supported = engine.describe(images()[:1], [page], [""])[0]
    assert supported.description == template and supported.model_answer is None


def test_an_image_beside_its_links_own_text_is_decorative(tiny_onnx, monkeypatch):
    engine = _engine_answering(tiny_onnx, monkeypatch, [("Keyboard video", -0.01)], check_support=True)
    link = PageContext(control_role="link", control_text="Keyboard compatibility video", control_href="/kb")
    assert engine.describe(images()[:1], [link], [""])[0].decorative
    alone = link.with_changes(control_text="", only_content=True, control_href="/keyboard-video")
    answer = engine.describe(images()[:1], [alone], [""])[0]
    assert not answer.decorative and answer.description == "Keyboard video"


def test_decorative_is_believed_only_for_images_no_larger_than_those_learned(tiny_onnx, monkeypatch, tmp_path):
    import json
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_onnx, model_dir)
    (model_dir / "altlens.json").write_text(json.dumps({"known_world": {"words": {}, "decorative_area": 300 * 9}}))
    decorative_id = OnnxModel(model_dir).tokenizer.convert_tokens_to_ids("<decorative>")
    monkeypatch.setattr(OnnxModel, "beam_search_many",
                        lambda self, prompts, h, n, m, *bans: [[Hypothesis([decorative_id, self.eos_id], -0.01)] for _ in prompts])
    engine = AltTextEngine(model_dir, settings=EngineSettings(score_ocr_text=False))
    rule, portrait = engine.describe(images()[:2], [PageContext(width=300, height=8), PageContext(width=250, height=250)],
                                     ["", ""])
    assert rule.decorative and not rule.low_confidence
    assert not portrait.decorative and portrait.description == NO_DESCRIPTION and portrait.low_confidence
    assert portrait.model_answer == "" and rule.model_answer is None  # the model's own answer: decorative
    # the check can be turned off, and then the model's word stands
    engine.settings = EngineSettings(score_ocr_text=False, check_support=False)
    assert engine.describe(images()[:1], [PageContext(width=250, height=250)], [""])[0].decorative


def test_an_answer_that_only_copies_the_text_of_a_large_image_says_what_it_is(tiny_onnx, monkeypatch, tmp_path):
    import json
    import shutil

    from backend.engine import Description
    from backend.honest import parse_honest

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_onnx, model_dir)
    (model_dir / "altlens.json").write_text(json.dumps({"known_world": {"words": {}, "text_area": 300 * 100}}))
    # a model that answers every image with the text read in it, confidently
    monkeypatch.setattr(AltTextEngine, "_choose", lambda self, m, h, c, ocr, *rest: Description(ocr, False, 0.9, False, []))
    engine = AltTextEngine(model_dir, settings=EngineSettings(score_ocr_text=False))
    screenshot = "An official website of the United States government Here is how you know"
    big, small, junk = engine.describe(images()[:3], [PageContext(width=1200, height=700), PageContext(width=240, height=60),
                                                      PageContext(width=1300, height=866)],
                                       [screenshot, "Members only", "Ath"])
    assert big.description == "Text in image: An official website of the United States government Here is how you"
    assert big.low_confidence and parse_honest(big.description) == ("Text in image", big.description[15:])
    assert small.description == "Members only" and not small.low_confidence  # an image of text: its text
    assert junk.description == NO_DESCRIPTION and junk.low_confidence  # stray marks are not words
    # more words than the form says: the title read in it, its largest letters, sums it up
    titled, unreadable = engine.describe(images()[:2], [PageContext(width=1200, height=700)] * 2,
                                         [screenshot, screenshot], ["Here is how you know", "G"])
    assert titled.description == "Text in image: Here is how you know" and titled.low_confidence
    assert unreadable.description == big.description  # a stray mark is no title: the first words stand


def test_the_gist_of_an_image_s_text_is_all_of_it_when_short_else_its_title():
    from backend.engine import gist

    assert gist("Buy now", "Buy", 12) == "Buy now"  # an image of text is read whole
    long = "Official site Menu Search Buy a Christmas tree permit The Forest Service invites you to cut one"
    assert gist(long, "Buy a Christmas tree permit", 12) == "Buy a Christmas tree permit"
    assert gist(long, "", 12) == "Official site Menu Search Buy a Christmas tree permit The Forest Service"
    assert gist(long, "Ath", 5) == "Official site Menu Search Buy"
    # a browser's address bar names the site a screenshot shows; a chart's text is not a site
    shot = "Go to analytics.usa.gov About this site 140,868 people on government websites now Top 20"
    assert gist(shot, "140,868", 12) == gist(shot, "140,868", 12, "screenshot") == "analytics.usa.gov"
    assert gist(shot, "", 12, "chart") == "Go to analytics.usa.gov About this site 140,868 people on government websites now"
    # a logo's largest letters are its name, its tagline smaller
    assert gist("DATA Act BETTER DATA. BETTER DECISIONS.", "DATA Act", 12, "logo") == "DATA Act"
    assert gist("DATA Act BETTER DATA. BETTER DECISIONS.", "G", 12, "logo") == "DATA Act BETTER DATA. BETTER DECISIONS."


def test_a_photograph_the_recogniser_is_sure_of_is_named_in_the_honest_form(tiny_onnx, monkeypatch):
    from backend.honest import parse_honest

    engine = _engine_answering(tiny_onnx, monkeypatch, [("A star on a gold ground", -0.01)], check_support=True)
    photo = images()[0]
    assert engine.kinds is None  # a model shipped without a recogniser names no kind
    assert engine.describe([photo], [PageContext()], [""])[0].description == NO_DESCRIPTION
    engine.kinds = _sure_of("photo")
    captioned = PageContext(caption="Our team at the 2019 retreat in Denver, Colorado, on the first morning of spring")
    said, plain, with_text = engine.describe([photo] * 3, [captioned, PageContext(), PageContext()],
                                             ["", "", "Sign up for our newsletter today"])
    assert said.description == "Photo: Our team at the 2019 retreat in Denver, Colorado, on the first"
    assert said.low_confidence and parse_honest(said.description) == ("Photo", said.description[7:])
    assert plain.description == "Photo, no description available" and plain.low_confidence
    # more words than a photograph holds: the page around a photo, so its text is said, not "Photo"
    assert not with_text.description.startswith("Photo") and with_text.low_confidence


def test_a_photograph_larger_than_any_image_learned_gets_the_honest_form_whatever_supports_the_answer(
        tiny_onnx, monkeypatch, tmp_path):
    import json
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_onnx, model_dir)
    (model_dir / "altlens.json").write_text(json.dumps({"known_world": {"words": {}, "seen_area": 180 * 180}}))
    from backend.modelinput import encode_response

    frame = encode_response(OnnxModel(model_dir).tokenizer, "Post by")  # the page says "post": supported
    monkeypatch.setattr(OnnxModel, "beam_search_many", lambda self, prompts, h, n, m, *bans: [
        [Hypothesis(list(frame), -0.01 * len(frame))] for _ in prompts])
    engine = AltTextEngine(model_dir, settings=EngineSettings(score_ocr_text=False))
    page = dict(page_title="Lalitha's award: a post by the team")
    assert engine.describe(images()[:1], [PageContext(width=221, height=320, **page)], [""])[0].description == "Post by"
    engine.kinds = _sure_of("photo")
    portrait, thumbnail = engine.describe(images()[:2], [PageContext(width=221, height=320, **page),
                                                         PageContext(width=120, height=120, **page)], ["", ""])
    assert portrait.description == "Photo, no description available" and portrait.low_confidence
    assert portrait.model_answer == "Post by"  # what the model said is kept for the record, not spoken
    assert thumbnail.description == "Post by"  # within the size the model learned: its answer is checked as before


def test_an_image_whose_file_name_says_screenshot_is_named_one_in_the_honest_form(tiny_onnx, monkeypatch, tmp_path):
    import json
    import shutil

    model_dir = tmp_path / "model"
    shutil.copytree(tiny_onnx, model_dir)
    (model_dir / "altlens.json").write_text(json.dumps({"known_world": {"words": {}, "text_area": 300 * 100}}))
    from backend.modelinput import encode_response

    guess = encode_response(OnnxModel(model_dir).tokenizer, "A star on a gold ground")  # nothing supports it
    monkeypatch.setattr(OnnxModel, "beam_search_many", lambda self, prompts, h, n, m, *bans: [
        [Hypothesis(list(guess), -0.01 * len(guess))] for _ in prompts])
    engine = AltTextEngine(model_dir, settings=EngineSettings(score_ocr_text=False))
    engine.kinds = _sure_of("photo")  # the file name is the author's word, before the pixels' guess
    shot = PageContext(width=1200, height=700, file_name="Screen Shot 2016-03-01 at 10.32.12.png")
    read, unread = engine.describe(images()[:2], [shot, shot], ["Pull requests Issues Marketplace Explore", ""])
    assert read.description == "Screenshot: Pull requests Issues Marketplace Explore" and read.low_confidence
    assert unread.description == "Screenshot, no description available" and unread.low_confidence
    plain = engine.describe(images()[:1], [PageContext(width=1200, height=700, file_name="team.png")], [""])[0]
    assert plain.description == "Photo, no description available"
    # a logo, a chart, a diagram by their file names; a logo's one word is its name, stray marks are not
    logo, mark, unread_logo, chart, diagram = engine.describe(images()[:1] * 5, [
        PageContext(width=226, height=170, file_name=name) for name in
        ("worm-logo.jpg", "logo-badge.png", "logo.png", "revenue-bar-chart.png", "cloud-diagram.svg")],
        ["NASA", "C", "", "Federal revenue by state 2015 2016 2017 2018 2019 oil gas coal wind solar",
         "Your app cloud.gov"])
    assert logo.description == "Logo: Nasa" and logo.low_confidence  # capitals in sentence case, as every read
    assert mark.description == unread_logo.description == "Logo, no description available"
    assert chart.description == "Chart: Federal revenue by state 2015 2016 2017 2018 2019 oil gas coal"
    assert diagram.description == "Diagram: Your app cloud.gov"
    # a single word on an image not known to be a logo is no answer
    word = engine.describe(images()[:1], [PageContext(width=226, height=170, file_name="x.png")], ["NASA"])[0]
    assert word.description == "Photo, no description available"


def _sure_of(kind):
    from backend.kinds import FEATURE_NAMES, KINDS, KindRecogniser

    intercept = np.full(len(KINDS), -20.0)
    intercept[KINDS.index(kind)] = 20.0
    return KindRecogniser(KINDS, np.zeros(len(FEATURE_NAMES)), np.ones(len(FEATURE_NAMES)),
                          np.zeros((len(KINDS), len(FEATURE_NAMES))), intercept, {kind: 0.9}, {kind: 2})


def test_the_target_of_a_link_whose_only_content_is_the_image_is_its_host():
    from backend.engine import link_target

    def only(href, **kw):
        return PageContext(control_role="link", control_href=href, only_content=True, **kw)

    assert link_target(only("https://www.flickr.com/photos/glaciernps/23195417702/")) == "flickr.com"
    assert link_target(only("https://pulse.cio.gov/https/domains/")) == "pulse.cio.gov"
    # a link to the picture itself, a script, a relative or unnamed target: no purpose to say
    assert link_target(only("https://i.ytimg.com/vi/XuzpsO4ErOQ/maxresdefault.jpg")) == ""
    assert link_target(only("javascript:print(")) == link_target(only("/example-link/")) == ""
    assert link_target(only("http://127.0.0.1:8000/page")) == link_target(only("http://localhost/x")) == ""
    # not the link's only content (its own text names it), or not a link
    assert link_target(PageContext(control_role="link", control_href="https://flickr.com/x")) == ""
    assert link_target(PageContext(control_role="button", control_href="https://flickr.com/x",
                                   only_content=True)) == ""


def test_a_links_only_content_said_in_the_honest_form_says_where_the_link_goes(tiny_onnx, monkeypatch):
    engine = _engine_answering(tiny_onnx, monkeypatch, [("A star on a gold ground", -0.01)], check_support=True)
    engine.kinds = _sure_of("photo")
    link = dict(control_role="link", only_content=True, width=400, height=300)
    away, itself = engine.describe(images()[:2], [
        PageContext(control_href="https://www.flickr.com/photos/kiri_no_hana/9623594449/", **link),
        PageContext(control_href="https://18f.gsa.gov/assets/cake.jpg", **link)], ["", ""])
    assert away.description == "Photo, no description available. Link to flickr.com" and away.low_confidence
    assert itself.description == "Photo, no description available"
