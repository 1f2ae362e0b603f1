"""The pointer tokens let a model transcribe words it never saw in training.

A tiny model is trained (SFT) to transcribe images of made-up words, then
asked for other made-up words: spelled out, it could only guess them; pointed
at, they are the words read in the image (backend/modelinput.py).
"""
from __future__ import annotations

import dataclasses
import io
import random

import torch
from PIL import Image

from backend.modelinput import PageContext, build_model_input, decode_response, pointer_ids
from trainer.config import TrainConfig
from trainer.data import PreferenceExample
from trainer.modeling import VisionEncoderDecoderPolicy
from trainer.train import train


def made_up_phrases(rng: random.Random, count: int) -> list[str]:
    def word() -> str:
        return "".join(rng.choice("bcdfghjklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(1, 3)))

    return [" ".join(word().capitalize() if i == 0 else word() for i in range(rng.randint(1, 4)))
            for _ in range(count)]


def examples_of(phrases: list[str]) -> list[PreferenceExample]:
    image = Image.new("RGB", (60, 20), (255, 255, 255))  # the words reach the model as OCR text
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return [PreferenceExample(context=PageContext(page_title="Shop"), chosen=p, ocr_text=p,
                              image_bytes=buffer.getvalue()) for p in phrases]


def test_a_model_trained_on_some_words_transcribes_words_it_never_saw(tmp_path):
    from tests.conftest import TINY_TEXTS
    from trainer.tiny import build_model

    tiny_checkpoint = build_model(tmp_path / "pointers", texts=TINY_TEXTS, seed=0, pointers=True)
    rng = random.Random(0)
    seen, unseen = made_up_phrases(rng, 200), made_up_phrases(rng, 30)
    assert not set(" ".join(unseen).split()) <= set(" ".join(seen).split())
    cfg = TrainConfig(model_name_or_path=str(tiny_checkpoint), checkpoint_dir=str(tmp_path / "run"),
                      objective="sft", learning_rate=3e-3, epochs=12, batch_size=16, seed=0, device="cpu")
    result = train(cfg, examples_of(seen), progress=False)
    policy = VisionEncoderDecoderPolicy.from_pretrained(result.model_dir).eval()
    tokenizer, eos = policy.tokenizer, policy.tokenizer.eos_token_id
    right, misses = 0, []
    for example in examples_of(unseen):
        model_input = build_model_input(example.load_image(), example.context, example.ocr_text, tokenizer,
                                        policy.image_processor)
        with torch.no_grad():
            ids = policy.generate(torch.from_numpy(model_input.pixel_values)[None], [model_input.prompt_ids], 16)[0]
        ids = ids[: ids.index(eos)] if eos in ids else ids
        answer = decode_response(tokenizer, ids, example.ocr_text)
        right += answer == (example.chosen, False)
        if answer != (example.chosen, False):
            misses.append((example.chosen, answer[0]))
    assert right >= 27, f"{right} of 30 unseen phrases transcribed; missed (phrase, answer): {misses}"


def test_a_recipe_points_only_in_the_categories_it_names(tmp_path):
    from tests.conftest import TINY_TEXTS
    from trainer.batches import EncodedPreferences
    from trainer.default_model import Recipe, pointing
    from trainer.tiny import build_model

    checkpoint = build_model(tmp_path / "pointers", texts=TINY_TEXTS, seed=0, pointers=True)
    policy = VisionEncoderDecoderPolicy.from_pretrained(checkpoint)
    text, chart = examples_of(["Free shipping", "Free shipping"])
    text = dataclasses.replace(text, meta={"category": "text"})
    chart = dataclasses.replace(chart, meta={"category": "chart"})
    assert pointing([text, chart], Recipe(pointed_categories=None)) == [text, chart]  # None: every category
    pointed = pointing([text, chart], Recipe(pointed_categories=("text",)))
    encoded = EncodedPreferences(pointed, policy.tokenizer, policy.image_processor)
    pointers = set(pointer_ids(policy.tokenizer))
    assert set(encoded[0].chosen) & pointers  # the image of text: its words by pointer
    assert not set(encoded[1].chosen) & pointers  # the chart: spelled
    assert encoded[1].prompt == encoded[0].prompt  # both prompts still show the words read
    assert decode_response(policy.tokenizer, encoded[1].chosen[:-1], chart.ocr_text) == ("Free shipping", False)


def test_under_a_swapped_prompt_the_answer_is_written_against_that_prompts_words(tmp_path):
    # The context facet scores the right answer after another example's prompt. Pointers name
    # positions in a prompt's reading, so there the same text must be the tokens that spell it
    # against the other reading; the true pointers would spell the partner's words instead.
    from tests.conftest import TINY_TEXTS
    from trainer.batches import ComboCollator, EncodedPreferences
    from trainer.tiny import build_model

    checkpoint = build_model(tmp_path / "pointers", texts=TINY_TEXTS, seed=0, pointers=True)
    policy = VisionEncoderDecoderPolicy.from_pretrained(checkpoint)
    tokenizer = policy.tokenizer
    free, sale = examples_of(["Free shipping", "Summer sale today"])
    encoded = EncodedPreferences([free, sale], tokenizer, policy.image_processor)
    item = encoded[0]
    assert encoded.partner[0] == 1
    assert decode_response(tokenizer, item.chosen[:-1], free.ocr_text) == ("Free shipping", False)
    assert decode_response(tokenizer, item.chosen_swapped[:-1], sale.ocr_text) == ("Free shipping", False)
    assert decode_response(tokenizer, item.chosen[:-1], sale.ocr_text) == ("Summer sale", False)  # the old bug
    batch = ComboCollator(("w_w_w", "w_w_l"), tokenizer.pad_token_id)([item])
    written = [batch.seqs.input_ids[row, 1:][batch.seqs.response_mask[row].bool()].tolist() for row in (0, 1)]
    assert written == [item.chosen, item.chosen_swapped]

    unpointed = EncodedPreferences([dataclasses.replace(free, points_at_ocr=False), sale], tokenizer,
                                   policy.image_processor)[0]
    assert unpointed.chosen_swapped == unpointed.chosen and not set(unpointed.chosen) & set(pointer_ids(tokenizer))
