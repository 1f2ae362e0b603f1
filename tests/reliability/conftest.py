"""Fixtures for the reliability tests: apps on the tiny real model, PostgreSQL schemas, tokens.

Live processes (gunicorn) come from bench/loadtest.py, so the load test and the
fault tests start the backend the same way.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from backend import create_app
from backend.state import EXTENSION_KEY
from backend.testing import postgres_schema

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_helpers import POSTGRES_URL


@pytest.fixture(scope="session")
def model_root(tiny_onnx, tmp_path_factory) -> Path:
    """A registry root serving the tiny model, shared by the test-client apps of this folder (read only)."""
    from backend.registry import ModelRegistry

    root = tmp_path_factory.mktemp("reliability-models")
    ModelRegistry(root).publish(tiny_onnx)
    return root


@pytest.fixture
def make_app(tmp_path, model_root):
    """Factory: a migrated app on SQLite in tmp_path (or ``database_url``) serving the tiny model, OCR off."""
    apps = []

    def factory(**overrides):
        config = {"database_url": f"sqlite:///{tmp_path / 'altlens.db'}", "models_dir": str(model_root),
                  "model_poll_s": 0, "ocr": "off", "testing": True}
        config.update(overrides)
        app = create_app(config)
        app.extensions[EXTENSION_KEY].db.upgrade()
        apps.append(app)
        return app

    yield factory
    for app in apps:
        app.extensions[EXTENSION_KEY].db.dispose()


@pytest.fixture
def pg_url():
    """A migrated PostgreSQL URL whose search_path is a schema made for this test alone (dropped afterwards)."""
    with postgres_schema(POSTGRES_URL, prefix="altlens_rel_") as url:
        yield url
