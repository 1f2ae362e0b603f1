"""The CLI as scripts and `make run` use it: a real `flask --app backend` process."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def flask(env, *args):
    return subprocess.run([sys.executable, "-m", "flask", "--app", "backend", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)


def test_init_db_then_token_alone_on_stdout(tmp_path):
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'db' / 'altlens.db'}",
               ALTLENS_MODELS_DIR=str(tmp_path / "models"), ALTLENS_MODEL_POLL_S="0", ALTLENS_OCR="off")
    assert flask(env, "init-db").returncode == 0
    created = flask(env, "tokens", "create", "script")
    assert created.returncode == 0
    assert len(created.stdout.splitlines()) == 1 and created.stdout.startswith("alt_")
    token = created.stdout.strip()
    assert flask(env, "tokens", "check", token).stdout == "valid\n"
    assert (tmp_path / "db" / "altlens.db").read_bytes().find(token.encode()) == -1
