"""Scores for generated alt text: the paper's caption metrics plus what a screen-reader user notices.

The caption metrics are pycocoevalcap's own scorers (BLEU-1..4 cumulative with
the "closest" reference length, ROUGE-L with beta 1.2, CIDEr-D, METEOR 1.5 on
its bundled jar), fed exactly as ``COCOEvalCap`` feeds them: texts are first
PTB-tokenised and lower-cased by the bundled Stanford CoreNLP jar and stripped
of punctuation. Two things differ from calling pycocoevalcap's classes
directly, and neither changes a score (``tests/eval_harness`` checks agreement):

* the jars are run with ``-Dfile.encoding=UTF-8`` and fed through pipes, so
  non-ASCII text is read the same way under any locale and nothing is written
  into the (possibly read-only) site-packages folder, which pycocoevalcap's
  ``PTBTokenizer`` does with a temporary file;
* METEOR keeps each example's statistics line, so a bootstrap can ask the jar
  for the corpus score of any resample (``MeteorJar.aggregate``) instead of
  averaging sentence scores, which is not what corpus METEOR is.

Everything is offline: both jars and METEOR's paraphrase table ship in the
pycocoevalcap wheel; Java 17 runs them.

Scores are kept per example (:class:`ScoreSheet`) together with a way to
re-aggregate any subset, which the paired bootstrap in ``report.py`` needs.
"""
from __future__ import annotations

import atexit
import re
import subprocess
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from pycocoevalcap.bleu import bleu_scorer
from pycocoevalcap.cider.cider_scorer import CiderScorer
from pycocoevalcap.meteor import meteor as _meteor_module
from pycocoevalcap.rouge.rouge import Rouge
from pycocoevalcap.tokenizer import ptbtokenizer as _ptb_module

PTB_JAR = Path(_ptb_module.__file__).with_name(_ptb_module.STANFORD_CORENLP_3_4_1_JAR)
METEOR_JAR = Path(_meteor_module.__file__).with_name(_meteor_module.METEOR_JAR)
PUNCTUATIONS = frozenset(_ptb_module.PUNCTUATIONS)

#: Informative alt text should usually stay under this many characters (DESIGN.md §1).
LONG_ALT_CHARS = 125
#: The category of examples that are images of text: their alt must be the text itself.
TEXT_CATEGORY = "text"

CAPTION_METRICS = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR", "ROUGE-L", "CIDEr")
BEHAVIOUR_METRICS = ("mean_words", "share_over_125_chars", "decorative_rate", "repetition_rate",
                     "exact_match_text")

_ANY_SPACE = re.compile(r"\s+")


def _one_line(text: str) -> str:
    """Collapse every kind of line break or space: the jars read one example per line."""
    return _ANY_SPACE.sub(" ", text).strip()


# --------------------------------------------------------------------------- tokeniser


def ptb_tokenize(texts: Sequence[str]) -> list[str]:
    """PTB-tokenise and lower-case like pycocoevalcap's ``PTBTokenizer``, punctuation removed."""
    if not texts:
        return []
    lines = [_one_line(t) for t in texts]
    out = subprocess.run(
        ["java", "-Dfile.encoding=UTF-8", "-cp", str(PTB_JAR), "edu.stanford.nlp.process.PTBTokenizer",
         "-preserveLines", "-lowerCase", "-encoding", "utf-8"],
        input="\n".join(lines).encode("utf-8"), capture_output=True, check=True)
    tokenized = out.stdout.decode("utf-8").split("\n")
    if len(tokenized) < len(lines):  # trailing empty lines are dropped by the jar
        tokenized += [""] * (len(lines) - len(tokenized))
    tokenized = tokenized[: len(lines)]
    return [" ".join(w for w in line.rstrip().split(" ") if w not in PUNCTUATIONS) for line in tokenized]


# --------------------------------------------------------------------------- METEOR


