"""The shared input builder: bounded, deterministic, and the same for every caller."""
from PIL import Image

from trainer.tiny import train_tokenizer

from backend.modelinput import (ALT_TOKEN, FIELD_LIMITS, MAX_PROMPT_TOKENS, PageContext, build_model_input,
                                clean_text, decode_response, encode_response, format_prompt, prepare_image)


def test_from_mapping_cleans_bounds_and_ignores_unknown_keys():
    ctx = PageContext.from_mapping({
        "caption": "a\x00b\n\n  c" + "x" * 1000, "width": "12", "height": "huge",
        "only_content": "yes", "evil": "<script>", "control_role": "link"})
    assert ctx.caption.startswith("a b c") and len(ctx.caption) == FIELD_LIMITS["caption"]
    assert ctx.width == 12 and ctx.height == 0
    assert ctx.only_content is False  # only real booleans count
    assert not hasattr(ctx, "evil")


def test_prompt_puts_control_purpose_first_and_ends_with_alt_marker():
    ctx = PageContext(control_role="link", control_href="/cart", only_content=True, page_title="Shop")
    prompt = format_prompt(ctx, "SALE")
    assert prompt.startswith("<ctx> link only:")
    assert "target: /cart" in prompt and "<ocr> SALE" in prompt
    assert prompt.endswith(ALT_TOKEN)
    assert format_prompt(ctx, "SALE") == prompt


def test_clean_text_drops_control_and_replacement_characters():
    assert clean_text("a\u0007b\ufffdc", 10) == "a b c"


def test_transparent_images_are_composited_on_white():
    icon = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert prepare_image(icon).getpixel((0, 0)) == (255, 255, 255)


def test_long_context_keeps_the_alt_marker(tiny_checkpoint):
    from transformers import AutoImageProcessor, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    proc = AutoImageProcessor.from_pretrained(tiny_checkpoint)
    ctx = PageContext(surrounding_text="word " * 500, caption="cap " * 100, heading="h " * 100)
    model_input = build_model_input(Image.new("RGB", (50, 20)), ctx, "t " * 300, tok, proc)
    assert len(model_input.prompt_ids) <= MAX_PROMPT_TOKENS
    assert model_input.prompt_ids[0] == tok.bos_token_id
    assert model_input.prompt_ids[-1] == tok.convert_tokens_to_ids(ALT_TOKEN)
    assert model_input.pixel_values.shape == (3, 32, 32)


def test_decorative_round_trip(tiny_checkpoint):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    ids = encode_response(tok, "", decorative=True)
    assert ids[-1] == tok.eos_token_id
    assert decode_response(tok, ids[:-1]) == ("", True)
    ids = encode_response(tok, "Shopping cart")
    assert decode_response(tok, ids[:-1]) == ("Shopping cart", False)


def test_thin_strips_are_preprocessed_as_rgb(tiny_checkpoint):
    from transformers import AutoImageProcessor, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_checkpoint)
    proc = AutoImageProcessor.from_pretrained(tiny_checkpoint)
    for size in ((250, 3), (3, 250), (1, 1), (3, 3)):
        model_input = build_model_input(Image.new("RGB", size, (10, 20, 30)), PageContext(), "", tok, proc)
        assert model_input.pixel_values.shape == (3, 32, 32)


def test_words_the_image_shows_are_pointed_at_and_decode_back(tiny_checkpoint):
    from transformers import AutoTokenizer

    from backend.modelinput import POINTER_TOKENS

    tok = train_tokenizer(["Post by hello world Free shipping"], 600, pointers=True)
    ocr = "Aisha Khan @khan13 hello world Free"
    ids = encode_response(tok, "Post by @khan13: hello world hello.", ocr_text=ocr)
    tokens = tok.convert_ids_to_tokens(ids)
    # "Post by" is spelled; "@khan13:" is its pointer and the colon; a repeated word points at its one showing
    assert tokens[tokens.index("<w3>"):] == ["<w3>", ":", "<w4>", "<w5>", "<w4>", ".", "<|endoftext|>"]
    assert not set(POINTER_TOKENS) & set(tokens[:tokens.index("<w3>")])
    assert decode_response(tok, ids[:-1], ocr) == ("Post by @khan13: hello world hello.", False)
    # the same words without an image showing them are spelled
    plain = encode_response(tok, "Post by @khan13: hello world hello.")
    assert not set(POINTER_TOKENS) & set(tok.convert_ids_to_tokens(plain))
    assert decode_response(tok, plain[:-1]) == ("Post by @khan13: hello world hello.", False)


