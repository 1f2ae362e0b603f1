"""``python trainer/retrain.py`` SIGKILLed in each stage publishes nothing and writes nothing half-way.

SIGTERM is held back where it matters (tests/trainer/test_retrain.py); SIGKILL
cannot be, so these runs are stopped exactly at a stage with retrain.py's test
hook (``ALTLENS_RETRAIN_HOLD_AT``: the run writes a file and sleeps there) and
killed. Afterwards the served model, its files, the registry's list of versions
and the database must be as before, the run lock free, and the next run must
publish exactly one new version. The one known window, a kill after the
``CURRENT`` swap but before the database commit, is tested for what retrain.py
documents: the version stays published and the next run records it.
"""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from backend.db import Database
from backend.models import Context, Feedback, Generation, ModelVersion, PreferencePair, RetrainRun
from backend.models import Image as StoredImage
from backend.registry import UNPUBLISHED, ModelRegistry

REPO = Path(__file__).resolve().parents[2]
RETRAIN = REPO / "trainer" / "retrain.py"
STAGES = ["select", "train", "gate", "export", "publish", "record"]  # in the order a run reaches them
PAIRS = 12  # with --holdout-percent 40: enough for training and for the gate's held-out set
TEXTS = ["shopping cart", "search", "next page", "bar chart of sales", "add to cart", "a red bicycle"]


def seed_pairs(url: str, count: int) -> None:
    """``count`` preference pairs with their images, contexts, generations and feedback, written directly."""
    db = Database(url)
    rng = np.random.default_rng(0)
    try:
        with db.session() as session, session.begin():
            for i in range(count):
                buffer = io.BytesIO()
                Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(buffer, "PNG")
                data = buffer.getvalue()
                image = StoredImage(sha256=hashlib.sha256(data).hexdigest(), data=data, size=len(data),
                                    content_type="image/png", width=24, height=24)
                context = Context(sha256=hashlib.sha256(f"context {i}".encode()).hexdigest(),
                                  data={"surrounding_text": f"item {i}"})
                rejected, chosen = TEXTS[i % len(TEXTS)], f"{TEXTS[(i + 1) % len(TEXTS)]} number {i}"
                generation = Generation(image=image, context=context, description=rejected, decorative=False,
                                        confidence=0.5, low_confidence=False, model_version="v0001")
                session.add(generation)
                session.flush()
                feedback = Feedback(generation_id=generation.id, kind="correct", payload={"text": chosen},
                                    dedup_key=f"feedback {i}")
                session.add(feedback)
                session.flush()
                session.add(PreferencePair(generation_id=generation.id, feedback_id=feedback.id, image_id=image.id,
                                           image_sha256=image.sha256, context_id=context.id, chosen=chosen,
                                           rejected=rejected, weight=1.0, kind="correct", pair_key=f"pair {i}"))
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def template(tiny_onnx, tiny_checkpoint, tmp_path_factory) -> Path:
    """Built once per module: ``models/`` serving v0001 with its PyTorch checkpoint, and ``altlens.db`` with pairs."""
    root = tmp_path_factory.mktemp("retrain-kills")
    package = root / "package"
    shutil.copytree(tiny_onnx, package)
    shutil.copytree(tiny_checkpoint, package / "pytorch")
    ModelRegistry(root / "models").publish(package)
    url = f"sqlite:///{root / 'altlens.db'}"
    db = Database(url)
    db.upgrade()
    db.dispose()
    seed_pairs(url, PAIRS)
    return root


@pytest.fixture
def site(template, tmp_path):
    """A private copy of the template: (models dir, database URL)."""
    shutil.copytree(template / "models", tmp_path / "models")
    shutil.copy(template / "altlens.db", tmp_path / "altlens.db")
    return tmp_path / "models", f"sqlite:///{tmp_path / 'altlens.db'}"


def start_retrain(models: Path, url: str, tmp_path: Path, name: str, *args: str, env: dict | None = None):
    """Start retrain.py (1 epoch, at most 2 steps, a gate it passes); its output goes to ``<name>.log``."""
    environment = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", **(env or {}))
    environment.pop("PYTHONPATH", None)  # the script must find the repository by itself
    command = [sys.executable, str(RETRAIN), "--database-url", url, "--models-dir", str(models),
               "--work-dir", str(tmp_path / "work"), "--device", "cpu", "--epochs", "1", "--max-steps", "2",
               "--batch-size", "4", "--min-new-pairs", "2", "--holdout-percent", "40", "--gate-tolerance", "1000",
               "--gate-sets=",  # the users' gate (tests/trainer/test_gate.py) reads no more of the run's state
               "--corpus-replay-ratio=0",
               *args]
    log = open(tmp_path / f"{name}.log", "w")  # a file, not a pipe: nobody reads while it runs
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return process


