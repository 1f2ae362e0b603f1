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

import ipaddress
import json
import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence
from urllib.parse import urlsplit

import numpy as np
import onnxruntime as ort
from PIL import Image

from backend.grounding import ground_mentions, ocr_agreement
from backend.honest import KIND_LABELS, NO_DESCRIPTION, honest_answer
from backend.kinds import KindRecogniser, kind_in_file_name
from backend.support import Evidence, KnownWorld, is_name, is_readable, site_read
from backend.modelinput import (ModelInput, PageContext, build_model_input, decode_response, encode_response,
                                ocr_limit, pointer_ids, readable_text)

log = logging.getLogger(__name__)

# A link to one of these is a link to the picture itself (a larger copy), not a purpose of its own.
IMAGE_FILE_ENDINGS = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif", ".bmp")
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


@dataclass
class _Search:
    """The beam search of one image inside a batch: its hypotheses and the batch rows holding its live beams."""

    beams: list[Hypothesis]
    rows: list[int]
    finished: list[Hypothesis] = field(default_factory=list)

    def advance(self, logp: np.ndarray, num_beams: int, eos_id: int) -> list[int]:
        """Extend the live beams by the best next tokens (``logp``: one row per live beam).

        Hypotheses that end leave the beam and the beam is refilled from the next-best
        continuations. Returns, per new live beam, the batch row it continues from.
        """
        scores = np.array([b.logprob for b in self.beams])[:, None] + logp
        flat_scores = scores.ravel()
        keep = min(2 * num_beams, flat_scores.size)
        best = np.argpartition(-flat_scores, keep - 1)[:keep]  # no full sort of the vocabulary
        live, parents = [], []
        for flat in best[np.argsort(-flat_scores[best])]:
            parent, token = np.unravel_index(flat, scores.shape)
            hypothesis = Hypothesis(self.beams[parent].ids + [int(token)], float(scores[parent, token]))
            if token == eos_id:
                self.finished.append(hypothesis)
            else:
                live.append(hypothesis)
                parents.append(self.rows[parent])
            if len(live) == num_beams:
                break
        self.beams = live
        return parents

    def done(self, num_beams: int) -> bool:
        """No live beam, or enough ended hypotheses and no live beam ahead of the worst of them
        (transformers' beam search stops on the same test)."""
        if not self.beams:
            return True
        if len(self.finished) < num_beams:
            return False
        worst_kept = sorted(h.mean_logprob for h in self.finished)[-num_beams]
        return max(b.mean_logprob for b in self.beams) < worst_kept

    def ranked(self, num_beams: int) -> list[Hypothesis]:
        return sorted(self.finished or self.beams, key=lambda h: h.mean_logprob, reverse=True)[:num_beams]


