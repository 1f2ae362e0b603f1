"""The real backend in a subprocess, for tests and for tools that drive a browser against it
(``tests/conftest.py``'s ``live_backend``, ``python -m eval_harness.pages``)."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import uuid
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get("ALTLENS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextlib.contextmanager
def postgres_schema(admin_url: str = POSTGRES_URL, prefix: str = "altlens_test_", migrate: bool = True):
    """A fresh PostgreSQL schema, migrated unless ``migrate`` is False; yields its URL (search_path set)
    and drops it afterwards.

    One schema per test or run lets suites share the project's one database without colliding.
    """
    from sqlalchemy import create_engine, text

    from backend.db import Database

    schema = prefix + uuid.uuid4().hex[:12]
    admin = create_engine(admin_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{admin_url}?options=-csearch_path%3D{schema}"
    try:
        if migrate:
            database = Database(url)
            database.upgrade()
            database.dispose()
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def publish_with_bundled_kinds(model_dir: Path, tmp_path: Path) -> Path:
    """A registry root whose current version is ``model_dir`` with the bundled model's kind recogniser
    (models/bundled/kinds.json): what a listener hears of a real photograph, with a tiny model."""
    from backend.registry import ModelRegistry

    package = tmp_path / "with-kinds"
    shutil.copytree(model_dir, package)
    shutil.copy2(REPO / "models" / "bundled" / "kinds.json", package / "kinds.json")
    root = tmp_path / "models"
    ModelRegistry(root).publish(package)
    return root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveBackend:
    """The real backend (``flask run``) on 127.0.0.1, with its own database and models.

    ``extra_env`` overrides the defaults (OCR is off unless it says ``ALTLENS_OCR``).
    """

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
        from backend.config import SERVING_ENV

        env = dict(os.environ, **SERVING_ENV, DATABASE_URL=self.database_url,
                   ALTLENS_MODELS_DIR=str(self.models_dir), ALTLENS_OCR="off", PYTHONPATH=str(REPO))
        env.update(self.extra_env)
        return env

    def flask(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", *args], cwd=REPO,
                             env=self.env(), capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
        return out.stdout

    def init(self, client: str = "live") -> "LiveBackend":
        """Create the database and a token (kept in ``self.token``).

        Both CLI commands run in one process: each start of the app costs seconds
        of imports, which add up over a browser suite.
        """
        script = ("import sys; from backend import create_app; runner = create_app().test_cli_runner()\n"
                  "for args in (['init-db'], ['tokens', 'create', sys.argv[1]]):\n"
                  "    result = runner.invoke(args=args)\n"
                  "    if result.exit_code: sys.exit(f'{args}: {result.output}')\n"
                  "print(result.output.strip().splitlines()[-1])\n")
        out = subprocess.run([sys.executable, "-c", script, client], cwd=REPO, env=self.env(),
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"backend init failed:\n{out.stdout}\n{out.stderr}")
        self.token = out.stdout.strip().splitlines()[-1]
        return self

    def start(self) -> "LiveBackend":
        if self.process and self.process.poll() is None:
            return self
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "backend", "run", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-reload"],
            cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        import requests

        deadline = time.time() + 120
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"backend exited with {self.process.returncode}; log: {self.log_path}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=5).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):  # a loaded machine answers late
                pass
            time.sleep(0.2)
        raise RuntimeError("backend did not become healthy in 120 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