def kill_at(stage: str, models: Path, url: str, tmp_path: Path) -> str:
    """Run retrain.py until it holds at ``stage``, SIGKILL it there; return its log."""
    hold_file = tmp_path / f"holding-{stage}"
    process = start_retrain(models, url, tmp_path, f"killed-{stage}",
                            env={"ALTLENS_RETRAIN_HOLD_AT": stage, "ALTLENS_RETRAIN_HOLD_FILE": str(hold_file)})
    deadline = time.monotonic() + 400
    while not (hold_file.exists() and hold_file.read_text()):  # written once it holds there
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            pytest.fail(f"retrain.py never reached stage {stage}:\n"
                        + (tmp_path / f"killed-{stage}.log").read_text()[-3000:])
        time.sleep(0.1)
    assert hold_file.read_text() == str(process.pid)
    process.kill()
    assert process.wait(timeout=60) == -9
    return (tmp_path / f"killed-{stage}.log").read_text()


def run_retrain(models: Path, url: str, tmp_path: Path, name: str, *args: str) -> str:
    process = start_retrain(models, url, tmp_path, name, *args)
    code = process.wait(timeout=600)
    log = (tmp_path / f"{name}.log").read_text()
    assert code == 0, log[-3000:]
    return log


def tree_digest(path: Path) -> dict[str, str]:
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(path.rglob("*")) if f.is_file()}


def rows(url: str) -> tuple[list[RetrainRun], list[ModelVersion]]:
    db = Database(url)
    try:
        with db.session() as session:
            return (list(session.scalars(select(RetrainRun).order_by(RetrainRun.id))),
                    list(session.scalars(select(ModelVersion).order_by(ModelVersion.version))))
    finally:
        db.dispose()


def stages_logged(log: str) -> list[str]:
    return [line.split("stage: ", 1)[1].strip() for line in log.splitlines() if "stage: " in line]


def assert_lock_free(models: Path) -> None:
    from trainer.retrain import run_lock

    with run_lock(models):  # raises Busy if the killed run still held it
        pass


@pytest.mark.parametrize("stage", ["train", "gate", "export", "publish"])
def test_kill_before_the_swap_changes_nothing(stage, site, tmp_path):
    models, url = site
    registry = ModelRegistry(models)
    served_files = tree_digest(models / "v0001")

    log = kill_at(stage, models, url, tmp_path)
    assert stages_logged(log) == STAGES[:STAGES.index(stage) + 1]
    assert registry.current_version_name() == "v0001"
    assert tree_digest(models / "v0001") == served_files
    assert registry.versions() == ["v0001"]
    leftovers = [p for p in models.iterdir() if not p.name.startswith(".") and p.name not in ("v0001", "CURRENT")]
    if stage == "publish":  # killed between the rename and the swap: in place, but marked and not a version
        assert [p.name for p in leftovers] == ["v0002"] and (models / "v0002" / UNPUBLISHED).is_file()
    else:
        assert leftovers == []
    assert rows(url) == ([], [])
    assert_lock_free(models)

    log = run_retrain(models, url, tmp_path, "next")
    assert "published v0002" in log
    assert registry.current_version_name() == "v0002" and registry.versions() == ["v0001", "v0002"]
    assert tree_digest(models / "v0001") == served_files
    assert not (models / "v0002" / UNPUBLISHED).exists()
    assert not list(models.glob(".staging-*"))
    runs, versions = rows(url)
    assert [(r.decision, r.published_version) for r in runs] == [("published v0002", "v0002")]
    assert [v.version for v in versions] == ["v0001", "v0002"]


def test_kill_after_the_swap_leaves_the_version_published_and_the_next_run_records_it(site, tmp_path):
    models, url = site
    registry = ModelRegistry(models)
    served_files = tree_digest(models / "v0001")

    log = kill_at("record", models, url, tmp_path)
    assert stages_logged(log) == STAGES
    assert registry.current_version_name() == "v0002" and registry.versions() == ["v0001", "v0002"]
    assert tree_digest(models / "v0001") == served_files
    assert (models / "v0002" / "pytorch" / "config.json").is_file()
    assert rows(url) == ([], [])  # the rows were written, not committed: none survives the kill
    assert_lock_free(models)

    log = run_retrain(models, url, tmp_path, "next", "--min-new-pairs", "1000")  # a run that only records
    assert "skipped:" in log
    assert registry.current_version_name() == "v0002" and registry.versions() == ["v0001", "v0002"]
    runs, versions = rows(url)
    assert [r.published_version for r in runs] == [None]
    assert [v.version for v in versions] == ["v0001", "v0002"]
    assert versions[1].path == str(models / "v0002")