class OnnxModel:
    """The three ONNX sessions of one exported model, and decoding over them.

    Models exported by :func:`trainer.export.export_onnx` take an attention mask and
    position ids, so prompts of different lengths are decoded together, left-padded
    (``padded``), and they hand the cross-attention keys and values from the first
    decoder call to the next ones. A plain optimum export has neither: its images
    share a batch only with images whose prompt has the same length, and each step
    gets the encoder states again.
    """

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
        # Imported here, not at module level: transformers costs seconds to import, and the
        # backend's CLI (init-db, tokens) and every process that never loads a model skip it.
        from transformers import AutoImageProcessor, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.image_processor = AutoImageProcessor.from_pretrained(self.model_dir)
        self.eos_id = self.tokenizer.eos_token_id
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_id
        past_inputs = [i.name for i in self.decoder_with_past.get_inputs()]
        self.padded = {"attention_mask", "position_ids"} <= set(past_inputs)
        self._self_names = [n for n in past_inputs if n.startswith("past_key_values") and ".encoder_" not in n]
        self._cross_names = [n for n in past_inputs if n.startswith("past_key_values") and ".encoder_" in n]

    def build_input(self, image: Image.Image, context: PageContext, ocr_text: str) -> ModelInput:
        return build_model_input(image, context, ocr_text, self.tokenizer, self.image_processor)

    def encode(self, pixel_values: np.ndarray) -> np.ndarray:
        """Encoder hidden states for a batch of images [N, 3, H, W]."""
        return self.encoder.run(None, {"pixel_values": pixel_values.astype(np.float32)})[0]

    def _feed(self, ids: np.ndarray, mask: np.ndarray, hidden: np.ndarray | None) -> dict[str, np.ndarray]:
        """Decoder inputs for ``ids`` [R, L] whose whole sequence so far (past + ids) is masked by ``mask``."""
        feed = {"input_ids": ids.astype(np.int64)}
        if hidden is not None:
            feed["encoder_hidden_states"] = hidden
        if self.padded:
            seen = mask[:, : mask.shape[1] - ids.shape[1]].sum(axis=1, keepdims=True)
            positions = seen + np.maximum(np.cumsum(mask[:, -ids.shape[1]:], axis=1) - 1, 0)
            feed.update(attention_mask=mask.astype(np.int64), position_ids=positions.astype(np.int64))
        return feed

    def _prefill(self, prompts: list[list[int]], hidden: np.ndarray):
        """Run the prompts, left-padded to one length.

        Returns the last position's log-probs [N, V], the self-attention cache, what
        the next steps attend to instead of the encoder states (the cross-attention
        cache, or the encoder states themselves), and the attention mask.
        """
        length = max(len(p) for p in prompts)
        ids = np.full((len(prompts), length), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(prompts), length), dtype=np.int64)
        for row, prompt in enumerate(prompts):
            ids[row, length - len(prompt):] = prompt
            mask[row, length - len(prompt):] = 1
        outputs = self.decoder.run(None, self._feed(ids, mask, hidden))
        caches = outputs[1:]
        own, cross = caches[: len(self._self_names)], caches[len(self._self_names):]
        return _log_softmax(outputs[0][:, -1, :]), own, (cross if self._cross_names else [hidden]), mask

    def _next_step(self, tokens: np.ndarray, mask: np.ndarray, past: list[np.ndarray], cross: list[np.ndarray]):
        """One token per row; ``cross``: the rows' cross-attention cache (or encoder states, for optimum's graph)."""
        feed = self._feed(tokens[:, None], mask, None)
        feed.update(zip(self._self_names, past))
        if self._cross_names:
            feed.update(zip(self._cross_names, cross))
        else:
            feed["encoder_hidden_states"] = cross[0]
        outputs = self.decoder_with_past.run(None, feed)
        return _log_softmax(outputs[0][:, -1, :]), outputs[1:]

    def generate_greedy(self, model_input: ModelInput, max_new_tokens: int = 32) -> list[int]:
        """Prompt + greedy continuation (eos included), the same shape ``generate`` returns."""
        hidden = self.encode(model_input.pixel_values[None])
        logp, past, cross, mask = self._prefill([model_input.prompt_ids], hidden)
        out = list(model_input.prompt_ids)
        for step in range(max_new_tokens):
            token = int(np.argmax(logp[0]))
            out.append(token)
            if token == self.eos_id or step == max_new_tokens - 1:
                break
            mask = np.concatenate([mask, np.ones((1, 1), dtype=np.int64)], axis=1)
            logp, past = self._next_step(np.array([token]), mask, past, cross)
        return out

    def beam_search(self, prompt_ids: list[int], hidden: np.ndarray, num_beams: int, max_new_tokens: int,
                    banned: list[int] | None = None, reading_order: list[int] | None = None) -> list[Hypothesis]:
        """Ranked hypotheses of one image (``hidden``: its encoder states); see :meth:`beam_search_many`."""
        return self.beam_search_many([prompt_ids], hidden[None], num_beams, max_new_tokens,
                                     None if banned is None else [banned], reading_order)[0]

    def beam_search_many(self, prompts: list[list[int]], hidden: np.ndarray, num_beams: int,
                         max_new_tokens: int, banned: list[list[int]] | None = None,
                         reading_order: list[int] | None = None) -> list[list[Hypothesis]]:
        """Per image, ranked hypotheses (best first, by mean token log-probability), each distinct.

        All images are searched together: one decoder call per step carries every live
        beam of every image, so a batch of images costs little more than one on CPU,
        where a call's fixed cost outweighs this small model's arithmetic. Hypotheses
        that end leave the beam, which is refilled from the next-best continuations, so
        ``num_beams`` live beams keep searching until ``num_beams`` hypotheses have ended
        and no live beam is ahead of them. When ``max_new_tokens`` runs out, unfinished
        beams are returned as they stand.

        ``banned[i]``: tokens image ``i`` may never produce (pointers its prompt does
        not hold, which stand for nothing); the rest of its distribution is
        renormalised, as M4C masks the OCR slots an image does not fill.
        ``reading_order``: the pointer tokens, in order, when a hypothesis may only
        point forward and must end at the last word read (:func:`reading_order_bans`).
        """
        if not self.padded and len({len(p) for p in prompts}) > 1:
            return self._by_prompt_length(prompts, hidden, num_beams, max_new_tokens, banned, reading_order)
        logp, past, cross, mask = self._prefill(prompts, hidden)
        searches = [_Search([Hypothesis([], 0.0)], [row]) for row in range(len(prompts))]
        last_read = [_last_read(reading_order, banned[i] if banned else []) for i in range(len(prompts))]
        active = list(range(len(prompts)))
        row_images, cross_rows = None, cross
        for step in range(max_new_tokens):
            bans = [(searches[i].rows, banned[i]) for i in active if banned[i]] if banned else []
            if reading_order and step:
                bans += [([row], b) for i in active for row, beam in zip(searches[i].rows, searches[i].beams)
                         if (b := reading_order_bans(beam.ids, reading_order, last_read[i], logp.shape[1],
                                                     self.eos_id))]
            if bans:
                logp = _without(logp, bans)
            parents = {i: searches[i].advance(logp[searches[i].rows], num_beams, self.eos_id) for i in active}
            if step == max_new_tokens - 1:  # out of tokens: the unfinished beams are all there is
                for i in active:
                    searches[i].finished += searches[i].beams
                break
            active = [i for i in active if not searches[i].done(num_beams)]
            if not active:
                break
            rows, images = [], []
            for i in active:
                searches[i].rows = list(range(len(rows), len(rows) + len(parents[i])))
                rows += parents[i]
                images += [i] * len(parents[i])
            tokens = np.array([b.ids[-1] for i in active for b in searches[i].beams])
            mask = np.concatenate([mask[rows], np.ones((len(rows), 1), dtype=np.int64)], axis=1)
            if images != row_images:  # the cross-attention inputs depend on the image only: gathered when rows change
                row_images, cross_rows = images, [np.ascontiguousarray(c[images]) for c in cross]
            logp, past = self._next_step(tokens, mask, [np.ascontiguousarray(p[rows]) for p in past], cross_rows)
        return [s.ranked(num_beams) for s in searches]

    def _by_prompt_length(self, prompts, hidden, num_beams, max_new_tokens, banned,
                          reading_order) -> list[list[Hypothesis]]:
        """Without an attention mask, only prompts of one length share a batch."""
        results: list[list[Hypothesis]] = [[] for _ in prompts]
        groups: dict[int, list[int]] = {}
        for index, prompt in enumerate(prompts):
            groups.setdefault(len(prompt), []).append(index)
        for indices in groups.values():
            found = self.beam_search_many([prompts[i] for i in indices], hidden[indices], num_beams, max_new_tokens,
                                          [banned[i] for i in indices] if banned else None, reading_order)
            for index, hypotheses in zip(indices, found):
                results[index] = hypotheses
        return results

    def score(self, prompt_ids: list[int], hidden: np.ndarray, response_ids: list[int],
              banned: list[int] | None = None, reading_order: list[int] | None = None) -> Hypothesis:
        """The model's log-probability of a given response (one teacher-forced decoder pass),
        under the same bans as :meth:`beam_search_many`, so that the two scores compare."""
        ids = np.array([list(prompt_ids) + list(response_ids)[:-1]], dtype=np.int64)
        logits = self.decoder.run(None, self._feed(ids, np.ones_like(ids), hidden[None]))[0][0]
        logp = _log_softmax(logits[len(prompt_ids) - 1:])
        bans = [([step], banned) for step in range(len(response_ids))] if banned else []
        if reading_order:
            last = _last_read(reading_order, banned or [])
            bans += [([step], b) for step in range(1, len(response_ids))
                     if (b := reading_order_bans(response_ids[:step], reading_order, last, logp.shape[1],
                                                 self.eos_id))]
        if bans:
            logp = _without(logp, bans)
        return Hypothesis(list(response_ids), float(sum(logp[i, t] for i, t in enumerate(response_ids))))


