"""The periodic retraining job: user feedback → MCM-DPO → gate → ONNX → atomic publish.

``python trainer/retrain.py [--dry-run] [--min-new-pairs N] [--device cpu] [--every SECONDS]``

One run:

1. takes a run lock beside the model registry (a second run at once exits
   with status 3 and touches nothing);
2. reads the preference pairs added since the last run that published, plus a
   replay sample of older ones, from the backend database (``DATABASE_URL``,
   read as the backend reads it); pairs are split train / held-out by a hash of
   their content, so a pair is held out in every run or in none; as many pairs
   of the generated corpus the model was built on are replayed with them, so
   that real-web feedback does not make it forget what it could read;
3. fine-tunes the served model's PyTorch checkpoint (``<version>/pytorch/``)
   with MCM-DPO as that checkpoint was trained (its facets, negatives and NLL
   anchor; or plain DPO, ``--objective dpo``) in a private work directory;
4. scores candidate and current model on the held-out pairs (or
   ``--eval-data``): worse by the ``--gate`` rule and the candidate is refused;
5. exports to ONNX (trainer/export.py checks parity with PyTorch) and gates
   the export against the served model as users would get them
   (``trainer/gate.py``): the real-web ``dev`` split (grounded, ungrounded,
   hidden, decorative right) and the generated corpus's held-out split (exact
   match per category, decorative, CIDEr, BLEU-4); any figure worse beyond its
   tolerance (``trainer.gate.TOLERANCES``) and the candidate is refused;
6. puts the checkpoint in the exported directory's ``pytorch/`` so the next
   run can start from it, and publishes through ``ModelRegistry.publish`` (copy
   to a hidden staging directory, smoke test, rename, swap ``CURRENT``);
7. writes one ``RetrainRun`` row (and a ``ModelVersion`` row when it published),
   with every gated figure before and after and the gate's reasons.

Nothing partial is visible: until step 5 everything happens in the work
directory, and the database is written once, at the end, in one transaction.
SIGTERM/SIGINT are held back during the final publish-and-record section, so
a polite kill can only land before it (nothing changed) or after it (all
done). A SIGKILL inside that section, a window of milliseconds, can leave a
published version without its ``ModelVersion`` row; the next run records it.

Each stage logs ``stage: <name>`` when it begins: ``select``, ``train``,
``gate``, ``export``, ``publish`` (logged inside ``ModelRegistry.publish``, once
the new version is copied in, checked and renamed, just before ``CURRENT`` is
swapped) and ``record`` (inside the database transaction, its rows written but
not committed). For tests only: with ``ALTLENS_RETRAIN_HOLD_AT=<name>`` the run
writes its pid to the file ``ALTLENS_RETRAIN_HOLD_FILE`` names when it reaches
that stage and sleeps there, so a test can kill it at exactly that point
(tests/trainer/test_retrain_kills.py).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `python trainer/retrain.py` from anywhere

import argparse
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import random
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from backend.config import Config
from backend.db import Database
from backend.kinds import KINDS_FILE
from backend.modelinput import PageContext
from backend.models import ModelVersion, PreferencePair, RetrainRun
from backend.registry import ModelRegistry
from trainer.data import PreferenceExample, load_examples

log = logging.getLogger("trainer.retrain")

CHECKPOINT_SUBDIR = "pytorch"
EXIT_OK, EXIT_FAILED, EXIT_BUSY = 0, 1, 3
GATES = ("accuracy", "margin", "both")
GATE_SETS = ("realweb", "corpus")
REPO = Path(__file__).resolve().parents[1]
HOLD_AT, HOLD_FILE = "ALTLENS_RETRAIN_HOLD_AT", "ALTLENS_RETRAIN_HOLD_FILE"


@dataclass
class RetrainSettings:
    """Everything one run needs; the CLI flags map onto these fields.

    min_new_pairs (20): fewer new training pairs than this and the run skips.
    replay_ratio (1.0): older pairs replayed, as a multiple of the new ones
        (keeps the model from forgetting what earlier feedback taught it).
    corpus_replay_ratio (1.0) / replay_corpus: pairs of the generated corpus the
        model was built on (``replay_corpus``, default var/model-build/corpus, the
        folder ``make model`` writes, with its OCR cache) replayed, as a multiple
        of the feedback pairs trained on: without them a round of real-web
        feedback makes the model forget the images of text, icons and charts it
        could read (eval_harness/results/LOG.md, 2026-12-07). A missing corpus is
        skipped with a warning.
    holdout_percent (20): share of pairs (by content hash) kept for the gate.
    gate ("both"): "accuracy", "margin" or "both" must be at least the current
        model's minus ``gate_tolerance`` (0: the candidate must not be worse).
    gate_sets ("realweb", "corpus"): the users' figures gated after export
        (trainer/gate.py); a set whose data is missing is left out with a warning.
    gate_realweb / gate_corpus: where those sets are (default ../shared/data/realweb
        and var/model-build/corpus, the folder ``make model`` writes);
        gate_realweb_per_set: a seeded sample per set instead of the whole dev split;
        gate_ocr (True): read the images' text as the backend does (cached in work_dir/gate).
    objective ("mcm_dpo"): "mcm_dpo" (the facets, negatives, beta and NLL anchor the
        served checkpoint was trained with, read from its altlens_training.json) or
        "dpo" (response only), as trainer.config.TrainConfig names them.
    facets ("served"): MCM-DPO's facet weights: "served", those of the checkpoint's own
        preference stage; "paper", all seven at the paper's weights (the context
        facets' negatives are then other feedback pairs' page contexts).
    label_smoothing (0.0): assumed share of flipped preference labels (cDPO), for
        feedback known to be noisy.
    learning_rate (1e-5), epochs (2), batch_size (8), max_steps (None): MCM-DPO
        settings for a small captioner (the paper's 5e-7 is for a 7B model).
    """

    database_url: str
    models_dir: Path
    work_dir: Path
    min_new_pairs: int = 20
    replay_ratio: float = 1.0
    corpus_replay_ratio: float = 1.0
    replay_corpus: Path | None = None
    holdout_percent: int = 20
    eval_data: Path | None = None
    gate: str = "both"
    gate_tolerance: float = 0.0
    gate_sets: tuple[str, ...] = GATE_SETS
    gate_realweb: Path | None = None
    gate_corpus: Path | None = None
    gate_realweb_per_set: int | None = None
    gate_ocr: bool = True
    objective: str = "mcm_dpo"
    facets: str = "served"
    label_smoothing: float = 0.0
    learning_rate: float = 1e-5
    epochs: int = 2
    batch_size: int = 8
    max_steps: int | None = None
    device: str = "auto"
    seed: int = 0
    dry_run: bool = False
    keep_work: bool = False


@dataclass
class RunOutcome:
    decision: str
    published_version: str | None = None
    counts: dict = field(default_factory=dict)
    metrics_before: dict = field(default_factory=dict)
    metrics_after: dict = field(default_factory=dict)


class Busy(RuntimeError):
    """Another retraining run holds the lock."""


@contextlib.contextmanager
def run_lock(models_dir: Path) -> Iterator[None]:
    """One retraining run at a time per registry (non-blocking: a second run is told, not queued).

    A separate lock from the registry's publish lock, which ``ModelRegistry.publish``
    takes itself (flock locks are per open file, so holding that one here would
    make our own publish wait for ever).
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / ".retrain.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"another retraining run holds {models_dir / '.retrain.lock'}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold back SIGTERM/SIGINT/SIGHUP (delivered on exit) around a must-not-be-split section."""
    held = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def stage(name: str) -> None:
    """Log that stage ``name`` begins, and hold there if a test asked to (see the module docstring)."""
    log.info("stage: %s", name)
    if os.environ.get(HOLD_AT) == name:
        Path(os.environ[HOLD_FILE]).write_text(str(os.getpid()))
        while True:
            time.sleep(3600)


# --------------------------------------------------------------------------- data


def held_out(pair: PreferencePair, percent: int) -> bool:
    """Stable split by content: the same pair is on the same side in every run."""
    return int(hashlib.sha256(pair.pair_key.encode()).hexdigest(), 16) % 100 < percent


def to_example(pair: PreferencePair) -> PreferenceExample | None:
    """A stored pair as a training example (None when its image was purged by retention)."""
    if pair.image is None or pair.image.data is None:
        return None
    return PreferenceExample(
        context=PageContext.from_mapping(pair.context.data if pair.context else {}),
        chosen=pair.chosen,
        rejected=pair.rejected,
        chosen_decorative=pair.chosen == "",
        rejected_decorative=pair.rejected == "",
        image_bytes=pair.image.data,
        ocr_text=pair.generation.ocr_text if pair.generation else "",
        weight=pair.weight,
        source=f"preference_pairs:{pair.id}",
        meta={"pair_id": pair.id, "client_id": pair.client_id, "feedback_id": pair.feedback_id, "kind": pair.kind},
    )


def last_published_pair_id(session: Session) -> int:
    """The newest pair id a published run had seen (0 before the first)."""
    runs = session.scalars(select(RetrainRun).where(RetrainRun.published_version.is_not(None))
                           .order_by(RetrainRun.id.desc())).all()
    for run in runs:
        if "max_pair_id" in (run.counts or {}):
            return int(run.counts["max_pair_id"])
    return 0


@dataclass
class Selection:
    train: list[PreferenceExample]
    heldout: list[PreferenceExample]
    counts: dict


def select_pairs(session: Session, s: RetrainSettings) -> Selection:
    """New pairs since the last published run, a replay sample of older ones, and the held-out set."""
    since = last_published_pair_id(session)
    pairs = session.scalars(select(PreferencePair).order_by(PreferencePair.id).options(
        selectinload(PreferencePair.image), selectinload(PreferencePair.context),
        selectinload(PreferencePair.generation))).all()
    usable = [(p, e) for p in pairs if (e := to_example(p)) is not None]
    train_side = [(p, e) for p, e in usable if not held_out(p, s.holdout_percent)]
    new = [e for p, e in train_side if p.id > since]
    old = [e for p, e in train_side if p.id <= since]
    replay = random.Random(s.seed).sample(old, min(len(old), int(len(new) * s.replay_ratio)))
    if s.eval_data is not None:
        heldout = load_examples(s.eval_data).examples
    else:
        heldout = [e for p, e in usable if held_out(p, s.holdout_percent)]
    counts = {"pairs_total": len(pairs), "purged": len(pairs) - len(usable), "new_pairs": len(new),
              "replay_pairs": len(replay), "heldout_pairs": len(heldout), "since_pair_id": since,
              "max_pair_id": max((p.id for p in pairs), default=since)}
    return Selection(train=new + replay, heldout=heldout, counts=counts)


RECIPE_FIELDS = ("facet_weights", "beta", "norm", "rpo_alpha", "only_wrong_negatives", "corruption",
                 "diffusion_step", "diffusion_steps", "partners")


def recipe_of(checkpoint: Path, facets: str = "served") -> dict:
    """How the served checkpoint's preference stage was trained (its altlens_training.json), so that a
    round of feedback goes on with the same facets, negatives, beta and NLL anchor; {} when unknown
    (TrainConfig's defaults, the paper's). ``facets="paper"``: all seven facets at the paper's weights."""
    from trainer.losses import FacetWeights

    path = checkpoint / "altlens_training.json"
    config = json.loads(path.read_text()).get("config", {}) if path.is_file() else {}
    recipe = {k: config[k] for k in RECIPE_FIELDS if k in config} if config.get("objective") != "sft" else {}
    if isinstance(recipe.get("facet_weights"), dict):
        recipe["facet_weights"] = FacetWeights(**recipe["facet_weights"])
    if facets == "paper":
        recipe["facet_weights"] = FacetWeights()
    return recipe


def corpus_replay(s: RetrainSettings, feedback_pairs: int) -> list[PreferenceExample]:
    """A seeded sample of the generated corpus's training pairs (see ``corpus_replay_ratio``), with the
    OCR text the backend read for each image and the pointers the bundled recipe uses."""
    corpus = s.replay_corpus or REPO / "var" / "model-build" / "corpus"
    wanted = int(feedback_pairs * s.corpus_replay_ratio)
    if wanted <= 0:
        return []
    if not (corpus / "train.jsonl").is_file() or not (corpus / "ocr.json").is_file():
        log.warning("no corpus with its OCR cache at %s (make model writes it): no corpus replayed; the "
                    "model may forget what it could read", corpus)
        return []
    from trainer.default_model import BUNDLED_RECIPE, load_split, ocr_texts, pointing

    examples = pointing(load_split(corpus, "train", ocr_texts(corpus, cached_only=True)), BUNDLED_RECIPE)
    return random.Random(s.seed).sample(examples, min(wanted, len(examples)))


# --------------------------------------------------------------------------- gate


def passes_gate(before: dict, after: dict, gate: str, tolerance: float) -> bool:
    """Not worse than the current model by the chosen metric(s), within ``tolerance``."""
    metrics = ("accuracy", "margin") if gate == "both" else (gate,)
    return all(after[m] >= before[m] - tolerance for m in metrics)


# --------------------------------------------------------------------------- run


def run_once(s: RetrainSettings) -> RunOutcome:
    """One retraining run (see module docstring). Raises :class:`Busy` if another run holds the lock."""
    registry = ModelRegistry(s.models_dir)
    db = Database(s.database_url)
    try:
        with run_lock(s.models_dir):
            outcome = _run_locked(s, registry, db)
    finally:
        db.dispose()
    return outcome


def _run_locked(s: RetrainSettings, registry: ModelRegistry, db: Database) -> RunOutcome:
    started = datetime.now(timezone.utc)
    current = registry.current_version_name()
    stage("select")
    with db.session() as session:
        selection = select_pairs(session, s)
    counts = dict(selection.counts, base_version=current)
    log.info("data: %s", json.dumps(counts))

    checkpoint = registry.root / current / CHECKPOINT_SUBDIR if current else None
    outcome = RunOutcome(decision="", counts=counts)
    if checkpoint is None or not checkpoint.is_dir():
        outcome.decision = f"skipped: served model {current} has no PyTorch checkpoint ({CHECKPOINT_SUBDIR}/)"
    elif selection.counts["new_pairs"] < s.min_new_pairs:
        outcome.decision = f"skipped: {selection.counts['new_pairs']} new pairs < --min-new-pairs {s.min_new_pairs}"
    elif len(selection.heldout) < 2 or len(selection.train) < 2:
        outcome.decision = "skipped: need at least 2 training and 2 held-out pairs"
    if outcome.decision or s.dry_run:
        outcome.decision = outcome.decision or "dry run: would train and evaluate"
        log.info("%s", outcome.decision)
        if not s.dry_run:
            _record(db, registry, outcome, started)
        return outcome

    s.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=s.work_dir))
    try:
        return _train_and_publish(s, registry, db, selection, checkpoint, outcome, work, started)
    finally:
        if not s.keep_work:
            shutil.rmtree(work, ignore_errors=True)


