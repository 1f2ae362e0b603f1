"""Publishing a new model while requests are in flight: none fails, answers switch version."""
from __future__ import annotations

import threading
import time

import pytest
import requests

from backend.registry import ModelRegistry
from backend.testing import LiveBackend
from backend_helpers import b64, png_bytes


@pytest.fixture
def unthrottled_backend(tiny_model_root, tmp_path):
    """A live backend whose rate limits are lifted: this test is about swapping, not limiting."""
    backend = LiveBackend(models_dir=tiny_model_root, database_url=f"sqlite:///{tmp_path / 'altlens.db'}",
                          log_path=tmp_path / "backend.log",
                          extra_env={"ALTLENS_RATELIMIT_TOKEN": "100000 per minute",
                                     "ALTLENS_RATELIMIT_ADDRESS": "100000 per minute"})
    backend.init("swap").start()
    yield backend
    backend.stop()


def test_publish_during_requests_over_http(unthrottled_backend, tiny_onnx):
    live_backend = unthrottled_backend
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {live_backend.token}"})
    failures, versions = [], []
    stop = threading.Event()

    def client(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1  # a new image each time, so no answer comes from the cache
            body = {"images": [{"image": b64(png_bytes((20, 20), (worker * 40, n % 250, 7))),
                                "context": {"caption": f"w{worker} n{n}"}}]}
            started = time.monotonic()
            try:
                answer = session.post(live_backend.url + "/api/v1/describe", json=body, timeout=60)
                if answer.status_code != 200:
                    failures.append((answer.status_code, answer.text[:200]))
                else:
                    versions.append((started, time.monotonic(), answer.json()["results"][0]["model_version"]))
            except requests.RequestException as exc:
                failures.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while not versions and time.time() < deadline:
        time.sleep(0.1)
    assert ModelRegistry(live_backend.models_dir).publish(tiny_onnx) == "v0002"
    while not any(v == "v0002" for _, _, v in versions) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join(60)
    assert failures == []
    assert versions[0][2] == "v0001"
    first_new_answer = min(end for _, end, v in versions if v == "v0002")
    later = [v for start, _, v in versions if start > first_new_answer]
    assert later and set(later) == {"v0002"}  # once switched, never back
    info = requests.get(live_backend.url + "/api/v1/model", timeout=10).json()
    assert info["version"] == "v0002"
