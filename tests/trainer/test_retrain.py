"""trainer/retrain.py end to end against a running backend.

Feedback through the HTTP API becomes preference pairs; a retraining run whose
candidate is worse on the held-out set publishes nothing; a run killed midway
publishes nothing and writes nothing; a good run publishes a new ONNX version
that the running backend then serves.
"""
from __future__ import annotations

import base64
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from backend.registry import ModelRegistry
from trainer.data import load_paper

REPO = Path(__file__).resolve().parents[2]
RETRAIN = REPO / "trainer" / "retrain.py"


@pytest.fixture
def tiny_model_root(tiny_onnx, tiny_checkpoint, tmp_path) -> Path:
    """A registry whose current version carries its PyTorch checkpoint in ``pytorch/`` (retrain starts there)."""
    package = tmp_path / "package"
    shutil.copytree(tiny_onnx, package)
    shutil.copytree(tiny_checkpoint, package / "pytorch")
    root = tmp_path / "models"
    ModelRegistry(root).publish(package)
    return root


def _image_b64(path: Path) -> str:
    buffer = io.BytesIO()
    with Image.open(path) as image:
        image.convert("RGB").resize((48, 48)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def make_pairs(backend, sample_dir: Path) -> list[dict]:
    """Describe the Twitter sample images, correct each description with the sample's chosen text.

    Returns the pairs this creates, *reversed* (the generated text preferred), in
    the backend-export format, as an evaluation set that a model trained on the
    real pairs must get worse on.
    """
    examples = load_paper(sample_dir / "twitter" / "twitter_train.json").examples
    headers = {"Authorization": f"Bearer {backend.token}"}
    items = [{"image": _image_b64(e.image_path), "context": {"surrounding_text": e.context.surrounding_text[:200]}}
             for e in examples]
    answer = requests.post(backend.url + "/api/v1/describe", json={"images": items}, headers=headers, timeout=120)
    assert answer.status_code == 200, answer.text
    created, reversed_pairs = 0, []
    for example, item, result in zip(examples, items, answer.json()["results"]):
        text = example.chosen[:120]
        reply = requests.post(backend.url + "/api/v1/feedback", headers=headers, timeout=30,
                              json={"generation_id": result["generation_id"], "kind": "correct", "text": text})
        assert reply.status_code == 201, reply.text
        created += reply.json()["pairs_created"]
        reversed_pairs.append({"image": item["image"], "context": item["context"], "chosen": result["description"],
                               "chosen_decorative": result["description"] == "", "rejected": text})
    assert created == len(examples)
    return reversed_pairs


def retrain(backend, tmp_path, *args: str, wait: bool = True):
    env = dict(os.environ, DATABASE_URL=backend.database_url, ALTLENS_MODELS_DIR=str(backend.models_dir),
               OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    env.pop("PYTHONPATH", None)  # the script must find the repository by itself
    command = [sys.executable, str(RETRAIN), "--work-dir", str(tmp_path / "work"), "--device", "cpu",
               "--min-new-pairs", "4", "--holdout-percent", "40", "--learning-rate", "1e-3", "--batch-size", "4",
               "--gate-sets=",  # the users' gate (real web, corpus) has its own test: tests/trainer/test_gate.py
               "--corpus-replay-ratio=0",  # corpus replay has its own test (test_gate.py): no var/ folder read here
               *args]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    if not wait:
        return process
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def runs(backend) -> list[dict]:
    from backend.db import Database
    from backend.models import RetrainRun

    db = Database(backend.database_url)
    try:
        with db.session() as session:
            return [{"decision": r.decision, "version": r.published_version, "counts": r.counts,
                     "before": r.metrics_before, "after": r.metrics_after}
                    for r in session.query(RetrainRun).order_by(RetrainRun.id)]
    finally:
        db.dispose()


def served_version(backend) -> str:
    return requests.get(backend.url + "/api/v1/model", timeout=10).json()["version"]


def test_feedback_to_published_model(live_backend, sample_dir, tmp_path):
    registry = ModelRegistry(live_backend.models_dir)
    assert registry.versions() == ["v0001"] and served_version(live_backend) == "v0001"
    reversed_pairs = make_pairs(live_backend, sample_dir)

    # 1. dry run: reports, changes nothing
    code, out, err = retrain(live_backend, tmp_path, "--dry-run")
    assert code == 0, err[-3000:]
    plan = json.loads(out.strip().splitlines()[-1])
    assert plan["decision"].startswith("dry run") and plan["counts"]["new_pairs"] >= 4
    assert plan["counts"]["heldout_pairs"] >= 2
    assert runs(live_backend) == []

    # 2. a candidate worse than the current model is not published: the gate's held-out set
    #    prefers the opposite of what the pairs teach (chosen and rejected swapped)
    reversed_eval = tmp_path / "reversed.jsonl"
    reversed_eval.write_text("".join(json.dumps(r) + "\n" for r in reversed_pairs))
    code, out, err = retrain(live_backend, tmp_path, "--eval-data", str(reversed_eval), "--epochs", "3")
    assert code == 0, err[-3000:]
    [rejected_run] = runs(live_backend)
    assert rejected_run["decision"].startswith("rejected") and rejected_run["version"] is None
    assert rejected_run["after"]["margin"] < rejected_run["before"]["margin"]
    assert registry.versions() == ["v0001"] and registry.current_version_name() == "v0001"

    # 3. a run killed midway (SIGTERM during training) publishes nothing and records nothing
    process = retrain(live_backend, tmp_path, "--epochs", "200", wait=False)
    deadline = time.time() + 120
    while not list((tmp_path / "work").glob("run-*/train/metrics.jsonl")):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.time() < deadline, "training never started"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    assert process.returncode != 0
    assert registry.versions() == ["v0001"] and registry.current_version_name() == "v0001"
    assert not list(live_backend.models_dir.glob(".staging-*"))
    assert len(runs(live_backend)) == 1

    # 4. a good run publishes v0002 (ONNX + its checkpoint, and the served model's kind recogniser), and the
    #    running backend serves it
    kinds = (Path(__file__).resolve().parents[2] / "models" / "bundled" / "kinds.json").read_text()
    (live_backend.models_dir / "v0001" / "kinds.json").write_text(kinds)
    code, out, err = retrain(live_backend, tmp_path, "--gate-tolerance", "1000", "--max-steps", "2")
    assert code == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])["published_version"] == "v0002"
    assert registry.current_version_name() == "v0002"
    assert (live_backend.models_dir / "v0002" / "pytorch" / "config.json").is_file()
    assert json.loads((live_backend.models_dir / "v0002" / "altlens.json").read_text())["trained"] is True
    assert (live_backend.models_dir / "v0002" / "kinds.json").read_text() == kinds
    published = runs(live_backend)[-1]
    assert published["version"] == "v0002" and published["decision"] == "published v0002"
    deadline = time.time() + 60
    while served_version(live_backend) != "v0002":
        assert time.time() < deadline, "backend never picked up v0002"
        time.sleep(0.5)

    # 5. nothing new since the published run: the next run skips
    code, out, err = retrain(live_backend, tmp_path)
    assert code == 0, err[-3000:]
    assert json.loads(out.strip().splitlines()[-1])["decision"].startswith("skipped: 0 new pairs")


def test_second_run_while_one_holds_the_lock_exits_busy(tiny_model_root, tmp_path):
    from trainer.retrain import Busy, run_lock

    with run_lock(tiny_model_root):
        with pytest.raises(Busy):
            with run_lock(tiny_model_root):
                pass
    with run_lock(tiny_model_root):  # released again
        pass