def _train_and_publish(s, registry, db, selection, checkpoint, outcome, work, started) -> RunOutcome:
    from trainer.config import TrainConfig
    from trainer.export import export_onnx
    from trainer.train import score_preferences, train

    rehearsal = corpus_replay(s, len(selection.train))
    outcome.counts["corpus_replay_pairs"] = len(rehearsal)
    training = selection.train + rehearsal
    cfg = TrainConfig(**recipe_of(checkpoint, s.facets), objective=s.objective, label_smoothing=s.label_smoothing,
                      model_name_or_path=str(checkpoint), checkpoint_dir=str(work / "train"),
                      learning_rate=s.learning_rate, epochs=s.epochs, batch_size=min(s.batch_size, len(training)),
                      device=s.device, seed=s.seed)
    stage("train")
    result = train(cfg, training, max_steps=s.max_steps, progress=sys.stderr.isatty())
    device = str(cfg.resolved_device())
    stage("gate")
    outcome.metrics_before = score_preferences(checkpoint, selection.heldout, device=device)
    outcome.metrics_after = score_preferences(result.model_dir, selection.heldout, device=device)
    outcome.metrics_after["train_last_step"] = result.metrics[-1] if result.metrics else {}
    log.info("held-out before %s after %s", outcome.metrics_before, outcome.metrics_after)
    if not passes_gate(outcome.metrics_before, outcome.metrics_after, s.gate, s.gate_tolerance):
        outcome.decision = f"rejected: candidate worse than {outcome.counts['base_version']} by gate '{s.gate}'"
        log.info("%s", outcome.decision)
        _record(db, registry, outcome, started)
        return outcome

    stage("export")
    package = work / "package"
    export_onnx(result.model_dir, package, {
        "trained": True, "base_version": outcome.counts["base_version"], **_known_world_of(registry),
        "note": f"{s.objective} on {outcome.counts['new_pairs']} new + {outcome.counts['replay_pairs']} replayed pairs"})
    _carry_kinds(registry, package)
    if not _users_gate(s, registry, package, outcome):
        _record(db, registry, outcome, started)
        return outcome
    shutil.copytree(result.model_dir, package / CHECKPOINT_SUBDIR)
    with signals_deferred():
        outcome.published_version = registry.publish(package, before_swap=lambda: stage("publish"))
        outcome.decision = f"published {outcome.published_version}"
        _record(db, registry, outcome, started)
    log.info("%s", outcome.decision)
    return outcome


