"""The real backend in a subprocess (gunicorn, as ``make run`` serves it), with its own database,
registry and token, for HTTP figures. Rate limits are lifted so the benchmark measures
the service, not the limiter; everything else is the production configuration."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from backend.config import SERVING_ENV
from backend.testing import free_port
from bench.config import REPO


def published_registry(root: Path, model_dir: Path) -> Path:
    """A registry root serving ``model_dir`` (published once; reused while present)."""
    from backend.registry import ModelRegistry

    registry = ModelRegistry(root)
    if not registry.current_version_name():
        registry.publish(model_dir)
    return root


@dataclass
class Backend:
    work_dir: Path
    models_dir: Path
    ocr: bool = False
    workers: int = 1
    threads: int = 4
    port: int = field(default_factory=free_port)
    token: str = ""
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        unlimited = "100000000 per minute"
        return dict(os.environ, **SERVING_ENV, PYTHONPATH=str(REPO), DATABASE_URL=f"sqlite:///{self.work_dir / 'bench.db'}",
                    ALTLENS_MODELS_DIR=str(self.models_dir), ALTLENS_OCR="auto" if self.ocr else "off",
                    ALTLENS_RATELIMIT_TOKEN=unlimited, ALTLENS_RATELIMIT_ADDRESS=unlimited,
                    ALTLENS_MODEL_POLL_S="0", ALTLENS_QUEUE_TIMEOUT_S="60")

    def _flask(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "backend", *args], cwd=REPO, env=self.env(),
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {out.stderr[-2000:]}")
        return out.stdout

    def __enter__(self) -> "Backend":
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "bench.db").unlink(missing_ok=True)
        self._flask("init-db")
        self.token = self._flask("tokens", "create", "bench").strip().splitlines()[-1]
        self.log = open(self.work_dir / "backend.log", "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads), "--timeout", "120", "--chdir", str(REPO), "backend:create_app()"],
            cwd=REPO, env=self.env(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"backend exited ({self.process.returncode}); see {self.work_dir / 'backend.log'}")
            try:
                if requests.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    requests.get(self.url + "/api/v1/model", timeout=30)  # loads the model
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError("backend did not become healthy in 90 s")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def rss_mb(self) -> float:
        """Resident memory of the server and its workers together, in MiB."""
        import psutil

        main = psutil.Process(self.process.pid)
        procs = [main, *main.children(recursive=True)]
        return round(sum(p.memory_info().rss for p in procs) / 2**20, 1)

    def counter(self, name: str, **labels: str) -> float:
        """Sum of a Prometheus counter's samples matching ``labels`` (from GET /metrics)."""
        from prometheus_client.parser import text_string_to_metric_families

        total = 0.0
        for family in text_string_to_metric_families(requests.get(self.url + "/metrics", timeout=10).text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total
