"""The one place that turns (image, page context, OCR text) into model input.

Training (trainer/), evaluation (eval_harness/) and serving (backend/) all call
:func:`build_model_input`, so the prompt text, its token ids and the image
preprocessing cannot drift apart between what a model learns from and what it
is later asked.

The model is a vision encoder-decoder: the image goes to the encoder as
``pixel_values``; the page context goes to the decoder as a *prompt prefix*
(``decoder_input_ids``), and the description follows it. Losses and
log-probabilities count only the description tokens.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

import numpy as np
from PIL import Image, ImageOps

# Special tokens of every altlens tokenizer (see trainer/tiny.py, which trains one).
CONTEXT_TOKEN = "<ctx>"
OCR_TOKEN = "<ocr>"
ALT_TOKEN = "<alt>"
DECORATIVE_TOKEN = "<decorative>"
EOS_TOKEN = "<|endoftext|>"
SPECIAL_TOKENS = [EOS_TOKEN, CONTEXT_TOKEN, OCR_TOKEN, ALT_TOKEN, DECORATIVE_TOKEN]

# Bounds on what a page can make us read. The prompt is built from these, so the
# same bounds apply in training and serving.
FIELD_LIMITS = {
    "page_title": 120,
    "lang": 16,
    "caption": 200,
    "heading": 120,
    "surrounding_text": 300,
    "control_text": 120,
    "control_href": 120,
    "control_role": 16,
    "file_name": 80,
}
OCR_LIMIT = 200
MAX_PROMPT_TOKENS = 160

# Lone surrogates (valid in JSON escapes, not in UTF-8) would break hashing and storage.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")
_SPACES = re.compile(r"\s+")


def clean_text(value: Any, limit: int) -> str:
    """Normalise untrusted page text: NFC, no control chars, one-line, bounded."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = _CONTROL_CHARS.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    return text[:limit].strip()


@dataclass(frozen=True)
class PageContext:
    """What the page tells us about an image, as the extension collects it.

    ``control_*`` describe an enclosing link or button; ``only_content`` is True
    when the image is that control's only content, so its alt must say what the
    control does.
    """

    page_title: str = ""
    lang: str = ""
    caption: str = ""
    heading: str = ""
    surrounding_text: str = ""
    control_role: str = ""  # "link", "button" or ""
    control_text: str = ""
    control_href: str = ""
    only_content: bool = False
    file_name: str = ""
    width: int = 0
    height: int = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> "PageContext":
        """Build from untrusted JSON: unknown keys ignored, every field cleaned and bounded."""
        data = data or {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            if f.name == "only_content":
                values[f.name] = bool(raw) if isinstance(raw, (bool, int)) else False
            elif f.name in ("width", "height"):
                try:
                    values[f.name] = max(0, min(int(raw), 100_000))
                except (TypeError, ValueError, OverflowError):
                    values[f.name] = 0
            else:
                values[f.name] = clean_text(raw, FIELD_LIMITS[f.name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_changes(self, **changes: Any) -> "PageContext":
        return replace(self, **changes)


def format_prompt(context: PageContext, ocr_text: str = "") -> str:
    """The decoder prompt: labelled context fields, then OCR text, then ``<alt>``.

    Empty fields are left out so that short contexts give short prompts. The
    order puts what decides a control's purpose (role, text, target) first.
    """
    parts: list[str] = []
    if context.control_role:
        role = context.control_role + (" only" if context.only_content else "")
        parts.append(f"{role}: {context.control_text}".rstrip())
        if context.control_href:
            parts.append(f"target: {context.control_href}")
    for name, label in (
        ("caption", "caption"),
        ("heading", "heading"),
        ("surrounding_text", "text"),
        ("page_title", "page"),
        ("file_name", "file"),
    ):
        value = getattr(context, name)
        if value:
            parts.append(f"{label}: {value}")
    prompt = f"{CONTEXT_TOKEN} " + " | ".join(parts)
    ocr = clean_text(ocr_text, OCR_LIMIT)
    if ocr:
        prompt += f" {OCR_TOKEN} {ocr}"
    return prompt + f" {ALT_TOKEN}"


def prepare_image(image: Image.Image) -> Image.Image:
    """Upright RGB: EXIF rotation applied, transparency composited onto white.

    Web icons are often transparent PNGs; composited onto black they would look
    like a black square, which is why this is done here and not left to the
    image processor.
    """
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB")


@dataclass
class ModelInput:
    """One example as a model sees it (no batch dimension)."""

    pixel_values: np.ndarray  # float32 [3, H, W]
    prompt_ids: list[int]  # decoder prompt, starting with the decoder start token
    prompt_text: str


def encode_prompt(tokenizer: Any, prompt_text: str) -> list[int]:
    """Token ids of the decoder prompt, decoder start token first, bounded in length.

    When the prompt is too long, the context is cut from its end but the final
    ``<alt>`` marker is kept, so the model always knows where the description starts.
    """
    ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
    if len(ids) > MAX_PROMPT_TOKENS - 1:
        alt_id = tokenizer.convert_tokens_to_ids(ALT_TOKEN)
        ids = ids[: MAX_PROMPT_TOKENS - 2] + [alt_id]
    return [tokenizer.bos_token_id] + ids


def encode_response(tokenizer: Any, response: str, decorative: bool = False) -> list[int]:
    """Token ids of a description as the model must produce it, end token included."""
    text = DECORATIVE_TOKEN if decorative else " " + clean_text(response, 500)
    return tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]


def decode_response(tokenizer: Any, ids: list[int]) -> tuple[str, bool]:
    """(description, decorative) from generated response ids (prompt already removed)."""
    decorative_id = tokenizer.convert_tokens_to_ids(DECORATIVE_TOKEN)
    if ids and ids[0] == decorative_id:
        return "", True
    text = tokenizer.decode(ids, skip_special_tokens=True)
    return clean_text(text, 500), False


def build_model_input(
    image: Image.Image,
    context: PageContext,
    ocr_text: str,
    tokenizer: Any,
    image_processor: Any,
) -> ModelInput:
    """The single train/serve input builder (see module docstring)."""
    # channels_last is stated, not inferred: the processor guesses wrong for strips a few pixels tall
    pixels = image_processor(images=prepare_image(image), return_tensors="np",
                             input_data_format="channels_last")["pixel_values"][0]
    prompt_text = format_prompt(context, ocr_text)
    return ModelInput(
        pixel_values=pixels.astype(np.float32),
        prompt_ids=encode_prompt(tokenizer, prompt_text),
        prompt_text=prompt_text,
    )