def reading_order_bans(ids: list[int], pointers: list[int], last_read: int | None = None,
                       vocabulary: int = 0, eos_id: int | None = None) -> list[int]:
    """The tokens an answer that began with ``ids`` may no longer produce, when it reads
    the image's words in order: the word it pointed at last and every word before it;
    and, once it has pointed at the last word read (``last_read``), anything but the end.

    Every corpus answer for an image of text points in reading order, and none goes on
    after pointing at the last word read (measured on the train split: 895 of 895). A model that has pointed at the last word and
    still wants another (a next word the image does not have) would otherwise repeat
    one ("Members only only only") or spell one it remembers ("Members only @hank").
    """
    if last_read is not None and ids and ids[-1] == last_read:
        return [t for t in range(vocabulary) if t != eos_id]
    last = next((t for t in reversed(ids) if t in pointers), None)
    return [] if last is None else pointers[: pointers.index(last) + 1]


def _last_read(pointers: list[int] | None, banned: list[int]) -> int | None:
    """The pointer to the last word a prompt holds (None without pointers or words)."""
    banned = set(banned)
    held = [p for p in pointers or [] if p not in banned]
    return held[-1] if held else None


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _without(logp: np.ndarray, bans: list[tuple[list[int], list[int]]]) -> np.ndarray:
    """``logp`` with each (rows, tokens) ban applied: those tokens impossible, the rows renormalised."""
    logp = logp.copy()
    for rows, tokens in bans:
        logp[np.ix_(rows, tokens)] = -np.inf
    changed = sorted({r for rows, _ in bans for r in rows})
    logp[changed] = _log_softmax(logp[changed])
    return logp


