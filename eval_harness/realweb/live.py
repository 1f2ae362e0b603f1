"""The backend both levels talk to: the real one, in a subprocess, with the model under test.

One process serves the backend level's requests and then the extension's, so
the OCR it already read for an image (cached by content in the process) is not
read again at the page level: the two levels cost little more than one.
"""
from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Iterator

from backend.testing import LiveBackend

# The harness is one client sending a whole site: the per-token write limit that
# protects a shared backend from one client would only slow the measurement down.
# And a busy machine must not change the answers: the served OCR budget (3 s) drops a slow read, so the
# harness gives OCR time to finish and measures the model, not the machine's load that day.
HARNESS_ENV = {"ALTLENS_RATELIMIT_TOKEN": "100000 per minute", "ALTLENS_RATELIMIT_ADDRESS": "100000 per minute",
               "ALTLENS_MODEL_POLL_S": "0", "ALTLENS_OCR_TIMEOUT_S": "60"}


def model_registry(model: Path, work_dir: Path) -> Path:
    """A registry in ``work_dir`` whose current version is ``model`` (an exported ONNX model
    directory), or ``model`` itself when it is already a registry (holds CURRENT)."""
    from backend.registry import ModelRegistry

    if (model / "CURRENT").is_file():
        return model
    root = work_dir / "models"
    ModelRegistry(root).publish(model)
    return root


@contextlib.contextmanager
def running_backend(model: Path, work_dir: Path, ocr: bool = True) -> Iterator[LiveBackend]:
    """The real backend on 127.0.0.1 (SQLite in ``work_dir``), serving ``model``; stopped afterwards."""
    work_dir.mkdir(parents=True, exist_ok=True)
    for old in (work_dir / "altlens.db", work_dir / "models"):  # a run starts from nothing
        if old.is_dir():
            shutil.rmtree(old)
        elif old.exists():
            old.unlink()
    backend = LiveBackend(models_dir=model_registry(Path(model), work_dir),
                          database_url=f"sqlite:///{work_dir / 'altlens.db'}",
                          log_path=work_dir / "backend.log",
                          extra_env={**HARNESS_ENV, "ALTLENS_OCR": "auto" if ocr else "off"})
    backend.init("realweb").start()
    try:
        yield backend
    finally:
        backend.stop()
