"""Does feedback teach? The product's feedback loop on real images, measured on pages never corrected.

``python -m eval_harness.feedback_loop`` (``make eval-feedback``) plays sighted helpers who
correct the product's answers on the real-web ``dev`` split, through the real API, and lets
``trainer/retrain.py`` retrain after every batch of feedback, as the periodic job would:

1. a fresh registry serving the bundled model (v0001) and a fresh SQLite database, the
   backend app itself (``backend.create_app``, driven by Flask's test client: the same
   routes, validation, auth, storage and preference rules as HTTP);
2. each round, the next ``--per-round`` dev images (a seeded shuffle) are described with
   ``POST /api/v1/describe`` and every answer gets one :class:`Helper` feedback with
   ``POST /api/v1/feedback``;
3. ``retrain.run_once`` trains on the pairs (``--objective``, ``--label-smoothing``), gates on
   its held-out pairs and publishes; the app swaps the new version in (as its watcher would);
4. the served model is measured on the real-web ``test`` split (other pages: none of them
   was corrected) by the real-web judge, at the backend level, and after the last round on
   the generated corpus's held-out split too (what was forgotten).

The users' gate (trainer/gate.py) is off in these runs: it chooses on the very dev images
the helpers corrected, and the question here is what training on feedback does, not which
candidate the gate would let through. Figures per round, per configuration and seed go to
``results.json``; ``report.md`` gives means and spreads over seeds. OCR readings are cached
on disk (``--work``), so a rerun pays only for training and inference.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import logging
import random
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from PIL import Image

from backend.modelinput import OCR_LIMIT
from backend.support import KnownWorld
from eval_harness.realweb.judge import is_grounded, spoken_text, support
from eval_harness.realweb.records import DEFAULT_ROOT, Record, load, page_context

log = logging.getLogger("altlens.feedback_loop")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "eval_harness" / "results" / "feedback_loop"
FIGURES = ("grounded_share", "ungrounded_share", "hidden_share", "honest_share", "decorative_right_share")
CORPUS_FIGURES = ("corpus.acc[text]", "corpus.acc[icon_control]", "corpus.acc[chart]", "corpus.acc[emoji]",
                  "corpus.acc[decorative]", "corpus.CIDEr", "corpus.BLEU-4")
MAX_TEXT_CHARS = 300  # backend.preferences.MAX_TEXT_CHARS: what a helper can send


# --------------------------------------------------------------------------- the helpers


@dataclass(frozen=True)
class HelperPolicy:
    """How simulated sighted helpers answer, and how often they are wrong.

    A helper knows what the image shows (the author's alt). An answer that already says it
    (the real-web judge's "grounded") gets a thumbs up. Otherwise ``write_share`` of helpers
    write the author's alt as a correction; the others pick the candidate closest to it if
    one shares a word with it, else give a thumbs down (which makes no pair). A decorative
    image answered decorative gets a thumbs up, any other answer for it a thumbs down (the
    API has no "this is decorative" correction). With probability ``noise`` the feedback is
    wrong: a correction carrying another image's alt, as a careless or hostile helper sends.
    """

    noise: float = 0.0
    write_share: float = 0.8


@dataclass
class Helper:
    policy: HelperPolicy
    other_alts: Sequence[str]
    rng: random.Random

    def feedback(self, record: Record, result: dict) -> dict | None:
        """The feedback body for one answer (without ``generation_id``), or None to send nothing."""
        if self.rng.random() < self.policy.noise:
            wrong = [a for a in self.other_alts if a and a != record.alt]
            return {"kind": "correct", "text": _sendable(self.rng.choice(wrong)), "wrong": True}
        text, _ = spoken_text(result.get("description") or "")
        if record.decorative:
            return {"kind": "rate", "rating": "up" if result.get("decorative") else "down"}
        if not result.get("decorative") and is_grounded(text, record.alt):
            return {"kind": "rate", "rating": "up"}
        if self.rng.random() < self.policy.write_share:
            return {"kind": "correct", "text": _sendable(record.alt)}
        candidates = result.get("candidates") or []
        closest = max(range(len(candidates)), key=lambda i: _shared(candidates[i], record.alt), default=None)
        if closest is not None and _shared(candidates[closest], record.alt) > 0:
            return {"kind": "pick", "candidate_index": closest}
        return {"kind": "rate", "rating": "down"}


def _shared(text: str, alt: str) -> int:
    return support(text, alt)[0]


def _sendable(alt: str) -> str:
    """The alt as a helper can send it: the API takes at most MAX_TEXT_CHARS, so a longer one is cut
    at a word boundary."""
    alt = " ".join(alt.split())
    if len(alt) <= MAX_TEXT_CHARS:
        return alt
    return alt[:MAX_TEXT_CHARS].rsplit(" ", 1)[0]


# --------------------------------------------------------------------------- the backend, in process


class CachedOcr:
    """The gate's disk cache of the backend reader (trainer.gate.OcrCache) with the reader's own
    interface, keyed by the decoded pixels the backend reads, so every configuration and rerun reads
    each image once."""

    def __init__(self, path: Path):
        from trainer.gate import OcrCache

        self.cache = OcrCache(path, enabled=True)

    def read_with_title(self, image: Image.Image, limit: int = OCR_LIMIT):
        return self.cache.read(image, f"{image.mode}{image.size}".encode() + image.tobytes(), limit)

    def warm_up(self) -> None:
        """Nothing to warm: the reader starts on its first miss."""

    def save(self) -> None:
        self.cache.save()


@dataclass
class Product:
    """The backend app on its own registry and database, with a helper's token."""

    app: object
    client: object
    token: str
    models_dir: Path
    database_url: str

    @classmethod
    def start(cls, folder: Path, bundled: Path, ocr: CachedOcr) -> "Product":
        from backend import create_app
        from backend.auth import create_client
        from backend.registry import ModelRegistry
        from backend.state import EXTENSION_KEY

        models_dir, database_url = folder / "models", f"sqlite:///{folder / 'altlens.db'}"
        ModelRegistry(models_dir).publish(bundled)
        app = create_app({"database_url": database_url, "models_dir": str(models_dir), "model_poll_s": 0,
                          "ocr": "off", "pair_quota_per_day": 1_000_000, "ratelimit_token": "1000000 per minute",
                          "ratelimit_address": "1000000 per minute", "testing": True})
        services = app.extensions[EXTENSION_KEY]
        services.db.upgrade()
        services.ocr = ocr
        with services.db.session() as session:
            token = create_client(session, "helpers", None)
        return cls(app, app.test_client(), token, models_dir, database_url)

    def describe(self, records: Sequence[Record], batch: int = 8) -> list[dict]:
        out = []
        for start in range(0, len(records), batch):
            items = [{"image": base64.b64encode(r.image_path.read_bytes()).decode("ascii"),
                      "context": page_context(r).to_dict()} for r in records[start:start + batch]]
            response = self.client.post("/api/v1/describe", json={"images": items}, headers=self._auth)
            if response.status_code == 200:
                out += response.get_json()["results"]
            else:  # one unusable image costs only its own answer
                for item in items:
                    single = self.client.post("/api/v1/describe", json={"images": [item]}, headers=self._auth)
                    out.append(single.get_json()["results"][0] if single.status_code == 200
                               else {"refused": single.status_code})
        return out

    def send(self, generation_id: str, body: dict) -> tuple[int, int]:
        """(status, pairs created) for one feedback."""
        body = {k: v for k, v in body.items() if k != "wrong"} | {"generation_id": generation_id}
        response = self.client.post("/api/v1/feedback", json=body, headers=self._auth)
        return response.status_code, (response.get_json() or {}).get("pairs_created", 0)

    def swap_in_published(self) -> str:
        from backend.state import EXTENSION_KEY

        registry = self.app.extensions[EXTENSION_KEY].registry
        registry.poll()
        return registry.current_version_name()

    @property
    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class Setup:
    """One configuration of the loop."""

    objective: str  # "mcm_dpo" or "dpo"
    noise: float
    label_smoothing: float = 0.0
    facets: str = "served"  # retrain.py --facets: the bundled model's facets, or all seven ("paper")

    @property
    def name(self) -> str:
        smoothing = f"+cdpo{self.label_smoothing:g}" if self.label_smoothing else ""
        facets = "-7facets" if self.facets == "paper" else ""
        return f"{self.objective}{facets}{smoothing}@noise{self.noise:g}"


@dataclass
class Round:
    setup: str
    seed: int
    round: int
    corrections_sent: int  # cumulative: every feedback the helpers sent so far
    pairs: int  # cumulative: preference pairs the API made
    wrong: int  # cumulative: feedback that was deliberately wrong
    feedback: dict = field(default_factory=dict)  # this round: feedback kind -> count
    decision: str = ""
    version: str = ""
    seconds: float = 0.0
    figures: dict = field(default_factory=dict)


def run_setup(setup: Setup, seed: int, pool: Sequence[Record], rounds: int, per_round: int,
              measure, folder: Path, bundled: Path, ocr: CachedOcr, training: dict) -> list[Round]:
    """One configuration and seed: ``rounds`` of feedback then retraining, measured after each."""
    from trainer.retrain import RetrainSettings, run_once

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    product = Product.start(folder, bundled, ocr)
    order = list(pool)
    random.Random(seed).shuffle(order)
    helper = Helper(HelperPolicy(noise=setup.noise), [r.alt for r in pool if r.alt], random.Random(1000 + seed))
    sent = pairs = wrong = 0
    out = []
    for number in range(1, rounds + 1):
        started = time.perf_counter()
        batch = order[(number - 1) * per_round:number * per_round]
        kinds: dict[str, int] = {}
        for record, result in zip(batch, product.describe(batch)):
            body = helper.feedback(record, result) if "generation_id" in result else None
            if body is None:
                continue
            status, made = product.send(result["generation_id"], body)
            label = f"{body['kind']}{'-' + body['rating'] if body['kind'] == 'rate' else ''}"
            label += "" if status == 201 else f" refused {status}"
            kinds[label] = kinds.get(label, 0) + 1
            sent, pairs, wrong = sent + 1, pairs + made, wrong + bool(body.get("wrong"))
        ocr.save()
        settings = RetrainSettings(database_url=product.database_url, models_dir=product.models_dir,
                                   work_dir=folder / "retrain", min_new_pairs=1, gate_sets=(),
                                   objective=setup.objective, label_smoothing=setup.label_smoothing,
                                   facets=setup.facets,
                                   seed=seed, **training)
        outcome = run_once(settings)
        version = product.swap_in_published()
        figures = measure(product.models_dir / version, last=number == rounds)
        out.append(Round(setup.name, seed, number, sent, pairs, wrong, kinds, outcome.decision, version,
                         round(time.perf_counter() - started, 1), figures))
        log.info("%s seed %d round %d: %s; %s; %s (%.0f s)", setup.name, seed, number, kinds, outcome.decision,
                 {k: figures.get(f"realweb.{k}") for k in FIGURES}, out[-1].seconds)
    return out


# --------------------------------------------------------------------------- report


def _mean_sd(values: Sequence[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    mean = statistics.fmean(values)
    return f"{mean:.3f} ± {statistics.stdev(values):.3f}" if len(values) > 1 else f"{mean:.3f}"


def report(baseline: dict, rows: Sequence[Round], meta: dict) -> str:
    """The learning curves, per configuration: mean ± sd over seeds after each round."""
    lines = ["# The feedback loop on real images", "",
             f"Reproduce: `{meta['command']}` ({meta['started']}, {meta['seconds']:.0f} s, {meta['machine']}).", "",
             "retrain.py settings beyond its defaults: " + ", ".join(f"`{k}={v}`" for k, v in meta["training"].items())
             + ".", "",
             f"Feedback from simulated helpers on the real-web `dev` split ({meta['pool']} images, "
             f"{meta['per_round']} per round, seeded order per seed), through `POST /api/v1/describe` and "
             "`POST /api/v1/feedback`; `trainer/retrain.py` after every round (held-out pairs gate on, users' gate "
             f"off); measured on {meta['measured_on']} ({meta['test_images']} images of pages never corrected), "
             f"backend level, by the real-web judge. Shares are of the {meta.get('test_informative', '?')} "
             f"informative images (decorative right: of the {meta.get('test_decorative', '?')} author-decorative "
             "ones). Mean ± sd over seeds "
             f"{', '.join(map(str, meta['seeds']))}.", "",
             f"## Learning curves ({meta['measured_on']})", ""]
    names = list(dict.fromkeys(r.setup for r in rows))
    header = "| setup | round | feedback sent | pairs | published | " + " | ".join(f.removesuffix("_share")
                                                                              for f in FIGURES) + " |"
    lines += [header, "|" + "---|" * (5 + len(FIGURES))]
    lines.append("| bundled model | 0 | 0 | 0 | – | " + " | ".join(f"{baseline.get(f'realweb.{f}', 0):.3f}"
                                                                    for f in FIGURES) + " |")
    for name in names:
        for number in sorted({r.round for r in rows if r.setup == name}):
            group = [r for r in rows if r.setup == name and r.round == number]
            published = sum(r.decision.startswith("published") for r in group)
            lines.append(f"| {name} | {number} | {statistics.fmean(r.corrections_sent for r in group):.0f} | "
                         f"{statistics.fmean(r.pairs for r in group):.0f} | {published}/{len(group)} | "
                         + " | ".join(_mean_sd([r.figures.get(f"realweb.{f}") for r in group]) for f in FIGURES)
                         + " |")
    lines += ["", "## What was forgotten (generated corpus, held-out split, after the last round)", "",
              "| setup | " + " | ".join(f.removeprefix("corpus.") for f in CORPUS_FIGURES) + " |",
              "|" + "---|" * (1 + len(CORPUS_FIGURES)),
              "| bundled model | " + " | ".join(_fmt(baseline.get(f)) for f in CORPUS_FIGURES) + " |"]
    for name in names:
        last = max(r.round for r in rows if r.setup == name)
        group = [r for r in rows if r.setup == name and r.round == last]
        lines.append(f"| {name} | " + " | ".join(_mean_sd([r.figures.get(f) for r in group]) for f in CORPUS_FIGURES)
                     + " |")
    lines += ["", "## Feedback the helpers sent (all seeds, all rounds)", ""]
    for name in names:
        kinds: dict[str, int] = {}
        for r in rows:
            if r.setup == name:
                for k, n in r.feedback.items():
                    kinds[k] = kinds.get(k, 0) + n
        finals = [r for r in rows if r.setup == name and r.round == max(x.round for x in rows if x.setup == name)]
        wrong, sent = sum(r.wrong for r in finals), sum(r.corrections_sent for r in finals)
        lines.append(f"- {name}: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
                     + f"; deliberately wrong {wrong} of {sent}")
    decisions = sorted({r.decision for r in rows if not r.decision.startswith("published")})
    if decisions:
        lines += ["", "Rounds not published: " + "; ".join(decisions)]
    return "\n".join(lines) + "\n"


def _fmt(value) -> str:
    return "–" if value is None else f"{value:.3f}"


# --------------------------------------------------------------------------- CLI


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m eval_harness.feedback_loop", description=__doc__.splitlines()[0])
    p.add_argument("--realweb", type=Path, default=DEFAULT_ROOT)
    p.add_argument("--corpus", type=Path, default=REPO / "var" / "model-build" / "corpus",
                   help="a corpus folder with test.jsonl (make model writes it); missing: no corpus figures")
    p.add_argument("--model", type=Path, default=REPO / "models" / "bundled", help="the starting model (v0001)")
    p.add_argument("--noise", type=_floats, default=[0.0, 0.1, 0.3],
                   help="shares of wrong feedback, each run with MCM-DPO ('' for none)")
    p.add_argument("--dpo-noise", type=_floats, default=[0.0],
                   help="shares of wrong feedback run with plain DPO on the same feedback ('' for none)")
    p.add_argument("--paper-facets-noise", type=_floats, default=[],
                   help="shares of wrong feedback also run with MCM-DPO's seven facets at the paper's weights "
                        "(retrain.py --facets paper); default none")
    p.add_argument("--smoothing", type=float, default=0.1,
                   help="cDPO label smoothing, also run with MCM-DPO at the largest noise (0: not run)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--per-round", type=int, default=60)
    p.add_argument("--test-per-set", type=int, default=None, help="a seeded sample of the test split per set")
    p.add_argument("--learning-rate", type=float, default=None, help="default: retrain.py's")
    p.add_argument("--epochs", type=int, default=None, help="default: retrain.py's")
    p.add_argument("--corpus-replay-ratio", type=float, default=None,
                   help="corpus pairs replayed per feedback pair (default: retrain.py's); the corpus is --corpus")
    p.add_argument("--device", default="auto")
    p.add_argument("--choose", action="store_true",
                   help="choose settings on dev alone: feedback on two thirds of the dev pages, measured on the "
                        "other third (the test split is not read)")
    p.add_argument("--work", type=Path, default=REPO / "var" / "feedback-loop")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--resume", action="store_true",
                   help="keep the finished runs of --out's results.json and run only the others")
    return p.parse_args(argv)


def _checked_page(record: Record) -> bool:
    """A third of the dev pages, by a hash of the page (``--choose`` measures on them)."""
    return int(hashlib.sha256(f"{record.set_name}/{record.page}".encode()).hexdigest(), 16) % 3 == 0


def setups(args: argparse.Namespace) -> list[Setup]:
    out = [Setup("mcm_dpo", n) for n in args.noise] + [Setup("dpo", n) for n in args.dpo_noise]
    if args.smoothing and args.noise and max(args.noise) > 0:
        out.append(Setup("mcm_dpo", max(args.noise), args.smoothing))
    return out + [Setup("mcm_dpo", n, facets="paper") for n in args.paper_facets_noise]


def main(argv: Sequence[str] | None = None) -> int:
    from trainer.gate import GateSets, OcrCache, evaluate, prepare, records_inputs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("trainer", "backend", "optimum", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parse_args(argv)
    started, clock = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), time.perf_counter()
    dev = [r for r in load([args.realweb], ("dev",)) if not r.is_svg]
    pool = [r for r in dev if not (args.choose and _checked_page(r))]
    needed = args.rounds * args.per_round
    if needed > len(pool):
        raise SystemExit(f"{args.rounds} rounds of {args.per_round} need {needed} dev images; there are {len(pool)}")
    corpus = args.corpus if (args.corpus / "test.jsonl").is_file() else None
    if corpus is None:
        log.warning("no corpus held-out split at %s: corpus figures not measured", args.corpus)
    seen_area = KnownWorld.from_info(json.loads((args.model / "altlens.json").read_text())).seen_area
    sets = GateSets(realweb=None if args.choose else args.realweb, realweb_split="test",
                    realweb_per_set=args.test_per_set, corpus=corpus, cache_dir=args.work / "gate",
                    seen_area=seen_area)
    inputs = prepare(sets)
    measured = [r for r in dev if _checked_page(r)] if args.choose else \
        [r for r in load([args.realweb], ("test",), args.test_per_set) if not r.is_svg]  # as gate.realweb_inputs
    if args.choose:
        ocr_cache = OcrCache(sets.cache_dir / "ocr.json", True)
        inputs["realweb"] = records_inputs(measured, ocr_cache, seen_area)
        ocr_cache.save()
    log.info("test split: %d images; corpus: %s", len(inputs["realweb"].contexts),
             len(inputs["corpus"].contexts) if "corpus" in inputs else "none")

    def measure(model_dir: Path, last: bool) -> dict:
        parts = inputs if last else {"realweb": inputs["realweb"]}
        return evaluate(model_dir, parts)

    earlier = _earlier(args)
    baseline = earlier.get("baseline") or measure(args.model, last=True)
    log.info("bundled model: %s", {k: baseline.get(f"realweb.{k}") for k in FIGURES})
    ocr = CachedOcr(args.work / "ocr-pixels.json")
    rows: list[Round] = [Round(**r) for r in earlier.get("rounds", [])]
    done = {(r.setup, r.seed) for r in rows}
    seeds = [int(s) for s in args.seeds.split(",") if s]
    training = {"device": args.device, "replay_corpus": args.corpus} | {
        k: v for k, v in (("learning_rate", args.learning_rate), ("epochs", args.epochs),
                          ("corpus_replay_ratio", args.corpus_replay_ratio)) if v is not None}
    for setup in setups(args):
        for seed in seeds:
            if (setup.name, seed) in done:
                log.info("%s seed %d: kept from %s", setup.name, seed, args.out / "results.json")
                continue
            rows += run_setup(setup, seed, pool, args.rounds, args.per_round, measure,
                              args.work / "runs" / f"{setup.name}-seed{seed}", args.model, ocr, training)
            _write(args, baseline, rows, started, clock, seeds, pool, measured, argv, training, earlier)
    log.info("done in %.0f s: %s", time.perf_counter() - clock, args.out / "report.md")
    return 0


def _earlier(args) -> dict:
    """With ``--resume``, the results of an earlier invocation on the same ``--out``: its finished runs are
    kept and only the others run (a long experiment cut short goes on where it stopped)."""
    path = args.out / "results.json"
    if not args.resume or not path.is_file():
        return {}
    earlier = json.loads(path.read_text())
    finished = {(r["setup"], r["seed"]) for r in earlier["rounds"] if r["round"] == args.rounds}
    earlier["rounds"] = [r for r in earlier["rounds"] if (r["setup"], r["seed"]) in finished]
    return earlier


def _write(args, baseline, rows, started, clock, seeds, pool, measured, argv, training, earlier) -> None:
    """Results so far (each finished run is kept, so a long experiment cut short still reports)."""
    import platform
    import os

    command = "python -m eval_harness.feedback_loop " + " ".join(argv if argv is not None else sys.argv[1:])
    before = earlier.get("meta", {})
    meta = {"command": "; then ".join(before.get("command", "").split("; then ") + [command]).removeprefix("; then "),
            "started": before.get("started", started),
            "seconds": before.get("seconds", 0.0) + time.perf_counter() - clock,
            "machine": f"{os.cpu_count()} CPUs, {platform.machine()}", "seeds": seeds, "pool": len(pool),
            "per_round": args.per_round, "rounds": args.rounds, "training": {k: str(v) for k, v in training.items()},
            "measured_on": "a third of the dev pages (--choose)" if args.choose else "the real-web `test` split", "test_images": len(measured),
            "test_informative": sum(not r.decorative for r in measured),
            "test_decorative": sum(r.decorative for r in measured)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(
        {"meta": meta, "baseline": baseline, "rounds": [asdict(r) for r in rows]}, indent=1))
    (args.out / "report.md").write_text(report(baseline, rows, meta))


if __name__ == "__main__":
    sys.exit(main())
