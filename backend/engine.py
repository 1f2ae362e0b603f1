"""ONNX Runtime inference for altlens models, with a decoding loop of our own.

The model directory is what optimum exports for ``image-to-text-with-past``
(``encoder_model.onnx``, ``decoder_model.onnx``, ``decoder_with_past_model.onnx``,
tokenizer, image processor, generation config) plus ``altlens.json`` saying
whether the model was trained. The decoding loop (greedy and beam search with
the key/value cache) is written here rather than borrowed from
``transformers.generate`` so that serving needs no PyTorch, the per-token
overhead stays small on CPU, and beam hypotheses come back as ranked
candidates with their scores (kept for feedback → preference pairs).
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image
from transformers import AutoImageProcessor, AutoTokenizer

from backend.modelinput import ModelInput, PageContext, build_model_input, decode_response

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
MODEL_FILES = ("encoder_model.onnx", "decoder_model.onnx", "decoder_with_past_model.onnx")


# onnxruntime-gpu on a machine without CUDA logs an error per session before it
# falls back to the CPU; which provider really runs is reported by OnnxModel.provider.
ort.set_default_logger_severity(4)


def default_providers() -> list[str]:
    """CUDA first when this onnxruntime build has it, CPU always as the fallback."""
    available = ort.get_available_providers()
    return [p for p in (CUDA, CPU) if p in available]


@dataclass
class Hypothesis:
    """One decoded response: its token ids (prompt excluded) and summed log-probability."""

    ids: list[int]
    logprob: float

    @property
    def mean_logprob(self) -> float:
        return self.logprob / max(1, len(self.ids))


class OnnxModel:
    """The three ONNX sessions of one exported model, and decoding over them."""

    def __init__(self, model_dir: str | Path, providers: list[str] | None = None, threads: int = 0):
        self.model_dir = Path(model_dir)
        missing = [f for f in MODEL_FILES if not (self.model_dir / f).is_file()]
        if missing:
            raise FileNotFoundError(f"{self.model_dir}: missing {', '.join(missing)}")
        options = ort.SessionOptions()
        options.log_severity_level = 3  # the CUDA-unavailable warning is reported via .provider
        if threads:
            options.intra_op_num_threads = threads
        providers = providers or default_providers()

        def session(name: str) -> ort.InferenceSession:
            return ort.InferenceSession(str(self.model_dir / name), options, providers=providers)

        self.encoder = session("encoder_model.onnx")
        self.decoder = session("decoder_model.onnx")
        self.decoder_with_past = session("decoder_with_past_model.onnx")
        self.provider = self.decoder.get_providers()[0]
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.image_processor = AutoImageProcessor.from_pretrained(self.model_dir)
        self.eos_id = self.tokenizer.eos_token_id
        self._past_names = [i.name for i in self.decoder_with_past.get_inputs() if i.name.startswith("past_key_values")]

    def build_input(self, image: Image.Image, context: PageContext, ocr_text: str) -> ModelInput:
        return build_model_input(image, context, ocr_text, self.tokenizer, self.image_processor)

    def encode(self, pixel_values: np.ndarray) -> np.ndarray:
        """Encoder hidden states for a batch of images [N, 3, H, W]."""
        return self.encoder.run(None, {"pixel_values": pixel_values.astype(np.float32)})[0]

    def _first_step(self, prompt_ids: list[int], hidden: np.ndarray, rows: int):
        outputs = self.decoder.run(
            None,
            {"input_ids": np.array([prompt_ids], dtype=np.int64), "encoder_hidden_states": hidden[None]},
        )
        logits, present = outputs[0][:, -1, :], outputs[1:]
        past = [np.repeat(p, rows, axis=0) for p in present]
        return _log_softmax(logits[0]), past

    def _next_step(self, tokens: np.ndarray, hidden_rows: np.ndarray, past: list[np.ndarray]):
        feed = {"input_ids": tokens[:, None].astype(np.int64), "encoder_hidden_states": hidden_rows}
        feed.update(zip(self._past_names, past))
        outputs = self.decoder_with_past.run(None, feed)
        return _log_softmax(outputs[0][:, -1, :]), outputs[1:]

    def generate_greedy(self, model_input: ModelInput, max_new_tokens: int = 32) -> list[int]:
        """Prompt + greedy continuation (eos included), the same shape ``generate`` returns."""
        hidden = self.encode(model_input.pixel_values[None])[0]
        logp, past = self._first_step(model_input.prompt_ids, hidden, rows=1)
        out = list(model_input.prompt_ids)
        for step in range(max_new_tokens):
            token = int(np.argmax(logp if logp.ndim == 1 else logp[0]))
            out.append(token)
            if token == self.eos_id or step == max_new_tokens - 1:
                break
            logp, past = self._next_step(np.array([token]), hidden[None], past)
        return out

    def beam_search(self, prompt_ids: list[int], hidden: np.ndarray, num_beams: int, max_new_tokens: int) -> list[Hypothesis]:
        """Ranked finished hypotheses (best first, by mean token log-probability)."""
        logp, past = self._first_step(prompt_ids, hidden, rows=num_beams)
        first = np.argsort(-logp)[:num_beams]
        beams = [Hypothesis([int(t)], float(logp[t])) for t in first]
        finished: list[Hypothesis] = []
        hidden_rows = np.repeat(hidden[None], num_beams, axis=0)
        for _ in range(max_new_tokens - 1):
            live = [b for b in beams if b.ids[-1] != self.eos_id]
            finished += [b for b in beams if b.ids[-1] == self.eos_id]
            if len(finished) >= num_beams or not live:
                break
            rows = [beams.index(b) for b in live]
            tokens = np.array([b.ids[-1] for b in live])
            logp, present = self._next_step(tokens, hidden_rows[: len(live)], [p[rows] for p in past])
            scores = np.array([b.logprob for b in live])[:, None] + logp
            flat = np.argsort(-scores, axis=None)[:num_beams]
            parents, toks = np.unravel_index(flat, scores.shape)
            beams = [Hypothesis(live[p].ids + [int(t)], float(scores[p, t])) for p, t in zip(parents, toks)]
            past = [np.ascontiguousarray(p[parents]) for p in present]
            hidden_rows = np.repeat(hidden[None], len(beams), axis=0)
        finished += beams
        return sorted(finished, key=lambda h: h.mean_logprob, reverse=True)[:num_beams]


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass
class Description:
    """What the backend answers for one image."""

    description: str
    decorative: bool
    confidence: float
    low_confidence: bool
    candidates: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EngineSettings:
    """Decoding and confidence policy. Confidence is the geometric-mean token probability."""

    num_beams: int = 4
    max_new_tokens: int = 32
    low_confidence_below: float = 0.35
    safe_max_words: int = 6


class AltTextEngine:
    """Describes images with one published model version."""

    def __init__(self, model_dir: str | Path, version: str = "", providers: list[str] | None = None,
                 settings: EngineSettings = EngineSettings()):
        self.model = OnnxModel(model_dir, providers)
        self.version = version or Path(model_dir).name
        self.settings = settings
        info_path = Path(model_dir) / "altlens.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self.trained = bool(info.get("trained", False))
        self.note = str(info.get("note", "" if self.trained else "untrained model: descriptions are meaningless"))

    @property
    def provider(self) -> str:
        return self.model.provider

    def describe(self, images: list[Image.Image], contexts: list[PageContext], ocr_texts: list[str]) -> list[Description]:
        inputs = [self.model.build_input(i, c, o) for i, c, o in zip(images, contexts, ocr_texts)]
        if not inputs:
            return []
        hidden = self.model.encode(np.stack([m.pixel_values for m in inputs]))
        return [self._describe_one(m, h, o) for m, h, o in zip(inputs, hidden, ocr_texts)]

    def _describe_one(self, model_input: ModelInput, hidden: np.ndarray, ocr_text: str) -> Description:
        s = self.settings
        hypotheses = self.model.beam_search(model_input.prompt_ids, hidden, s.num_beams, s.max_new_tokens)
        decoded = []
        for h in hypotheses:
            ids = h.ids[:-1] if h.ids and h.ids[-1] == self.model.eos_id else h.ids
            text, decorative = decode_response(self.model.tokenizer, ids)
            if (decorative or text) and (text, decorative) not in [(t, d) for t, d, _ in decoded]:
                decoded.append((text, decorative, math.exp(h.mean_logprob)))
        if not decoded:
            return Description("", False, 0.0, True, [])
        best_text, decorative, confidence = decoded[0]
        candidates = [t for t, d, _ in decoded[1:] if not d]
        if confidence >= s.low_confidence_below:
            return Description(best_text, decorative, confidence, False, candidates)
        # Low confidence changes the answer: never a confident invention, never a
        # low-confidence "decorative" that would hide the image from the user.
        safe = _shorten(ocr_text, s.safe_max_words) if ocr_text else ""
        if not safe:
            texts = [t for t, d, _ in decoded if not d]
            safe = _shorten(min(texts, key=len), s.safe_max_words) if texts else ""
        return Description(safe, False, confidence, True, [t for t in candidates if t != safe])


def _shorten(text: str, max_words: int) -> str:
    words = text.split()
    return " ".join(words[:max_words])
