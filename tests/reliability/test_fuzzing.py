"""Property-based fuzzing: the whole HTTP API from its OpenAPI document, and the model-input builder.

schemathesis generates valid and invalid requests for every operation in
/api/v1/openapi.json and sends them through the WSGI app (with a valid token,
so writes get past authentication); not one may be a server error. hypothesis
feeds arbitrary JSON-like page contexts, OCR texts and images to
backend.modelinput: nothing may crash, and everything stays within its bounds.
The number of examples is bounded so that this file runs in well under a minute.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.modelinput import (ALT_TOKEN, CONTEXT_TOKEN, FIELD_LIMITS, MAX_PROMPT_TOKENS, OCR_LIMIT, PageContext,
                                build_model_input, format_prompt)
from reliability_helpers import auth, token_for

FUZZ_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture(scope="module")
def fuzz_app(tiny_onnx, tmp_path_factory):
    from backend import create_app
    from backend.registry import ModelRegistry
    from backend.state import EXTENSION_KEY

    root = tmp_path_factory.mktemp("fuzz")
    ModelRegistry(root / "models").publish(tiny_onnx)
    app = create_app({"database_url": f"sqlite:///{root / 'altlens.db'}", "models_dir": str(root / "models"),
                      "model_poll_s": 0, "ocr": "off", "testing": True,
                      "ratelimit_token": "100000 per minute", "ratelimit_address": "100000 per minute"})
    app.extensions[EXTENSION_KEY].db.upgrade()
    yield app
    app.extensions[EXTENSION_KEY].db.dispose()


@pytest.fixture(scope="module")
def fuzz_token(fuzz_app):
    return token_for(fuzz_app, "fuzzer")


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode), ids=lambda m: m.value)
def test_api_never_answers_a_server_error(fuzz_app, fuzz_token, mode):
    """Every operation, fuzzed (schemathesis' pytest plugin does not run under pytest 9, so operations are driven here)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/api/v1/describe", "/api/v1/feedback", "/api/v1/health"}
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        if mode is schemathesis.GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # the GET operations take no input, so there is nothing to make invalid
        strategy = operation.as_strategy(generation_mode=mode)

        @given(case=strategy)
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def check(case):
            response = case.call(headers=auth(fuzz_token))
            assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
            statuses.setdefault(operation.path, set()).add(response.status_code)

        check()
    assert {"/api/v1/describe", "/api/v1/feedback"} <= set(statuses), statuses


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text()
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELD_NAMES = [name for name in PageContext.__dataclass_fields__]
CONTEXTS = st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=10), JSON_VALUES, max_size=14)
# Text a hostile page might carry: controls, surrogates, bidi overrides, combining marks, long runs.
NASTY_TEXT = st.text(st.characters(exclude_categories=()), max_size=2000) | st.builds(
    lambda s, n: s * n, st.text(max_size=5), st.integers(0, 3000))


@given(data=CONTEXTS)
@FUZZ_SETTINGS
def test_page_context_from_anything_is_bounded_and_stable(data):
    context = PageContext.from_mapping(data)
    for name, limit in FIELD_LIMITS.items():
        value = getattr(context, name)
        assert isinstance(value, str) and len(value) <= limit
        assert not any(ord(ch) < 32 or 0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    assert 0 <= context.width <= 100_000 and 0 <= context.height <= 100_000
    assert isinstance(context.only_content, bool)
    assert PageContext.from_mapping(context.to_dict()) == context  # cleaning is idempotent


@given(data=CONTEXTS, caption=NASTY_TEXT, ocr=NASTY_TEXT)
@FUZZ_SETTINGS
def test_prompt_is_bounded_and_ends_with_the_alt_marker(data, caption, ocr):
    context = PageContext.from_mapping({**data, "caption": caption})
    prompt = format_prompt(context, ocr)
    assert prompt.startswith(CONTEXT_TOKEN) and prompt.endswith(" " + ALT_TOKEN)
    bound = sum(FIELD_LIMITS.values()) + OCR_LIMIT + 200  # fields, OCR and their labels
    assert len(prompt) <= bound
    prompt.encode("utf-8")  # no lone surrogates survive


MODES = st.sampled_from(["1", "L", "P", "RGB", "RGBA", "LA", "CMYK", "I;16", "I", "F"])


@st.composite
def images(draw):
    mode = draw(MODES)
    width, height = draw(st.integers(1, 80)), draw(st.integers(1, 80))
    seed = draw(st.integers(0, 2**16))
    rgb = Image.fromarray(np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8))
    return rgb.convert(mode) if mode not in ("I;16",) else rgb.convert("L").convert("I;16")


@pytest.fixture(scope="module")
def tokenizer_and_processor(tiny_checkpoint):
    from transformers import AutoImageProcessor, AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_checkpoint), AutoImageProcessor.from_pretrained(tiny_checkpoint)


@given(image=images(), data=CONTEXTS, ocr=NASTY_TEXT)
@FUZZ_SETTINGS
def test_model_input_never_crashes_and_stays_bounded(tokenizer_and_processor, image, data, ocr):
    tokenizer, processor = tokenizer_and_processor
    model_input = build_model_input(image, PageContext.from_mapping(data), ocr, tokenizer, processor)
    assert model_input.pixel_values.dtype == np.float32
    assert model_input.pixel_values.shape[0] == 3 and model_input.pixel_values.ndim == 3
    assert all(math.isfinite(v) for v in model_input.pixel_values.ravel()[:50])
    assert 2 <= len(model_input.prompt_ids) <= MAX_PROMPT_TOKENS
    assert model_input.prompt_ids[0] == tokenizer.bos_token_id
    assert model_input.prompt_ids[-1] == tokenizer.convert_tokens_to_ids(ALT_TOKEN)
