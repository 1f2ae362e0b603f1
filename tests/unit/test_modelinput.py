"""The shared input builder: bounded, deterministic, and the same for every caller."""
from PIL import Image

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
