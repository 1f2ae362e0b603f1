"""Fixtures shared by every test folder: tiny models and a live backend.

Nothing here downloads: models are built from configs with a tokenizer trained
on the spot (trainer/tiny.py) and exported with optimum, once per session.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TINY_TEXTS = ["shopping cart", "search", "next page", "bar chart of sales", "add to cart"]


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained PyTorch checkpoint (ViT + GPT-2, ~0.2M parameters)."""
    from trainer.tiny import build_model

    return build_model(tmp_path_factory.mktemp("tiny") / "checkpoint", texts=TINY_TEXTS, seed=0)


@pytest.fixture(scope="session")
def tiny_onnx(tiny_checkpoint, tmp_path_factory) -> Path:
    """The tiny checkpoint exported to ONNX and verified against PyTorch."""
    from trainer.export import export_onnx

    return export_onnx(tiny_checkpoint, tmp_path_factory.mktemp("tiny-onnx") / "model",
                       {"trained": False, "note": "tiny test model"})


@pytest.fixture
def tiny_model_root(tiny_onnx, tmp_path) -> Path:
    """A fresh registry root whose current version is the tiny model."""
    from backend.registry import ModelRegistry

    root = tmp_path / "models"
    ModelRegistry(root).publish(tiny_onnx)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveBackend:
    """The real backend in a subprocess on 127.0.0.1, with its own database and models."""

    models_dir: Path
    database_url: str
    port: int = field(default_factory=free_port)
    token: str = ""
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    extra_env: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = dict(os.environ, DATABASE_URL=self.database_url, ALTLENS_MODELS_DIR=str(self.models_dir),
                   ALTLENS_OCR="off", PYTHONPATH=str(REPO), **self.extra_env)
        return env

    def flask(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", *args], cwd=REPO,
                             env=self.env(), capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self) -> "LiveBackend":
        if self.process and self.process.poll() is None:
            return self
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "backend", "run", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-reload"],
            cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        import requests

        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"backend exited with {self.process.returncode}; log: {self.log_path}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise RuntimeError("backend did not become healthy in 60 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def live_backend(tiny_model_root, tmp_path):
    """A running backend (SQLite, tiny model, OCR off) and a token for it; stopped afterwards."""
    backend = LiveBackend(models_dir=tiny_model_root,
                          database_url=f"sqlite:///{tmp_path / 'altlens.db'}",
                          log_path=tmp_path / "backend.log")
    backend.flask("init-db")
    backend.token = backend.flask("tokens", "create", "e2e").strip().splitlines()[-1]
    backend.start()
    yield backend
    backend.stop()