def _users_gate(s: RetrainSettings, registry: ModelRegistry, package: Path, outcome: RunOutcome) -> bool:
    """The exported candidate against the served model on what users get (trainer/gate.py); the figures
    and the reasons go into the run's record either way."""
    from trainer.gate import default_sets, run_gate

    seen_area = _known_world_of(registry).get("known_world", {}).get("seen_area")
    sets = default_sets(REPO, s.work_dir / "gate", s.gate_realweb, s.gate_corpus, s.gate_sets, seen_area)
    sets = dataclasses.replace(sets, realweb_per_set=s.gate_realweb_per_set, ocr=s.gate_ocr)
    if sets.realweb is None and sets.corpus is None:
        outcome.metrics_after["gate"] = {"sets": [], "reasons": "no users' set available"}
        return True
    current = outcome.counts["base_version"]
    before, after, decision, seconds = run_gate(registry.root / current, current, package, sets)
    outcome.metrics_before.update(before)
    outcome.metrics_after.update(after)
    outcome.metrics_after["gate"] = {"sets": [n for n in ("realweb", "corpus") if getattr(sets, n)],
                                     "seconds": round(seconds, 1), "reasons": decision.summary()}
    log.info("users' gate (%.0f s): %s", seconds, decision.summary())
    if not decision.passed:
        outcome.decision = f"rejected: candidate worse than {current} for users: {decision.summary()}"
        log.info("%s", outcome.decision)
    return decision.passed


