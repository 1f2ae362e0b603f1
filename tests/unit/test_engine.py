"""The ONNX engine answers like the PyTorch model it was exported from."""
import numpy as np
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

from backend.engine import AltTextEngine, EngineSettings, OnnxModel
from backend.modelinput import PageContext, build_model_input

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
    # with text found in the image, the safe answer is that text (never an invention)
    assert answers[1].description == "SALE 50% OFF"
