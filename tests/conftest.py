"""Fixtures shared by every test folder: tiny models and a live backend.

Nothing here downloads: models are built from configs with a tokenizer trained
on the spot (trainer/tiny.py) and exported with optimum, once per session.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.testing import LiveBackend, free_port  # noqa: E402,F401  (re-exported for the test folders)

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


@pytest.fixture
def live_backend(tiny_model_root, tmp_path):
    """A running backend (SQLite, tiny model, OCR off) and a token for it; stopped afterwards."""
    backend = LiveBackend(models_dir=tiny_model_root,
                          database_url=f"sqlite:///{tmp_path / 'altlens.db'}",
                          log_path=tmp_path / "backend.log")
    backend.init("e2e").start()
    yield backend
    backend.stop()
