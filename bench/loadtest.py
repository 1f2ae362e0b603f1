"""Load test: the backend under gunicorn (several workers) on PostgreSQL, hammered on loopback.

    python bench/loadtest.py [--seconds 60] [--requests 10000] [--clients 16] [--workers 3]

Phase 1 runs ``--clients`` concurrent clients (one token each) for at least
``--seconds`` and at least ``--requests`` requests: mixed describe (mostly
repeated images, so the cache is exercised, some new ones, so the model is) and
feedback on what they were given. It prints throughput, p50/p95/p99 latency per
kind, the status counts and errors, samples the server's memory (RSS of the
gunicorn master and workers) and finally counts, in the database, every
feedback row the server acknowledged. Phase 2 restarts the server with one
describe slot and a short queue and overloads it: every answer must be a 200 or
a 503 with Retry-After, none a timeout. Exit status 1 when a check fails.

The database is a fresh schema in ``--postgres`` (dropped at the end); the model
is the tiny untrained one built on the spot (trainer/tiny.py), so the figures
measure the service, not a model. Rate limits are raised for the run.
Used by tests/reliability (short variants) and ``make loadtest`` (full).
"""
from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import requests
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backend.config import SERVING_ENV  # noqa: E402
from backend.testing import POSTGRES_URL, free_port, postgres_schema  # noqa: E402

NO_LIMITS = {"ALTLENS_RATELIMIT_TOKEN": "1000000 per minute", "ALTLENS_RATELIMIT_ADDRESS": "1000000 per minute"}


# -- database and model ---------------------------------------------------------------------------------------------
def create_tokens(database_url: str, count: int, prefix: str = "load") -> list[str]:
    from backend.auth import create_client
    from backend.db import Database

    database = Database(database_url)
    try:
        with database.session() as session:
            return [create_client(session, f"{prefix}-{i}-{uuid.uuid4().hex[:6]}") for i in range(count)]
    finally:
        database.dispose()


def build_tiny_model_root(directory: Path) -> Path:
    """A registry root serving a freshly built tiny (untrained) model."""
    from backend.registry import ModelRegistry
    from trainer.export import export_onnx
    from trainer.tiny import build_model

    checkpoint = build_model(directory / "checkpoint", texts=["shopping cart", "search", "bar chart"], seed=0)
    onnx = export_onnx(checkpoint, directory / "onnx", {"trained": False, "note": "load test model"})
    ModelRegistry(directory / "models").publish(onnx)
    return directory / "models"


