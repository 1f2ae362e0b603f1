"""The real process under load and faults: gunicorn on PostgreSQL, started as bench/loadtest.py starts it.

Short variants of the load test (``make loadtest`` runs the full one); each
fault is made for real: the whole process group SIGKILLed, the database's TCP
path cut and restored, a corrupted model version made current on disk.
"""
from __future__ import annotations

import shutil
import threading
import time

import pytest
import requests
from urllib.parse import urlsplit, urlunsplit

from bench.loadtest import Server, create_tokens, integrity_problems, missing_feedback, run_load
from reliability_helpers import TcpProxy, auth, png_b64


@pytest.fixture
def models(tiny_onnx, tmp_path):
    from backend.registry import ModelRegistry

    ModelRegistry(tmp_path / "models").publish(tiny_onnx)
    return tmp_path / "models"


def test_load_then_sigkill_under_load_loses_no_acknowledged_feedback(pg_url, models, tmp_path):
    """16 clients, mixed describe and feedback; SIGKILL mid-load; restart; every acknowledged row is there."""
    tokens = create_tokens(pg_url, 16)
    server = Server(pg_url, models, workers=2, log_path=tmp_path / "gunicorn.log").start()
    try:
        first = run_load(server.url, tokens, seconds=5, pool=8, server=server)
        assert first.errors() == [], first.errors()[:5]
        kinds = first.statuses()
        assert kinds[("describe", 200)] > 0 and kinds[("feedback", 201)] > 0, kinds
        start_rss, end_rss = first.rss_growth()
        assert end_rss - start_rss < 50 * 2**20, (start_rss, end_rss)

        stop = threading.Event()
        during: list = []
        loader = threading.Thread(target=lambda: during.append(
            run_load(server.url, tokens, seconds=60, pool=8, describe_share=0.3, stop=stop, timeout=10)))
        loader.start()
        time.sleep(3)
        server.kill()
        time.sleep(0.5)
        stop.set()
        loader.join()
        killed = during[0]
        assert killed.acknowledged, "feedback was acknowledged before the kill"
        server.start()
        after = run_load(server.url, tokens, seconds=1, pool=8)
        assert after.errors() == []
    finally:
        server.stop()
    acknowledged = first.acknowledged | killed.acknowledged | after.acknowledged
    assert missing_feedback(pg_url, acknowledged) == set()
    assert integrity_problems(pg_url) == []


def _describe(url, token, seed):
    return requests.post(url + "/api/v1/describe", headers=auth(token), timeout=30,
                         json={"images": [{"image": png_b64(seed)}]})


def test_database_unreachable_then_back_without_restart(pg_url, models, tmp_path):
    parts = urlsplit(pg_url)
    proxy = TcpProxy(parts.port or 5432).up()
    via_proxy = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))
    [token] = create_tokens(pg_url, 1)
    server = Server(via_proxy, models, workers=1, log_path=tmp_path / "gunicorn.log").start()
    feedback = lambda gid, text: requests.post(  # noqa: E731
        server.url + "/api/v1/feedback", headers=auth(token), timeout=30,
        json={"generation_id": gid, "kind": "correct", "text": text})
    try:
        before = _describe(server.url, token, 1)
        assert before.status_code == 200
        generation = before.json()["results"][0]["generation_id"]
        assert feedback(generation, "A grid of coloured noise").status_code == 201

        proxy.down()
        during = _describe(server.url, token, 2)
        assert during.status_code == 200 and during.json()["results"][0]["description"] is not None
        refused = feedback(generation, "Coloured noise in a grid")
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.json()["error"]["code"] == "database_unavailable"
        assert requests.get(server.url + "/api/v1/health", timeout=10).json()["database"] == "unavailable"

        proxy.up()
        deadline, status = time.time() + 20, None
        while time.time() < deadline and status != 201:
            status = feedback(generation, "Noise in a coloured grid").status_code
            time.sleep(0.3)
        assert status == 201, "feedback works again once the database is back, same process"
        assert requests.get(server.url + "/api/v1/health", timeout=10).json()["database"] == "ok"
    finally:
        server.stop()
        proxy.down()


def test_corrupted_model_version_is_refused_and_old_one_keeps_serving(pg_url, models, tiny_onnx, tmp_path):
    from backend.registry import ModelRegistry

    [token] = create_tokens(pg_url, 1)
    server = Server(pg_url, models, workers=1, extra_env={"ALTLENS_MODEL_POLL_S": "0.2"},
                    log_path=tmp_path / "gunicorn.log").start()
    try:
        assert requests.get(server.url + "/api/v1/model", timeout=10).json()["version"] == "v0001"
        shutil.copytree(models / "v0001", models / "v0002")
        (models / "v0002" / "encoder_model.onnx").write_bytes(b"\x00" * 64)
        registry = ModelRegistry(models)
        registry.set_current("v0002")  # what a broken publisher (or a hand edit) would leave
        time.sleep(2)
        assert requests.get(server.url + "/api/v1/model", timeout=10).json()["version"] == "v0001"
        answer = _describe(server.url, token, 3)
        assert answer.status_code == 200 and answer.json()["results"][0]["model_version"] == "v0001"
        assert requests.get(server.url + "/api/v1/health", timeout=10).json()["model"] == "v0001"

        assert registry.publish(tiny_onnx) == "v0003"  # a good one is still taken up, without restart
        deadline = time.time() + 30
        while time.time() < deadline and requests.get(server.url + "/api/v1/model", timeout=10).json()["version"] != "v0003":
            time.sleep(0.3)
        assert _describe(server.url, token, 4).json()["results"][0]["model_version"] == "v0003"
    finally:
        server.stop()
    assert "refused model v0002" in (tmp_path / "gunicorn.log").read_text()
