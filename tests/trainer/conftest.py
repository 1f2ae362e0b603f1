"""Fixtures for the trainer's core pieces: the paper's sample data and small image files."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SAMPLE = Path(__file__).resolve().parents[3] / "shared" / "data" / "mcmdpo-sample"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The paper's published sample (10 Twitter + 10 Pinterest train records)."""
    assert (SAMPLE / "twitter" / "twitter_train.json").is_file(), f"sample data missing under {SAMPLE}"
    return SAMPLE


@pytest.fixture
def write_image():
    """Write a small random RGB image (PNG by default) and return its path."""
    def write(path: Path, size=(20, 16), seed=0, fmt="PNG") -> Path:
        rng = np.random.default_rng(seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path, fmt)
        return path
    return write


@pytest.fixture
def write_jsonl():
    """Write records (dicts, or raw strings for broken lines) as JSON Lines."""
    def write(path: Path, records) -> Path:
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    return write


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run far faster on one thread: on the shared 2-core machine, torch's
    default thread pool oversubscribes the CPUs (a tiny forward/backward measured
    0.3 s on one thread vs 13 s on two under load)."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