# -- the server -------------------------------------------------------------------------------------------------------
@dataclass
class Server:
    """gunicorn serving ``backend:create_app()`` on 127.0.0.1, in its own process group (so it can be SIGKILLed whole)."""

    database_url: str
    models_dir: Path
    workers: int = 3
    threads: int = 4
    port: int = field(default_factory=free_port)
    extra_env: dict = field(default_factory=dict)
    log_path: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        return dict(os.environ, **SERVING_ENV, DATABASE_URL=self.database_url,
                    ALTLENS_MODELS_DIR=str(self.models_dir), ALTLENS_OCR="off", PYTHONPATH=str(REPO), **NO_LIMITS,
                    **self.extra_env)

    def start(self, timeout: float = 90) -> "Server":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads), "--timeout", "120", "--graceful-timeout", "5", "--chdir", str(REPO),
             "backend:create_app()"],
            cwd=REPO, env=self.env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode} (log: {self.log_path})")
            try:
                if requests.get(self.url + "/api/v1/model", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"backend not ready in {timeout} s (log: {self.log_path})")

    def processes(self) -> list[psutil.Process]:
        if not self.process or self.process.poll() is not None:
            return []
        try:
            master = psutil.Process(self.process.pid)
            return [master, *master.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        total = 0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a crash or the OOM killer would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


# -- the clients ------------------------------------------------------------------------------------------------------
def png_b64(seed: int) -> str:
    rng = np.random.default_rng(seed)
    size = (int(rng.integers(16, 64)), int(rng.integers(16, 64)))
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (connection error or timeout)
    seconds: float
    retry_after: bool = False
    error: str = ""


@dataclass
class LoadResult:
    samples: list[Sample]
    seconds: float
    acknowledged: set[str]  # feedback ids the server answered 200/201 for
    rss: list[tuple[int, int]]  # (requests done, RSS bytes)

    def statuses(self) -> Counter:
        return Counter((s.kind, s.status) for s in self.samples)

    def errors(self) -> list[Sample]:
        """Timeouts, connection errors, 5xx other than a 503 with Retry-After."""
        return [s for s in self.samples if s.status == 0 or (s.status >= 500 and not (s.status == 503 and s.retry_after))]

    def percentiles(self, kind: str | None = None) -> dict[str, float]:
        times = sorted(s.seconds for s in self.samples if s.status and (kind is None or s.kind == kind))
        if not times:
            return {}
        pick = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1000  # noqa: E731
        return {"p50_ms": round(pick(0.50), 1), "p95_ms": round(pick(0.95), 1), "p99_ms": round(pick(0.99), 1),
                "max_ms": round(times[-1] * 1000, 1)}

    def rss_growth(self) -> tuple[int, int]:
        """(RSS after warm-up, RSS at the end): warm-up is the first fifth of the samples."""
        values = [r for _, r in self.rss if r]
        if len(values) < 5:
            return (values[0], values[-1]) if values else (0, 0)
        return statistics.median(values[len(values) // 5: len(values) // 5 + 3]), statistics.median(values[-3:])


def run_load(url: str, tokens: list[str], seconds: float, min_requests: int = 0, describe_share: float = 0.6,
             new_image_share: float = 0.05, pool: int = 32, batch: int = 1, server: Server | None = None,
             stop: threading.Event | None = None, timeout: float = 30, max_seconds: float = 900) -> LoadResult:
    """One thread per token until ``seconds`` have passed and ``min_requests`` were sent (or ``stop`` is set)."""
    images = [png_b64(i) for i in range(pool)]
    samples: list[Sample] = []
    acknowledged: set[str] = set()
    rss: list[tuple[int, int]] = []
    lock = threading.Lock()
    stop = stop or threading.Event()
    started = time.perf_counter()

    def done() -> bool:
        elapsed = time.perf_counter() - started
        return stop.is_set() or elapsed > max_seconds or (elapsed >= seconds and len(samples) >= min_requests)

    def client(index: int, token: str) -> None:
        rng = random.Random(index)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        generations: list[str] = []
        n = 0
        while not done():
            n += 1
            if not generations or rng.random() < describe_share:
                kind = "describe"
                items = []
                for _ in range(batch):
                    image = png_b64(10_000 + index * 1_000_000 + n) if rng.random() < new_image_share else rng.choice(images)
                    items.append({"image": image, "context": {"caption": f"item {rng.randrange(4)}"}})
                body = {"images": items}
                path = "/api/v1/describe"
            else:
                kind = "feedback"
                path = "/api/v1/feedback"
                if rng.random() < 0.7:
                    body = {"generation_id": rng.choice(generations), "kind": "correct",
                            "text": f"Photo {index} number {n} of a noisy pattern"}
                else:  # may repeat an earlier one: a replay is acknowledged with the original id
                    body = {"generation_id": rng.choice(generations), "kind": "rate", "rating": rng.choice(["up", "down"])}
            t0 = time.perf_counter()
            try:
                response = session.post(url + path, json=body, timeout=timeout)
                sample = Sample(kind, response.status_code, time.perf_counter() - t0,
                                retry_after="Retry-After" in response.headers)
                if response.status_code == 200 and kind == "describe":
                    generations.extend(r["generation_id"] for r in response.json()["results"])
                    del generations[:-50]
                elif response.status_code in (200, 201) and kind == "feedback":
                    with lock:
                        acknowledged.add(response.json()["feedback_id"])
            except requests.RequestException as exc:
                sample = Sample(kind, 0, time.perf_counter() - t0, error=exc.__class__.__name__)
            with lock:
                samples.append(sample)

    def sampler() -> None:
        while not done():
            if server is not None:
                rss.append((len(samples), server.rss_bytes()))
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(i, t), daemon=True) for i, t in enumerate(tokens)]
    threads.append(threading.Thread(target=sampler, daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(samples, time.perf_counter() - started, acknowledged, rss)


def missing_feedback(database_url: str, ids: set[str]) -> set[str]:
    """The acknowledged feedback ids that are not in the database."""
    from sqlalchemy import create_engine, select

    from backend.models import Feedback

    engine = create_engine(database_url)
    found: set[str] = set()
    try:
        with engine.connect() as conn:
            ordered = sorted(ids)
            for start in range(0, len(ordered), 500):
                chunk = ordered[start:start + 500]
                found.update(conn.scalars(select(Feedback.id).where(Feedback.id.in_(chunk))))
    finally:
        engine.dispose()
    return ids - found


def integrity_problems(database_url: str) -> list[str]:
    """Rows that point at nothing (the schema's foreign keys should make this impossible; this checks they held)."""
    from sqlalchemy import create_engine, text

    checks = {
        "pairs without feedback": "SELECT count(*) FROM preference_pairs p LEFT JOIN feedback f ON f.id = p.feedback_id WHERE f.id IS NULL",
        "feedback without generation": "SELECT count(*) FROM feedback f LEFT JOIN generations g ON g.id = f.generation_id WHERE g.id IS NULL",
        "generations without image": "SELECT count(*) FROM generations g LEFT JOIN images i ON i.id = g.image_id WHERE i.id IS NULL",
        "images without bytes or size": "SELECT count(*) FROM images WHERE purged_at IS NULL AND (data IS NULL OR length(data) <> size)",
    }
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [f"{name}: {n}" for name, sql in checks.items() if (n := conn.scalar(text(sql)))]
    finally:
        engine.dispose()


# -- the report -------------------------------------------------------------------------------------------------------
def summary(result: LoadResult, missing: set[str]) -> dict:
    rss_start, rss_end = result.rss_growth()
    return {
        "requests": len(result.samples),
        "seconds": round(result.seconds, 1),
        "throughput_rps": round(len(result.samples) / result.seconds, 1),
        "latency_all": result.percentiles(),
        "latency_describe": result.percentiles("describe"),
        "latency_feedback": result.percentiles("feedback"),
        "statuses": {f"{k} {s}": n for (k, s), n in sorted(result.statuses().items())},
        "errors": len(result.errors()),
        "feedback_acknowledged": len(result.acknowledged),
        "feedback_missing_from_db": len(missing),
        "rss_mb_after_warmup": round(rss_start / 2**20, 1),
        "rss_mb_at_end": round(rss_end / 2**20, 1),
    }


def overload(database_url: str, models_dir: Path, seconds: float = 5, clients: int = 16,
             log_path: Path | None = None) -> LoadResult:
    """One describe slot, a 0.2 s queue: requests beyond capacity must get 503 + Retry-After, not hang."""
    server = Server(database_url, models_dir, workers=1, threads=clients, log_path=log_path,
                    extra_env={"ALTLENS_MAX_CONCURRENT_DESCRIBE": "1", "ALTLENS_QUEUE_TIMEOUT_S": "0.2"}).start()
    try:
        tokens = create_tokens(database_url, clients, "overload")
        return run_load(server.url, tokens, seconds, describe_share=1.0, new_image_share=1.0, batch=4,
                        timeout=30)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--requests", type=int, default=10_000, help="keep going until at least this many")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--postgres", default=POSTGRES_URL)
    parser.add_argument("--max-rss-growth-mb", type=float, default=50)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    failures = []
    with tempfile.TemporaryDirectory() as tmp, postgres_schema(args.postgres) as database_url:
        print("building the tiny model ...", flush=True)
        models_dir = build_tiny_model_root(Path(tmp))
        server = Server(database_url, models_dir, workers=args.workers, log_path=Path(tmp) / "gunicorn.log").start()
        try:
            tokens = create_tokens(database_url, args.clients)
            print(f"phase 1: {args.clients} clients, >= {args.seconds:.0f} s and >= {args.requests} requests, "
                  f"{args.workers} gunicorn workers, PostgreSQL", flush=True)
            result = run_load(server.url, tokens, args.seconds, args.requests, server=server)
        finally:
            server.stop()
        missing = missing_feedback(database_url, result.acknowledged)
        figures = {"load": summary(result, missing), "integrity_problems": integrity_problems(database_url)}
        print("phase 2: overload (1 describe slot, 0.2 s queue)", flush=True)
        over = overload(database_url, models_dir, log_path=Path(tmp) / "gunicorn-overload.log")
        figures["overload"] = {"requests": len(over.samples), "statuses": {f"{k} {s}": n for (k, s), n in sorted(over.statuses().items())},
                               "errors": len(over.errors()), "latency": over.percentiles()}
    print(json.dumps(figures, indent=2))
    load = figures["load"]
    if load["errors"]:
        failures.append(f"{load['errors']} errors under load")
    if load["feedback_missing_from_db"]:
        failures.append(f"{load['feedback_missing_from_db']} acknowledged feedback rows missing")
    if figures["integrity_problems"]:
        failures.append(f"integrity: {figures['integrity_problems']}")
    if load["rss_mb_at_end"] - load["rss_mb_after_warmup"] > args.max_rss_growth_mb:
        failures.append(f"memory grew by more than {args.max_rss_growth_mb} MB")
    if load["requests"] < args.requests:
        failures.append(f"only {load['requests']} requests sent")
    if figures["overload"]["errors"]:
        failures.append(f"{figures['overload']['errors']} overload answers were neither 200 nor 503+Retry-After")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print("FAILED: " + "; ".join(failures) if failures else "OK: no errors, no lost feedback, memory flat")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
