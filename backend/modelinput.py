"""The one place that turns (image, page context, OCR text) into model input.

Training (trainer/), evaluation (eval_harness/) and serving (backend/) all call
:func:`build_model_input`, so the prompt text, its token ids and the image
preprocessing cannot drift apart between what a model learns from and what it
is later asked.

The model is a vision encoder-decoder: the image goes to the encoder as
``pixel_values``; the page context goes to the decoder as a *prompt prefix*
(``decoder_input_ids``), and the description follows it. Losses and
log-probabilities count only the description tokens.

Words read in the image (OCR) are numbered in the prompt with *pointer tokens*
(``<w1> Free <w2> shipping``), and a description may name a word by its
pointer instead of spelling it (the copy mechanism of M4C, Hu et al. 2020, in
its simplest form). Transcribing an image of text is then "``<w1> <w2>``",
whatever the words are, so a small decoder can give words it never saw in
training. Pointers are used only with tokenizers that hold them
(:func:`trainer.tiny.train_tokenizer` with ``pointers=True``); others get plain text.
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
# "<w1>" stands for the first word read in the image, "<w2>" for the second, ...
OCR_POINTERS = 48
POINTER_TOKENS = [f"<w{i}>" for i in range(1, OCR_POINTERS + 1)]
SPECIAL_TOKENS = [EOS_TOKEN, CONTEXT_TOKEN, OCR_TOKEN, ALT_TOKEN, DECORATIVE_TOKEN]
# A described word may end in punctuation its image does not show ("@okafor58:" for "@okafor58").
_QUOTES = "\"'“”‘’«»"
_TRAILING_PUNCTUATION = re.compile(r"^(.+?)([.,:;!?\"'”’)]+)$")
_GLUED_DASH = re.compile(r"\s*(—)\s*")  # an em dash, with or without spaces around it

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
#: the characters of an image's text read where the image is larger than any the model learned from:
#: there the text is only heard as "Text in image: <its first words>" (backend/honest.py) and as support
#: for the answer's words. On the real-web dev split reading 80 instead of 200 changed no verdict of the
#: real-web judge (results/LOG.md 2026-12-07); it is most of the text-reading time of a screenshot.
UNSEEN_SIZE_OCR_LIMIT = 80
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


def format_prompt(context: PageContext, ocr_text: str = "", pointers: bool = False) -> str:
    """The decoder prompt: labelled context fields, then OCR text, then ``<alt>``.

    Empty fields are left out so that short contexts give short prompts. The
    order puts what decides a control's purpose (role, text, target) first.
    With ``pointers``, each OCR word is preceded by its pointer token.
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
    if ocr and pointers:  # the words as read, each after the pointer that stands for it
        words = read_words(ocr_text)
        ocr = " ".join([f"{p} {w}" for p, w in zip(POINTER_TOKENS, words)] + words[OCR_POINTERS:])
    if ocr:
        prompt += f" {OCR_TOKEN} {ocr}"
    return prompt + f" {ALT_TOKEN}"


def ocr_limit(image_size: tuple[int, int], seen_area: int | None) -> int:
    """How many characters of an image's text are worth reading for a model that learned from images
    of at most ``seen_area`` px² (None: not known, so all the prompt holds)."""
    width, height = image_size
    return UNSEEN_SIZE_OCR_LIMIT if seen_area is not None and width * height > seen_area else OCR_LIMIT


def read_words(ocr_text: str) -> list[str]:
    """The words read in the image, as the reader gave them, one per pointer.

    The reader often glues a dash to the word before or after it (a quote's
    attribution: 'one."— Abraham'); a dash is its own word here, so that the
    quote's last word can be pointed at without it.
    """
    return _GLUED_DASH.sub(r" \1 ", clean_text(ocr_text, OCR_LIMIT)).split()


def ocr_words(ocr_text: str) -> list[str]:
    """The words read in the image, in reading order, as a description would write them.

    Quote marks around a word are dropped ('“Simplicity' → 'Simplicity'), and a
    text in capitals throughout, with a word of three letters or more, is put in
    sentence case ("BUY NOW" → "Buy now", while chart labels "Q1 Q4" stay), which
    screen readers do not spell out letter by letter. A pointer token stands for
    the word in this form.
    """
    read = read_words(ocr_text)
    shouting = all(w.upper() == w for w in read) and any(sum(c.isalpha() for c in w) >= 3 for w in read)
    words = []
    for index, word in enumerate(read):
        word = word.strip(_QUOTES) or word
        if shouting:
            word = word.lower()
            word = word[:1].upper() + word[1:] if index == 0 else word
        words.append(word)
    return words