class MeteorJar:
    """A long-lived METEOR 1.5 process (the jar takes seconds to load its paraphrase table).

    Speaks the jar's ``-stdio`` protocol, as pycocoevalcap's ``Meteor`` does:
    ``SCORE ||| ref ||| ... ||| hyp`` returns a statistics line; ``EVAL ||| s1 ||| s2 ...``
    returns one score per statistics line and then the corpus score.
    """

    _shared: "MeteorJar | None" = None

    @classmethod
    def shared(cls) -> "MeteorJar":
        """One jar per process, started on first use and stopped at exit (its start costs seconds)."""
        if cls._shared is None or cls._shared.closed:
            cls._shared = cls()
            atexit.register(cls._shared.close)
        return cls._shared

    def __init__(self, max_heap: str = "2G"):
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            ["java", "-Dfile.encoding=UTF-8", f"-Xmx{max_heap}", "-jar", str(METEOR_JAR),
             "-", "-", "-stdio", "-l", "en", "-norm"],
            cwd=METEOR_JAR.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def _ask(self, line: str) -> None:
        self._proc.stdin.write((line + "\n").encode("utf-8"))
        self._proc.stdin.flush()

    def _read(self) -> str:
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("METEOR jar exited (is Java 17 installed and 2 GB of memory free?)")
        return line.decode("utf-8").strip()

    def stats(self, hypotheses: Sequence[str], references: Sequence[Sequence[str]], chunk: int = 100) -> list[str]:
        """METEOR's sufficient statistics, one line per example.

        Lines are sent in chunks and answers read after each, so the pipes
        never fill up while each side waits for the other.
        """
        lines = [" ||| ".join(("SCORE", *[_one_line(t).replace("|||", "") for t in (*refs, hyp)]))
                 for hyp, refs in zip(hypotheses, references)]
        out: list[str] = []
        with self._lock:
            for start in range(0, len(lines), chunk):
                part = lines[start:start + chunk]
                self._proc.stdin.write(("\n".join(part) + "\n").encode("utf-8"))
                self._proc.stdin.flush()
                out += [self._read() for _ in part]
        return out

    @property
    def closed(self) -> bool:
        return self._proc.poll() is not None

    def aggregate(self, stats: Sequence[str]) -> tuple[float, list[float]]:
        """Corpus METEOR and per-example scores for a list of statistics lines."""
        if not stats:
            return float("nan"), []
        if self.closed:
            raise RuntimeError("the METEOR jar is closed; pass a running MeteorJar to score() to re-aggregate")
        with self._lock:
            self._ask(" ||| ".join(("EVAL", *stats)))
            segments = [float(self._read()) for _ in stats]
            return float(self._read()), segments

    def close(self) -> None:
        if not self.closed:
            self._proc.stdin.close()
            self._proc.kill()
            self._proc.wait()

    def __enter__(self) -> "MeteorJar":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- BLEU


def bleu_stats(hypothesis: str, references: Sequence[str], n: int = 4) -> np.ndarray:
    """One example's BLEU statistics: [testlen, closest reflen, guess_1..n, correct_1..n]."""
    cooked = bleu_scorer.cook_test(hypothesis, bleu_scorer.cook_refs(list(references), n=n), eff="closest", n=n)
    return np.array([cooked["testlen"], cooked["reflen"], *cooked["guess"], *cooked["correct"]], dtype=float)


def bleu_from_stats(total: np.ndarray, n: int = 4) -> list[float]:
    """Cumulative corpus BLEU-1..n from summed statistics, with pycocoevalcap's smoothing constants."""
    small, tiny = 1e-9, 1e-15
    testlen, reflen, guess, correct = total[0], total[1], total[2:2 + n], total[2 + n:2 + 2 * n]
    scores, product = [], 1.0
    for k in range(n):
        product *= (correct[k] + tiny) / (guess[k] + small)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (testlen + tiny) / (reflen + small)
    if ratio < 1:
        scores = [s * np.exp(1 - 1 / ratio) for s in scores]
    return [float(s) for s in scores]