@dataclass
class Description:
    """What the backend answers for one image."""

    description: str
    decorative: bool
    confidence: float
    low_confidence: bool
    candidates: list[str] = field(default_factory=list)
    # The model's own answer when the backend says something else (the support check's honest or safe
    # form, a decorative claim not believed; "" for a decorative answer). Stored, never sent to a page:
    # feedback on the answer a user heard must push down what the model said (backend/preferences.py).
    model_answer: str | None = None


@dataclass(frozen=True)
class EngineSettings:
    """Decoding and confidence policy. Confidence is the geometric-mean token probability."""

    num_beams: int = 4
    max_new_tokens: int = 32
    score_ocr_text: bool = True
    ground_mentions: bool = True  # handles and hashtags only as the image's text shows them (backend/grounding.py)
    ocr_agreement_weight: float = 0.3  # rank = mean log-prob + weight x similarity to the OCR text (chosen on val)
    pointers_in_reading_order: bool = True  # a pointer model reads forward (reading_order_bans)
    low_confidence_below: float = 0.35
    safe_max_words: int = 6
    text_in_image_words: int = 12  # "Text in image: ..." says at most this many of the words read
    check_support: bool = True  # an answer nothing supports is replaced by the honest form (backend/support.py)
    redundant_in_control: bool = True  # an image beside its link's or button's own text is decorative


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
        self.world = KnownWorld.from_info(info)
        self.kinds = KindRecogniser.load(model_dir)  # names the kind in the honest form; None: no kind is named
        self.note = str(info.get("note", "" if self.trained else "untrained model: descriptions are meaningless"))

    @property
    def provider(self) -> str:
        return self.model.provider

    def ocr_limit(self, image_size: tuple[int, int]) -> int:
        """How much of an image's text to read for this model (modelinput.ocr_limit): the reader's time
        goes where a listener or the model can use its text."""
        return ocr_limit(image_size, self.world.seen_area)

    def describe(self, images: list[Image.Image], contexts: list[PageContext], ocr_texts: list[str],
                 ocr_titles: Sequence[str] | None = None) -> list[Description]:
        """``ocr_titles``: the title among each image's text (backend.ocr.TextRead), which the honest
        form says of an image holding more text than it can say; without it, the first words read."""
        titles = list(ocr_titles) if ocr_titles is not None else [""] * len(images)
        inputs = [self.model.build_input(i, c, o) for i, c, o in zip(images, contexts, ocr_texts)]
        if not inputs:
            return []
        hidden = self.model.encode(np.stack([m.pixel_values for m in inputs]))
        # A pointer the prompt does not hold (past the words read, or cut off with a long prompt)
        # stands for nothing: an answer made of such pointers would be empty.
        pointers = pointer_ids(self.model.tokenizer)
        banned = [sorted(set(pointers) - set(m.prompt_ids)) for m in inputs] if pointers else [[] for _ in inputs]
        order = pointers if self.settings.pointers_in_reading_order else []
        searched = self.model.beam_search_many([m.prompt_ids for m in inputs], hidden, self.settings.num_beams,
                                               self.settings.max_new_tokens, banned, order)
        return [self._describe_one(m, h, c, o, found, b, order, image, title)
                for m, h, c, o, found, b, image, title
                in zip(inputs, hidden, contexts, ocr_texts, searched, banned, images, titles)]

    def _describe_one(self, model_input: ModelInput, hidden: np.ndarray, context: PageContext,
                      ocr_text: str, hypotheses: list[Hypothesis], banned: list[int],
                      reading_order: list[int], image: Image.Image, ocr_title: str = "") -> Description:
        found = self._choose(model_input, hidden, context, ocr_text, hypotheses, banned, reading_order)
        said = self._checked(found, context, ocr_text, image, ocr_title)
        if said is found:
            return found
        return replace(said, model_answer="" if found.decorative else found.description)

    def _checked(self, found: Description, context: PageContext, ocr_text: str, image: Image.Image,
                 ocr_title: str = "") -> Description:
        """What may be said of the model's answer ``found``: itself, or what the checks put in its place."""
        s = self.settings
        if s.redundant_in_control and redundant_in_control(context, ocr_text):
            return Description("", True, found.confidence, False, found.candidates)
        if not s.check_support or not (found.decorative or found.description):
            return found
        evidence = Evidence.of(context, ocr_text, image.size, self.world)
        if found.decorative:  # a claim that silences the image: believed only within the known world
            if evidence.decorative_supported():
                return found
            return self._unsaid(found, context, ocr_text, evidence, image, ocr_title)
        if self._photo_beyond_world(evidence, image, ocr_text, context):
            return self._unsaid(found, context, ocr_text, evidence, image, ocr_title, kind="photo")
        # The text read in an image larger than any image of text the model learned is not what it shows.
        large = evidence.reads_as_text() is False
        supported = [t for t in [found.description, *found.candidates]
                     if not evidence.unsupported(t) and not (large and evidence.retells_text(t, ocr_text))]
        if found.description in supported:
            return found
        if found.low_confidence and supported:  # the safe form keeps to what is supported
            return Description(_shorten(min(supported, key=len), s.safe_max_words), False, found.confidence, True,
                               found.candidates)
        return self._unsaid(found, context, ocr_text, evidence, image, ocr_title)

    def _photo_beyond_world(self, evidence: Evidence, image: Image.Image, ocr_text: str,
                            context: PageContext) -> bool:
        """A photograph larger than any image the model learned from: the model never saw a photograph,
        so whatever it says of one (a post's frame around a sign's words, "Post by designer: ...") is
        its training world's speech, not what is shown; only the honest form may be said of it."""
        if self.kinds is None or self.world.seen_area is None or evidence.area <= self.world.seen_area:
            return False
        if kind_in_file_name(context.file_name):
            return False
        return self.kinds.recognise(image, ocr_text)[0] == "photo"

    def _unsaid(self, found: Description, context: PageContext, ocr_text: str, evidence: Evidence,
                image: Image.Image, ocr_title: str = "", kind: str | None = None) -> Description:
        """What is said when none of the model's answers may be. A photograph, when the kind recogniser
        is sure of it: "Photo: <its caption>", or "Photo, no description available". Else the image's own
        text when it reads as words — as its alt for an image the size of the images of text the model
        learned ("Possibly:"), as "Text in image: ..." for a larger one ("Screenshot: ...", "Logo: ...",
        "Chart: ..." where its file name says what it is; its title when it holds more words than that
        form says: :func:`gist`; a logo's one word is its name: "Logo: Nasa") — else "No description
        available" ("Logo, no description available"). An image that is a link's only content names the
        link, so its honest form also says where the link goes (:func:`link_target`). Always
        low-confidence. ``kind``: the kind when the caller has already recognised it."""
        s = self.settings
        if kind is None:
            kind = kind_in_file_name(context.file_name)
            if not kind and self.kinds is not None:
                kind = self.kinds.recognise(image, ocr_text)[0]
        link = link_target(context)

        def honest(said_kind: str, supported: str = "") -> Description:
            target = "" if link and link in supported.lower() else link  # said once is enough
            return Description(honest_answer(said_kind, supported, target), False, found.confidence, True,
                               found.candidates)

        if kind == "photo":
            return honest("photo", _shorten(context.caption, s.text_in_image_words))
        named = kind if kind in KIND_LABELS and kind != "text" else ""
        text = readable_text(ocr_text)
        as_text = evidence.reads_as_text()
        if text and as_text is not None and (is_readable(text) or (named == "logo" and is_name(text))):
            if as_text:  # an image of text the model's size: its text is its alt, and the link's name
                return Description(_shorten(text, s.safe_max_words), False, found.confidence, True,
                                   found.candidates)
            return honest(named or "text", gist(text, readable_text(ocr_title), s.text_in_image_words, named))
        return honest(named)

    def _choose(self, model_input: ModelInput, hidden: np.ndarray, context: PageContext,
                ocr_text: str, hypotheses: list[Hypothesis], banned: list[int],
                reading_order: list[int]) -> Description:
        """The model's answer under the confidence policy, before the support check."""
        s = self.settings
        if ocr_text and s.score_ocr_text:
            # The text read in the image is put to the model as one more candidate. Beam search
            # loses long copies to a single misread token; the model's own score decides here
            # whether the image's text is the right alt (a button) or not (a chart's labels).
            response = encode_response(self.model.tokenizer, readable_text(ocr_text), ocr_text=ocr_text)
            if len(response) <= s.max_new_tokens:
                scored = self.model.score(model_input.prompt_ids, hidden, response, banned, reading_order)
                if math.isfinite(scored.logprob):  # not when it points at a word the prompt lost
                    hypotheses.append(scored)
        ranked = []  # (rank, text, decorative, the model's own probability per token)
        for h in hypotheses:
            ids = h.ids[:-1] if h.ids and h.ids[-1] == self.model.eos_id else h.ids
            text, decorative = decode_response(self.model.tokenizer, ids, ocr_text)
            if s.ground_mentions and ocr_text and not decorative:
                text = ground_mentions(text, ocr_text)
            if not (decorative or text):
                continue
            # Near-ties between a faithful copy and one that skips or loops ("... alway out is
            # always through") go to the one that agrees with the text read in the image.
            agreement = ocr_agreement(text, ocr_text) if ocr_text and not decorative else 0.0
            ranked.append((h.mean_logprob + s.ocr_agreement_weight * agreement, text, decorative,
                           math.exp(h.mean_logprob)))
        ranked.sort(key=lambda r: r[0], reverse=True)  # stable: beam order breaks ties
        decoded, seen = [], set()
        for _, text, decorative, probability in ranked:
            if (text, decorative) not in seen:
                seen.add((text, decorative))
                decoded.append((text, decorative, probability))
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
        safe = _shorten(readable_text(ocr_text), s.safe_max_words) if ocr_text else ""
        if not safe:
            texts = [t for t, d, _ in decoded if not d]
            safe = _shorten(min(texts, key=len), s.safe_max_words) if texts else ""
        return Description(safe, False, confidence, True, [t for t in candidates if t != safe])