def readable_text(ocr_text: str) -> str:
    """The image's text as :func:`ocr_words` writes it: what an answer that only reads it says."""
    return " ".join(ocr_words(ocr_text))


def pointer_ids(tokenizer: Any) -> list[int]:
    """The ids of the pointer tokens, in order; empty when the tokenizer lacks them."""
    ids = tokenizer.convert_tokens_to_ids(POINTER_TOKENS)
    unknown = {None, tokenizer.unk_token_id}
    return [] if any(i in unknown for i in ids) else ids


def has_pointers(tokenizer: Any) -> bool:
    return bool(pointer_ids(tokenizer))


def prompt_for(tokenizer: Any, context: PageContext, ocr_text: str) -> str:
    """The prompt text for this tokenizer: with pointer tokens where it has them."""
    return format_prompt(context, ocr_text, pointers=has_pointers(tokenizer))


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


def encode_response(tokenizer: Any, response: str, decorative: bool = False, ocr_text: str = "") -> list[int]:
    """Token ids of a description as the model must produce it, end token included.

    A word the image shows (``ocr_text``) is its pointer token, a word followed by
    punctuation the image does not show is its pointer and the punctuation, and
    every other word is spelled. Of repeated words, the next one in reading order
    is pointed at.
    """
    if decorative:
        return tokenizer(DECORATIVE_TOKEN, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    words = clean_text(response, 500).split()
    pointers = pointer_ids(tokenizer) if ocr_text else []
    shown = ocr_words(ocr_text)[:OCR_POINTERS] if pointers else []
    ids: list[int] = []
    spelled: list[str] = []  # words waiting to be tokenized together

    def flush(text: str) -> None:
        if text:
            ids.extend(tokenizer(text, add_special_tokens=False)["input_ids"])

    last = -1
    for word in words:
        match = _TRAILING_PUNCTUATION.match(word)
        for core, tail in ((word, ""), *([match.groups()] if match else [])):
            index = _next_index(shown, core, last)
            if index is not None:
                flush("".join(" " + w for w in spelled))
                spelled = []
                ids.append(pointers[index])
                flush(tail)
                last = index
                break
        else:
            spelled.append(word)
    flush("".join(" " + w for w in spelled))
    return ids + [tokenizer.eos_token_id]


def _next_index(words: list[str], word: str, after: int) -> int | None:
    """Index of ``word`` in ``words``: the first after ``after``, else the first anywhere."""
    found = [i for i, w in enumerate(words) if w == word]
    if not found:
        return None
    return next((i for i in found if i > after), found[0])


def decode_response(tokenizer: Any, ids: list[int], ocr_text: str = "") -> tuple[str, bool]:
    """(description, decorative) from generated response ids (prompt already removed).

    A pointer token gives the word it points at (a space, then the word); one
    that points past the words the image shows gives nothing.
    """
    decorative_id = tokenizer.convert_tokens_to_ids(DECORATIVE_TOKEN)
    if ids and ids[0] == decorative_id:
        return "", True
    pointer_index = {token: index for index, token in enumerate(pointer_ids(tokenizer))}
    shown = ocr_words(ocr_text)[:OCR_POINTERS] if pointer_index else []
    pieces: list[str] = []
    spelled: list[int] = []
    for token in ids:
        index = pointer_index.get(token)
        if index is None:
            spelled.append(token)
            continue
        pieces.append(tokenizer.decode(spelled, skip_special_tokens=True))
        spelled = []
        if index < len(shown):
            pieces.append(" " + shown[index])
    pieces.append(tokenizer.decode(spelled, skip_special_tokens=True))
    return clean_text("".join(pieces), 500), False


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
    prompt_text = prompt_for(tokenizer, context, ocr_text)
    return ModelInput(
        pixel_values=pixels.astype(np.float32),
        prompt_ids=encode_prompt(tokenizer, prompt_text),
        prompt_text=prompt_text,
    )
