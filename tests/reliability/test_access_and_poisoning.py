"""Access control, limits and training-data poisoning, through the app (and Redis, and a real socket).

Complements tests/backend (which covers hashing at rest, CORS, in-memory rate
limits and the CLI one by one): here limits are shared through Redis as several
gunicorn workers would share them, a revoked token is refused by a running
process, oversize bodies are refused before they are read, overload gets 503,
and one client's 1,000 contradictory submissions move training data by at most
its quota, and vanish with ``drop-client``.
"""
from __future__ import annotations

import json
import socket
import threading
import uuid

import pytest
import redis
from sqlalchemy import func, select

from backend.models import Client, Feedback, Generation, PreferencePair
from backend.state import EXTENSION_KEY
from bench.loadtest import Server
from reliability_helpers import REDIS_URL, auth, png_b64, token_for


def describe(client, token, seed, caption="Sales"):
    response = client.post("/api/v1/describe", headers=auth(token),
                           json={"images": [{"image": png_b64(seed), "context": {"caption": caption}}]})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["results"][0]


# -- rate limits in Redis ---------------------------------------------------------------------------------------------
@pytest.fixture
def redis_available():
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is needed for these tests: {exc}")


def test_rate_limit_per_token_is_shared_through_redis(make_app, redis_available):
    """Two apps (as two gunicorn workers) on one Redis count one token's requests together."""
    one = make_app(ratelimit_storage=REDIS_URL, ratelimit_token="4 per minute")
    two = make_app(ratelimit_storage=REDIS_URL, ratelimit_token="4 per minute")
    token = token_for(one, "shared-" + uuid.uuid4().hex[:6])
    address = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}
    statuses = [app.test_client().post("/api/v1/feedback", headers=auth(token), json={},
                                       environ_base=address).status_code for app in (one, two, one, two, one)]
    assert statuses == [400, 400, 400, 400, 429]
    limited = two.test_client().post("/api/v1/feedback", headers=auth(token), json={}, environ_base=address)
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 60
    assert limited.get_json()["error"]["code"] == "rate_limited"
    keys = redis.Redis.from_url(REDIS_URL).keys("*token:*")
    assert keys, "the limiter really stored its counters in Redis"


def test_rate_limit_per_address_through_redis(make_app, redis_available):
    app = make_app(ratelimit_storage=REDIS_URL, ratelimit_address="3 per minute")
    tokens = [token_for(app, f"addr-{i}-{uuid.uuid4().hex[:6]}") for i in range(4)]
    address = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"}
    client = app.test_client()
    statuses = [client.post("/api/v1/feedback", headers=auth(t), json={}, environ_base=address).status_code
                for t in tokens]
    assert statuses == [400, 400, 400, 429]  # a new token per request does not escape the address limit
    assert client.get("/api/v1/health", environ_base=address).status_code == 200  # reads are not limited


# -- tokens on a running process, body size before reading ------------------------------------------------------------
@pytest.fixture
def live(pg_url, model_root, tmp_path):
    server = Server(pg_url, model_root, workers=1, log_path=tmp_path / "gunicorn.log").start()
    yield server
    server.stop()


def raw_http(port: int, head: str, body: bytes = b"", timeout: float = 10) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head.encode() + body)
        conn.shutdown(socket.SHUT_WR) if body else None
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b'"error"' in b"".join(chunks):
                break
    return b"".join(chunks).decode("latin-1")


