"""The serving process as `make run` starts it: ONNX Runtime, no PyTorch.

A worker that imports PyTorch only to tokenize holds about twice the memory and starts seconds
later (README "Performance"); these tests keep it from coming back unnoticed.
"""
from __future__ import annotations

import os
from pathlib import Path

import requests

from backend import serve
from backend.config import SERVING_ENV
from backend.testing import LiveBackend
from backend_helpers import b64, png_bytes


def loaded_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_a_serving_process_answers_without_loading_pytorch(tiny_model_root, tmp_path):
    backend = LiveBackend(models_dir=tiny_model_root, database_url=f"sqlite:///{tmp_path / 'altlens.db'}",
                          log_path=tmp_path / "backend.log").init("serving").start()
    try:
        answer = requests.post(backend.url + "/api/v1/describe", timeout=60,
                               headers={"Authorization": f"Bearer {backend.token}"},
                               json={"images": [{"image": b64(png_bytes((40, 30), (200, 10, 10)))}]})
        assert answer.status_code == 200 and len(answer.json()["results"]) == 1
        libraries = loaded_libraries(backend.process.pid)
        assert "onnxruntime" in libraries  # the model really ran in this process...
        assert "libtorch" not in libraries  # ...and PyTorch never loaded
    finally:
        backend.stop()


def test_make_run_starts_gunicorn_with_the_serving_environment(monkeypatch, tmp_path):
    started = {}

    def execv(path, args):
        started.update(args=args, env={k: os.environ.get(k) for k in SERVING_ENV})
        raise SystemExit(0)

    monkeypatch.setattr(serve, "flask_cli", lambda *args: "")
    monkeypatch.setattr(serve, "ensure_model", lambda models_dir: "model v0001")
    monkeypatch.setattr(serve, "local_token", lambda url: "alt_test")
    monkeypatch.setattr(serve, "REPO", tmp_path)
    monkeypatch.setattr(serve.os, "execv", execv)
    for key in SERVING_ENV:  # set, then removed: monkeypatch restores the caller's environment afterwards
        monkeypatch.setenv(key, "unset by the test")
        monkeypatch.delenv(key)
    try:
        serve.main()
    except SystemExit:
        pass
    assert "gunicorn" in started["args"]
    assert started["env"] == SERVING_ENV