def cider_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> np.ndarray:
    """Per-example CIDEr-D; IDF comes from these references, so the corpus score is the mean.

    With a single example every n-gram has IDF 0 and CIDEr is 0: it needs a corpus.
    """
    scorer = CiderScorer(n=4, sigma=6.0)
    for hyp, refs in zip(hypotheses, references):
        scorer += (hyp, list(refs))
    _, per_example = scorer.compute_score()
    return np.asarray(per_example, dtype=float)


def rouge_l_scores(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> np.ndarray:
    """Per-example ROUGE-L F (beta 1.2, best reference); the corpus score is the mean."""
    rouge = Rouge()
    return np.array([rouge.calc_score([h], list(r)) for h, r in zip(hypotheses, references)], dtype=float)


# --------------------------------------------------------------------------- behaviour


def normalize_for_match(text: str) -> str:
    """Case-, space- and edge-punctuation-insensitive form for exact-match of images of text."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _ANY_SPACE.sub(" ", text).strip()
    return text.strip(" .,:;!?\"'“”‘’")


def is_repetitive(text: str) -> bool:
    """True when a word repeats back to back or a word pair occurs twice: the loops captioners fall into."""
    words = [w.strip(".,;:!?\"'").casefold() for w in text.split()]
    words = [w for w in words if w]
    if any(a == b for a, b in zip(words, words[1:])):
        return True
    bigrams = list(zip(words, words[1:]))
    return len(bigrams) != len(set(bigrams))


# --------------------------------------------------------------------------- the score sheet


@dataclass
class Prediction:
    """One model answer: the text and whether the model called the image decorative."""

    text: str
    decorative: bool = False


@dataclass
class Reference:
    """What a good answer is for one example.

    ``decorative`` is None when the data set does not say (the paper's data);
    ``category`` is e.g. "text" for images of text, "" when unknown.
    """

    texts: list[str]
    decorative: bool | None = None
    category: str = ""


Aggregator = Callable[[np.ndarray], float]


@dataclass
class ScoreSheet:
    """Per-example scores and, for each metric, how to aggregate any subset of examples.

    ``aggregators[m](indices)`` returns metric ``m`` over the examples at ``indices``
    (repeats allowed, as a bootstrap resample has them); NaN when the metric is
    undefined on that subset. ``corpus`` is every metric over all examples.
    """

    n: int
    corpus: dict[str, float]
    aggregators: dict[str, Aggregator] = field(repr=False)
    per_example: dict[str, list] = field(default_factory=dict, repr=False)

    def aggregate(self, metric: str, indices: np.ndarray) -> float:
        return self.aggregators[metric](np.asarray(indices, dtype=int))


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> Aggregator:
    def aggregate(idx: np.ndarray) -> float:
        chosen = idx[mask[idx]]
        return float(values[chosen].mean()) if len(chosen) else float("nan")
    return aggregate


def score(predictions: Sequence[Prediction], references: Sequence[Reference],
          meteor: MeteorJar | None = None) -> ScoreSheet:
    """Score predictions against references, example by example, in order.

    Caption metrics use the examples whose reference is a description (not
    decorative, non-empty); a decorative prediction counts there as the empty
    text it is. Length and repetition are measured on informative predictions.
    Pass a running :class:`MeteorJar` to score several sets without restarting
    Java and to re-aggregate METEOR later (bootstrap); without one, a jar is
    started and stopped here and the sheet's METEOR aggregator cannot be reused.
    """
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    n = len(predictions)
    texts = [("" if p.decorative else p.text) for p in predictions]
    described = np.array([r.decorative is not True and any(t.strip() for t in r.texts) for r in references], bool)
    informative = np.array([not p.decorative and bool(p.text.strip()) for p in predictions], bool)

    # Caption metrics on tokenised text, over the examples that have a description.
    caption_idx = np.flatnonzero(described)
    ref_lists = [[t for t in references[i].texts if t.strip()] for i in caption_idx]
    tokens = ptb_tokenize([texts[i] for i in caption_idx] + [t for refs in ref_lists for t in refs])
    hyp_tok, pos, ref_tok = tokens[: len(caption_idx)], len(caption_idx), []
    for refs in ref_lists:
        ref_tok.append(tokens[pos:pos + len(refs)])
        pos += len(refs)

    bleu, rouge, cider = np.zeros((n, 10)), np.zeros(n), np.zeros(n)
    meteor_stats = [""] * n
    for i, h, r in zip(caption_idx, hyp_tok, ref_tok):
        bleu[i] = bleu_stats(h, r)
    if len(caption_idx):
        rouge[caption_idx] = rouge_l_scores(hyp_tok, ref_tok)
        cider[caption_idx] = cider_scores(hyp_tok, ref_tok)

    def bleu_k(k: int) -> Aggregator:
        def aggregate(idx: np.ndarray) -> float:
            chosen = idx[described[idx]]
            return bleu_from_stats(bleu[chosen].sum(axis=0))[k] if len(chosen) else float("nan")
        return aggregate

    jar = meteor or MeteorJar()

    def meteor_aggregate(idx: np.ndarray) -> float:
        chosen = idx[described[idx]]
        return jar.aggregate([meteor_stats[i] for i in chosen])[0] if len(chosen) else float("nan")

    aggregators: dict[str, Aggregator] = {f"BLEU-{k + 1}": bleu_k(k) for k in range(4)}
    aggregators["METEOR"] = meteor_aggregate
    aggregators["ROUGE-L"] = _masked_mean(rouge, described)
    aggregators["CIDEr"] = _masked_mean(cider, described)

    words = np.array([len(t.split()) for t in texts], float)
    aggregators["mean_words"] = _masked_mean(words, informative)
    aggregators["share_over_125_chars"] = _masked_mean(
        np.array([len(t) > LONG_ALT_CHARS for t in texts], float), informative)
    repetitive = np.array([is_repetitive(t) for t in texts], float)
    aggregators["repetition_rate"] = _masked_mean(repetitive, informative)
    aggregators["decorative_rate"] = _masked_mean(np.array([p.decorative for p in predictions], float),
                                                  np.ones(n, bool))
    labelled = np.array([r.decorative is not None for r in references], bool)
    agree = np.array([p.decorative == bool(r.decorative) for p, r in zip(predictions, references)], float)
    aggregators["decorative_agreement"] = _masked_mean(agree, labelled)

    exact = np.array([not p.decorative and any(normalize_for_match(p.text) == normalize_for_match(t)
                                               for t in r.texts if t.strip())
                      for p, r in zip(predictions, references)], float)
    categories = np.array([r.category or "" for r in references])
    aggregators["exact_match_text"] = _masked_mean(exact, categories == TEXT_CATEGORY)
    for category in sorted(set(categories) - {""}):
        aggregators[f"exact_match[{category}]"] = _masked_mean(exact, (categories == category) & described)

    try:
        for i, line in zip(caption_idx, jar.stats(hyp_tok, ref_tok)):
            meteor_stats[i] = line
        segment_meteor = jar.aggregate([meteor_stats[i] for i in caption_idx])[1]
        corpus = {name: aggregate(np.arange(n)) for name, aggregate in aggregators.items()}
    finally:
        if meteor is None:
            jar.close()

    per_example: dict[str, list] = {"prediction": texts, "METEOR": [None] * n, "ROUGE-L": rouge.tolist(),
                                    "CIDEr": cider.tolist(), "words": words.tolist(),
                                    "repetitive": repetitive.astype(bool).tolist(),
                                    "exact": exact.astype(bool).tolist()}
    for i, s in zip(caption_idx, segment_meteor):
        per_example["METEOR"][i] = s
    return ScoreSheet(n=n, corpus=corpus, aggregators=aggregators, per_example=per_example)
