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

from backend.modelinput import ModelInput, PageContext, build_model_input, decode_response, encode_response

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
        """Ranked hypotheses (best first, by mean token log-probability), each distinct.

        Hypotheses that end (emit the end token) leave the beam; the beam is refilled
        from the next-best continuations, so ``num_beams`` live beams keep searching
        until ``num_beams`` hypotheses have ended and no live beam is ahead of them.
        Only when ``max_new_tokens`` runs out are unfinished beams returned, as they stand.
        """
        logp, past = self._first_step(prompt_ids, hidden, rows=num_beams)
        finished: list[Hypothesis] = []
        beams: list[Hypothesis] = []
        for token in np.argsort(-logp)[: 2 * num_beams]:
            hypothesis = Hypothesis([int(token)], float(logp[token]))
            (finished if token == self.eos_id else beams).append(hypothesis)
            if len(beams) == num_beams:
                break
        for _ in range(max_new_tokens - 1):
            if not beams or self._search_done(finished, beams, num_beams):
                break
            tokens = np.array([b.ids[-1] for b in beams])
            hidden_rows = np.repeat(hidden[None], len(beams), axis=0)
            logp, present = self._next_step(tokens, hidden_rows, [p[: len(beams)] for p in past])
            scores = np.array([b.logprob for b in beams])[:, None] + logp
            live, parents = [], []
            for flat in np.argsort(-scores, axis=None)[: 2 * num_beams]:
                parent, token = np.unravel_index(flat, scores.shape)
                hypothesis = Hypothesis(beams[parent].ids + [int(token)], float(scores[parent, token]))
                if token == self.eos_id:
                    finished.append(hypothesis)
                else:
                    live.append(hypothesis)
                    parents.append(int(parent))
                if len(live) == num_beams:
                    break
            beams = live
            past = [np.ascontiguousarray(p[parents]) for p in present]
        else:
            finished += beams  # out of tokens: the unfinished beams are all there is
        if not finished:
            finished = beams
        return sorted(finished, key=lambda h: h.mean_logprob, reverse=True)[:num_beams]

    @staticmethod
    def _search_done(finished: list[Hypothesis], beams: list[Hypothesis], num_beams: int) -> bool:
        """Enough ended hypotheses, and no live beam ahead of the worst of them so far
        (transformers' beam search stops on the same test)."""
        if len(finished) < num_beams:
            return False
        worst_kept = sorted(h.mean_logprob for h in finished)[-num_beams]
        return max(b.mean_logprob for b in beams) < worst_kept

    def score(self, prompt_ids: list[int], hidden: np.ndarray, response_ids: list[int]) -> Hypothesis:
        """The model's log-probability of a given response (one teacher-forced decoder pass)."""
        ids = list(prompt_ids) + list(response_ids)
        logits = self.decoder.run(None, {"input_ids": np.array([ids[:-1]], dtype=np.int64),
                                         "encoder_hidden_states": hidden[None]})[0][0]
        logp = _log_softmax(logits[len(prompt_ids) - 1:])
        return Hypothesis(list(response_ids), float(sum(logp[i, t] for i, t in enumerate(response_ids))))


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
    score_ocr_text: bool = True
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
        return [self._describe_one(m, h, c, o) for m, h, c, o in zip(inputs, hidden, contexts, ocr_texts)]

    def _describe_one(self, model_input: ModelInput, hidden: np.ndarray, context: PageContext,
                      ocr_text: str) -> Description:
        s = self.settings
        hypotheses = self.model.beam_search(model_input.prompt_ids, hidden, s.num_beams, s.max_new_tokens)
        if ocr_text and s.score_ocr_text:
            # The text read in the image is put to the model as one more candidate. Beam search
            # loses long copies to a single misread token; the model's own score decides here
            # whether the image's text is the right alt (a button) or not (a chart's labels).
            response = encode_response(self.model.tokenizer, ocr_text)
            if len(response) <= s.max_new_tokens:
                hypotheses.append(self.model.score(model_input.prompt_ids, hidden, response))
                hypotheses.sort(key=lambda h: h.mean_logprob, reverse=True)
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
        overruled = decorative and must_be_named(context, ocr_text)
        if confidence >= s.low_confidence_below and not overruled:
            return Description(best_text, decorative, confidence, False, candidates)
        # Low confidence changes the answer: never a confident invention, never a
        # low-confidence "decorative" that would hide the image from the user. A
        # "decorative" overruled by must_be_named is treated the same way: the
        # model misjudged this image, so none of its other answers is trusted either.
        safe = _shorten(ocr_text, s.safe_max_words) if ocr_text else ""
        if not safe:
            texts = [t for t, d, _ in decoded if not d]
            safe = _shorten(min(texts, key=len), s.safe_max_words) if texts else ""
        return Description(safe, False, confidence, True, [t for t in candidates if t != safe])


def must_be_named(context: PageContext, ocr_text: str) -> bool:
    """Images that ``alt=""`` would harm, whatever the model says.

    The only content of a link or button: marked decorative, the control has no
    name at all (WCAG 1.1.1, 4.1.2). An image holding text the page does not
    already say next to it: hiding it hides that text (images of text, 1.4.5).
    The corpus's own labels agree: none of its decorative images is either.
    """
    if context.control_role and context.only_content:
        return True
    if not ocr_text:
        return False
    nearby = " ".join((context.control_text, context.caption, context.heading, context.surrounding_text)).lower()
    return ocr_text.lower() not in nearby


def _shorten(text: str, max_words: int) -> str:
    words = text.split()
    return " ".join(words[:max_words])