def _carry_kinds(registry: ModelRegistry, package: Path) -> None:
    """The served model's kind recogniser (backend/kinds.py) goes with the candidate: it reads pixels, not
    the captioning model, so feedback pairs do not change it."""
    current = registry.current_version_name()
    source = Path(registry.root) / current / KINDS_FILE if current else None
    if source is not None and source.is_file():
        shutil.copy2(source, package / KINDS_FILE)


def _known_world_of(registry: ModelRegistry) -> dict:
    """The served model's known world (backend/support.py), carried to the candidate: fine-tuning on
    feedback pairs teaches answers for real pages, which the page and the image's text must support."""
    current = registry.current_version_name()
    info_path = Path(registry.root) / current / "altlens.json" if current else None
    if info_path is None or not info_path.is_file():
        return {}
    info = json.loads(info_path.read_text())
    return {"known_world": info["known_world"]} if "known_world" in info else {}


def _record(db: Database, registry: ModelRegistry, outcome: RunOutcome, started: datetime) -> None:
    """The run's one database write: its RetrainRun row and ModelVersion rows, in one transaction."""
    with db.session() as session, session.begin():
        _record_unknown_versions(session, registry, {outcome.published_version: outcome.metrics_after})
        session.add(RetrainRun(started_at=started, finished_at=datetime.now(timezone.utc), counts=outcome.counts,
                               metrics_before=outcome.metrics_before, metrics_after=outcome.metrics_after,
                               decision=outcome.decision[:200], published_version=outcome.published_version))
        session.flush()  # the rows are written, not committed: the "record" stage point
        stage("record")