def link_target(context: PageContext) -> str:
    """Where a link whose only content is the image goes, as a listener wants it: the target's host
    without "www." ("flickr.com"), or "" — not a link's only content, no web address (a script, a
    mail address: the extension sends only http and https targets), a link to an image file (the
    picture itself, larger: no purpose beyond the image), or a host that is no name (an IP address,
    "localhost": a page served from a developer's machine)."""
    if context.control_role != "link" or not context.only_content:
        return ""
    target = urlsplit(context.control_href.strip())
    if target.scheme not in ("http", "https") or not target.hostname or target.hostname == "localhost":
        return ""
    if target.path.lower().endswith(IMAGE_FILE_ENDINGS):
        return ""
    try:
        ipaddress.ip_address(target.hostname)
        return ""
    except ValueError:
        return target.hostname.lower().removeprefix("www.")


def redundant_in_control(context: PageContext, ocr_text: str) -> bool:
    """An image inside a link or button that has its own text: the text names the control, so the
    image repeats it or decorates it (W3C alt decision tree; every such image of the corpus is
    decorative: 103 of 103 in the train split). Not when the image holds text the page does not say."""
    return bool(context.control_role and context.control_text and not context.only_content
                and not must_be_named(context, ocr_text))


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


def gist(text: str, title: str, max_words: int, kind: str = "") -> str:
    """An image's text as the honest form says it of an image of ``kind`` ("" when not known): all of it
    when it is at most ``max_words`` words, else the site it shows when it reads a web address (a browser's
    address bar: authors name the site a screenshot shows), else its title (its largest letters,
    backend.ocr.TextRead) when that is readable, else its first words. A logo's largest letters are its
    name (a tagline is set smaller), so a logo says its title whatever its length. Every word is one the
    image's text holds."""
    if kind == "logo" and is_name(title):
        return _shorten(title, max_words)
    if len(text.split()) <= max_words:
        return _shorten(text, max_words)
    site = site_read(text) if kind in ("", "text", "screenshot") else ""
    if site:
        return site
    return _shorten(title if is_readable(title) else text, max_words)


def _shorten(text: str, max_words: int) -> str:
    words = text.split()
    return " ".join(words[:max_words])
