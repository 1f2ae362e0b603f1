"""The sensitivity checks score a reference as the model learned to write it."""
import numpy as np

from eval_harness.metrics import Reference
from eval_harness.runner import EvalExample
from eval_harness.sensitivity import SensitivityConfig, reference_logprobs
from tests.trainer.test_pointers import examples_of
from trainer.modeling import VisionEncoderDecoderPolicy


def test_references_are_spelled_outside_the_pointed_categories(tmp_path):
    from tests.conftest import TINY_TEXTS
    from trainer.tiny import build_model

    policy = VisionEncoderDecoderPolicy.from_pretrained(
        build_model(tmp_path / "pointers", texts=TINY_TEXTS, seed=0, pointers=True)).eval()
    text, chart = examples_of(["Free shipping", "Free shipping"])
    examples = [EvalExample("t", text, Reference(["Free shipping"], False, "text")),
                EvalExample("c", chart, Reference(["Free shipping"], False, "chart"))]
    everywhere = reference_logprobs(policy, examples, config=SensitivityConfig())
    text_only = reference_logprobs(policy, examples, config=SensitivityConfig(pointed_categories=("text",)))
    assert np.isclose(text_only[0], everywhere[0])  # the image of text: pointed either way
    assert not np.isclose(text_only[1], everywhere[1])  # the chart: spelled, so another sequence is scored