def _record_unknown_versions(session: Session, registry: ModelRegistry, metrics: dict) -> None:
    """A ModelVersion row for every published version lacking one: this run's, or one cut short."""
    known = set(session.scalars(select(ModelVersion.version)).all())
    for version in registry.versions():
        if version not in known:
            session.add(ModelVersion(version=version, path=str(registry.root / version), metrics=metrics.get(version, {})))


# --------------------------------------------------------------------------- CLI


def _gate_sets(value: str) -> tuple[str, ...]:
    names = tuple(n for n in value.split(",") if n)
    unknown = set(names) - set(GATE_SETS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown gate set(s) {sorted(unknown)}; choose from {GATE_SETS}")
    return names


def parse_args(argv: Sequence[str] | None = None) -> tuple[RetrainSettings, float]:
    config = Config.from_env()
    defaults = RetrainSettings(database_url=config.database_url, models_dir=Path(config.models_dir),
                               work_dir=Path(config.models_dir).parent / "retrain")
    p = argparse.ArgumentParser(prog="python trainer/retrain.py", description=__doc__.splitlines()[0])
    p.add_argument("--database-url", default=defaults.database_url, help="default: DATABASE_URL, as the backend")
    p.add_argument("--models-dir", type=Path, default=defaults.models_dir, help="default: ALTLENS_MODELS_DIR")
    p.add_argument("--work-dir", type=Path, default=defaults.work_dir)
    p.add_argument("--min-new-pairs", type=int, default=defaults.min_new_pairs)
    p.add_argument("--replay-ratio", type=float, default=defaults.replay_ratio)
    p.add_argument("--corpus-replay-ratio", type=float, default=defaults.corpus_replay_ratio,
                   help="corpus pairs replayed per feedback pair trained on (0: none)")
    p.add_argument("--replay-corpus", type=Path, default=None,
                   help="the corpus folder replayed, with its ocr.json (default var/model-build/corpus)")
    p.add_argument("--holdout-percent", type=int, default=defaults.holdout_percent)
    p.add_argument("--eval-data", type=Path, default=None, help="a fixed held-out file instead of held-out pairs")
    p.add_argument("--gate", choices=GATES, default=defaults.gate)
    p.add_argument("--gate-tolerance", type=float, default=defaults.gate_tolerance)
    p.add_argument("--gate-sets", type=_gate_sets, default=defaults.gate_sets,
                   help=f"comma-separated users' sets gated after export, of {','.join(GATE_SETS)} ('' for none)")
    p.add_argument("--gate-realweb", type=Path, default=None, help="real-web data (default ../shared/data/realweb)")
    p.add_argument("--gate-corpus", type=Path, default=None,
                   help="a corpus folder with test.jsonl (default var/model-build/corpus)")
    p.add_argument("--gate-realweb-per-set", type=int, default=None, help="a seeded sample per real-web set")
    p.add_argument("--gate-no-ocr", dest="gate_ocr", action="store_false", help="gate without reading text in images")
    p.add_argument("--objective", choices=("mcm_dpo", "dpo"), default=defaults.objective)
    p.add_argument("--facets", choices=("served", "paper"), default=defaults.facets,
                   help="MCM-DPO facet weights: the served checkpoint's, or all seven at the paper's")
    p.add_argument("--label-smoothing", type=float, default=defaults.label_smoothing,
                   help="assumed share of flipped preference labels (cDPO), in [0, 0.5)")
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--device", default=defaults.device, help="auto (CUDA if available), cpu, cuda, cuda:1 ...")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--dry-run", action="store_true", help="report what would be trained; change nothing")
    p.add_argument("--keep-work", action="store_true", help="keep the work directory (checkpoints, metrics)")
    p.add_argument("--every", type=float, default=0.0, help="run again every this many seconds (0: once)")
    args = vars(p.parse_args(argv))
    every = args.pop("every")
    return RetrainSettings(**args), every


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings, every = parse_args(argv)
    while True:
        try:
            outcome = run_once(settings)
            print(json.dumps({"decision": outcome.decision, "published_version": outcome.published_version,
                              "counts": outcome.counts}))
            status = EXIT_OK
        except Busy as exc:
            log.warning("%s", exc)
            status = EXIT_BUSY
        except Exception:
            log.exception("retraining run failed; the served model and the database are unchanged")
            status = EXIT_FAILED
        if not every:
            return status
        time.sleep(every)


if __name__ == "__main__":
    sys.exit(main())