def test_running_process_refuses_revoked_tokens_and_oversize_bodies_unread(live, pg_url, make_app):
    import requests

    cli = make_app(database_url=pg_url).test_cli_runner()  # the CLI, in-process, on the server's database
    name = "revoke-me-" + uuid.uuid4().hex[:6]
    token = cli.invoke(args=["tokens", "create", name]).stdout.strip()
    ok = requests.post(live.url + "/api/v1/describe", headers=auth(token), timeout=30,
                       json={"images": [{"image": png_b64(1)}]})
    assert ok.status_code == 200

    # A 1 GB Content-Length is answered 413 at once, although not one byte of the body was sent.
    head = (f"POST /api/v1/describe HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
    answer = raw_http(live.port, head)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert '"code":"too_large"' in answer.replace(" ", "")

    assert cli.invoke(args=["tokens", "revoke", name]).exit_code == 0
    for path, body in (("/api/v1/describe", {"images": [{"image": png_b64(1)}]}), ("/api/v1/feedback", {})):
        refused = requests.post(live.url + path, headers=auth(token), json=body, timeout=30)
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_token"


# -- overload ---------------------------------------------------------------------------------------------------------
def test_overload_answers_503_with_retry_after_instead_of_waiting(make_app):
    """One describe slot and a 0.1 s queue; 8 concurrent batches of new images: the excess is told to come back."""
    app = make_app(max_concurrent_describe=1, queue_timeout_s=0.1)
    token = token_for(app)
    answers = []

    def send(i):
        items = [{"image": png_b64(1000 + i * 10 + k)} for k in range(4)]
        answers.append(app.test_client().post("/api/v1/describe", headers=auth(token), json={"images": items}))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses = sorted(a.status_code for a in answers)
    assert len(answers) == 8 and set(statuses) == {200, 503}, statuses
    for answer in answers:
        if answer.status_code == 503:
            assert answer.get_json()["error"]["code"] == "overloaded" and int(answer.headers["Retry-After"]) > 0


# -- poisoning --------------------------------------------------------------------------------------------------------
def export(app, path) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["export-pairs", "--out", str(path)])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in path.read_text().splitlines()]


def training_view(records) -> list[tuple]:
    return sorted((r["image_sha256"], r["chosen"], r["rejected"], r["weight"], r["provenance"]["client"]) for r in records)


def test_one_client_with_1000_contradictory_pairs_moves_training_data_by_at_most_its_quota(make_app, tmp_path):
    quota = 20
    app = make_app(pair_quota_per_day=quota, ratelimit_token="100000 per minute", ratelimit_address="100000 per minute")
    client = app.test_client()
    honest, attacker = token_for(app, "honest"), token_for(app, "mallory")
    generations = [describe(client, honest, seed) for seed in range(10)]
    for i, generation in enumerate(generations):
        body = {"generation_id": generation["generation_id"], "kind": "correct", "text": f"A photo of red noise {i}"}
        assert client.post("/api/v1/feedback", headers=auth(honest), json=body).status_code == 201
    before = training_view(export(app, tmp_path / "before.jsonl"))
    assert len(before) == 10

    # Mallory gets the same generations (from the cache) and contradicts every honest correction, 1,000 times.
    seen = [describe(client, attacker, seed)["generation_id"] for seed in range(10)]
    assert seen == [g["generation_id"] for g in generations]
    answers = []
    for n in range(1000):
        generation = seen[n % 10]
        if n % 2:
            body = {"generation_id": generation, "kind": "correct", "text": f"Not red noise at all, number {n}"}
        else:  # the reverse of the honest pair, and its own opposite
            body = {"generation_id": generation, "kind": "choose", "chosen_index": (n // 10) % 2,
                    "shown": [generations[n % 10]["description"] or "x", (generations[n % 10]["candidates"] or ["y"])[0]]}
        answers.append(client.post("/api/v1/feedback", headers=auth(attacker), json=body).status_code)
    assert answers.count(500) == 0
    after = training_view(export(app, tmp_path / "after.jsonl"))
    added = [r for r in after if r not in before]
    assert set(before) <= set(after), "the honest pairs are untouched"
    assert 0 < len(added) <= quota and all(r[4] == "mallory" for r in added)

    result = app.test_cli_runner().invoke(args=["drop-client", "mallory"])
    assert result.exit_code == 0, result.output
    assert training_view(export(app, tmp_path / "dropped.jsonl")) == before
    with app.extensions[EXTENSION_KEY].db.session() as session:
        mallory_rows = session.scalar(select(func.count()).select_from(Client).where(Client.name == "mallory"))
        assert mallory_rows == 0
        assert session.scalar(select(func.count()).select_from(Feedback)) == 10  # the honest ones
        assert session.scalar(select(func.count()).select_from(PreferencePair)) == 10
        assert session.scalar(select(func.count()).select_from(Generation)) == 10
