"""The real tiny ONNX model behind the API: through the test client and over real HTTP (werkzeug server)."""
from __future__ import annotations

import threading

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from backend.models import Generation, PreferencePair
from backend_helpers import auth, b64, make_token, png_bytes, services_of


@pytest.fixture
def model_app(make_app, tiny_model_root):
    return make_app(engine="real", models_dir=str(tiny_model_root))


@pytest.fixture
def server(model_app):
    """The app on a real socket (127.0.0.1, a free port) in a thread."""
    httpd = make_server("127.0.0.1", 0, model_app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


def test_model_info_from_registry(model_app):
    info = model_app.test_client().get("/api/v1/model").get_json()
    assert info["version"] == "v0001" and info["trained"] is False and info["provider"].endswith("ExecutionProvider")


def test_describe_with_real_model_test_client(model_app):
    client, token = model_app.test_client(), make_token(model_app)
    items = [{"image": b64(png_bytes((40, 30), (i * 60, 20, 200))), "context": {"caption": f"c{i}"}} for i in range(3)]
    results = client.post("/api/v1/describe", headers=auth(token), json={"images": items}).get_json()["results"]
    assert len(results) == 3 and all(r["model_version"] == "v0001" and not r["cached"] for r in results)
    for r in results:
        assert 0.0 <= r["confidence"] <= 1.0 and isinstance(r["candidates"], list)
        assert r["decorative"] is (r["description"] == "" and not r["low_confidence"])
    again = client.post("/api/v1/describe", headers=auth(token), json={"images": items[:1]}).get_json()["results"][0]
    assert again["cached"] and again["generation_id"] == results[0]["generation_id"]
    assert again["description"] == results[0]["description"]


def test_over_real_http(server, model_app):
    token = make_token(model_app)
    session = requests.Session()
    session.headers.update(auth(token))
    items = [{"image": b64(png_bytes((24, 24), (0, 0, 0))), "context": {"control_role": "link", "control_href": "/cart",
                                                                    "only_content": True}},
             {"image": b64(png_bytes((50, 20), (255, 255, 0))), "html": "<figure><img><figcaption>Sun</figcaption></figure>"}]
    first = session.post(server + "/api/v1/describe", json={"images": items}, timeout=60)
    assert first.status_code == 200 and first.headers["Content-Type"] == "application/json"
    results = first.json()["results"]
    assert [r["cached"] for r in results] == [False, False]
    second = session.post(server + "/api/v1/describe", json={"images": items[::-1]}, timeout=60).json()["results"]
    assert [r["generation_id"] for r in second] == [r["generation_id"] for r in results[::-1]]
    assert all(r["cached"] for r in second)

    # Feedback on what the real model answered: the exact pairs of DESIGN.md §4, against what the model
    # itself said where the backend said another thing in its place (the honest form).
    generated = results[0]
    with services_of(model_app).db.session() as s:
        model_answer = s.get(Generation, generated["generation_id"]).model_answer
    expected_rejected = model_answer if model_answer is not None else \
        "" if generated["decorative"] else generated["description"]
    answer = session.post(server + "/api/v1/feedback", json={
        "generation_id": generated["generation_id"], "kind": "correct", "text": "Shopping cart"}, timeout=30)
    assert answer.status_code == 201 and answer.json()["pairs_created"] == (0 if expected_rejected == "Shopping cart" else 1)
    with services_of(model_app).db.session() as s:
        pairs = [(p.chosen, p.rejected) for p in s.scalars(select(PreferencePair))]
    assert pairs == [("Shopping cart", expected_rejected)]

    assert requests.post(server + "/api/v1/describe", json={"images": items}, timeout=30).status_code == 401
    bad = session.post(server + "/api/v1/describe", data=b"\x00\x01", headers={"Content-Type": "application/json"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    huge = session.post(server + "/api/v1/describe", data=b"x" * (21 * 1024 * 1024),
                        headers={"Content-Type": "application/json"}, timeout=60)
    assert huge.status_code == 413 and huge.json()["error"]["status"] == 413
    metrics = requests.get(server + "/metrics", timeout=10)
    assert "altlens_descriptions_total" in metrics.text
