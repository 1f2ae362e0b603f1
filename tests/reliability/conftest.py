"""Fixtures for the reliability tests: apps on the tiny real model, PostgreSQL schemas, tokens.

Live processes (gunicorn) come from bench/loadtest.py, so the load test and the
fault tests start the backend the same way.
"""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from backend import create_app
from backend.db import Database
from backend.state import EXTENSION_KEY

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
    schema = "altlens_rel_" + uuid.uuid4().hex[:12]
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    try:
        database = Database(url)
        database.upgrade()
        database.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