def test_a_pointer_past_the_words_shown_gives_nothing(tiny_checkpoint):
    from transformers import AutoTokenizer

    tok = train_tokenizer(["Post by hello world Free shipping"], 600, pointers=True)
    ids = tok.convert_tokens_to_ids(["<w1>", "<w2>", "<w9>"])
    assert decode_response(tok, ids, "Free shipping") == ("Free shipping", False)


def test_prompt_numbers_the_words_read_in_the_image(tiny_checkpoint):
    from transformers import AutoImageProcessor, AutoTokenizer

    from backend.modelinput import OCR_POINTERS, OCR_TOKEN, ocr_words

    ctx = PageContext(page_title="Shop")
    assert format_prompt(ctx, "Free shipping", pointers=True) == "<ctx> page: Shop <ocr> <w1> Free <w2> shipping <alt>"
    assert format_prompt(ctx, "Free shipping") == "<ctx> page: Shop <ocr> Free shipping <alt>"
    many = " ".join(f"w{i}" for i in range(OCR_POINTERS + 5))
    marked = format_prompt(ctx, many, pointers=True)
    assert f"<w{OCR_POINTERS}> w{OCR_POINTERS - 1} w{OCR_POINTERS}" in marked and f"<w{OCR_POINTERS + 1}>" not in marked
    assert len(ocr_words(many)) == OCR_POINTERS + 5  # all words; only the first OCR_POINTERS have pointers
    tok = train_tokenizer(["Post by hello world Free shipping"], 600, pointers=True)
    model_input = build_model_input(Image.new("RGB", (50, 20)), ctx, "Free shipping", tok,
                                    AutoImageProcessor.from_pretrained(tiny_checkpoint))
    assert model_input.prompt_text.endswith(f"{OCR_TOKEN} <w1> Free <w2> shipping <alt>")
    assert tok.convert_tokens_to_ids("<w1>") in model_input.prompt_ids


def test_a_tokenizer_without_pointer_tokens_gets_plain_text():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from backend.modelinput import SPECIAL_TOKENS, has_pointers

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(["Free shipping today"], trainers.BpeTrainer(
        vocab_size=300, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token=SPECIAL_TOKENS[0], unk_token=SPECIAL_TOKENS[0])
    assert not has_pointers(tok)
    ids = encode_response(tok, "Free shipping", ocr_text="Free shipping")
    assert ids == encode_response(tok, "Free shipping")
    assert decode_response(tok, ids[:-1], "Free shipping") == ("Free shipping", False)


def test_words_read_are_written_as_a_description_gives_them():
    from backend.modelinput import ocr_words, readable_text

    assert ocr_words("BUY NOW") == ["Buy", "now"]
    assert ocr_words("Q1 Q4 Q2 Q3") == ["Q1", "Q4", "Q2", "Q3"]  # labels, not shouting
    assert ocr_words('“Be yourself." — Oscar Wilde') == ["Be", "yourself.", "—", "Oscar", "Wilde"]
    assert ocr_words("Hello @NASA") == ["Hello", "@NASA"]
    assert readable_text("FREE SHIPPING") == "Free shipping"


def test_a_shouted_text_is_pointed_at_in_sentence_case(tiny_checkpoint):
    from transformers import AutoTokenizer

    tok = train_tokenizer(["Post by hello world Free shipping"], 600, pointers=True)
    ids = encode_response(tok, "Buy now", ocr_text="BUY NOW")
    assert tok.convert_ids_to_tokens(ids) == ["<w1>", "<w2>", "<|endoftext|>"]
    assert decode_response(tok, ids[:-1], "BUY NOW") == ("Buy now", False)


def test_a_dash_the_reader_glued_to_a_word_is_a_word_of_its_own():
    from backend.modelinput import ocr_words, read_words

    ocr = '"Whatever you are, be a good one."— Abraham Lincoln'
    assert read_words(ocr)[-4:] == ['one."', "—", "Abraham", "Lincoln"]
    assert ocr_words(ocr)[-4:] == ["one.", "—", "Abraham", "Lincoln"]
    assert read_words("Sign-ups by weekday") == ["Sign-ups", "by", "weekday"]  # hyphens stay inside words
    # the prompt numbers the words the pointers stand for: one pointer each, the dash included
    assert format_prompt(PageContext(), ocr, pointers=True).endswith('<w7> one." <w8> — <w9> Abraham <w10> Lincoln <alt>')
    tok = train_tokenizer(["Whatever you are, be a good one. Abraham Lincoln"], 600, pointers=True)
    ids = encode_response(tok, "Whatever you are, be a good one. — Abraham Lincoln", ocr_text=ocr)
    assert tok.convert_ids_to_tokens(ids)[-5:] == ["<w7>", "<w8>", "<w9>", "<w10>", "<|endoftext|>"]
    assert decode_response(tok, ids[:-1], ocr) == ("Whatever you are, be a good one. — Abraham Lincoln", False)
