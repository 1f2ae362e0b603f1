"""The HTTP contract (docs/api.md) through the Flask test client: results, auth, and every error status."""
from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from backend.ocr import NOTHING_READ
from backend.openapi import openapi_document
from backend_helpers import auth, b64, database_unreachable, make_token, png_bytes, services_of


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(app):
    return make_token(app)


def post_describe(client, token, items, **kwargs):
    return client.post("/api/v1/describe", headers=auth(token), json={"images": items}, **kwargs)


def assert_error(response, status, code=None, index=None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    if code:
        assert error["code"] == code
    assert error.get("index") == index
    return error


def test_describe_single(client, token, app):
    response = post_describe(client, token, [{"image": b64(png_bytes((10, 20))), "context": {"caption": "Logo"}}])
    assert response.status_code == 200
    [result] = response.get_json()["results"]
    assert result["description"] == "Logo 10x20" and result["cached"] is False
    assert set(result) == {"generation_id", "description", "decorative", "confidence", "low_confidence",
                           "honest", "ocr_text", "model_version", "candidates", "cached"}
    assert result["model_version"] == "v0007" and result["candidates"] == ["A red square", "A square"]


def test_describe_batch_keeps_order_and_caches(client, token, app):
    engine = services_of(app).registry.engine
    items = [{"image": b64(png_bytes((w, 5))), "context": {"caption": f"c{w}"}} for w in (3, 9, 4)]
    first = post_describe(client, token, items).get_json()["results"]
    assert [r["description"] for r in first] == ["c3 3x5", "c9 9x5", "c4 4x5"]
    assert engine.calls == [3]
    again = post_describe(client, token, [items[1], {"image": items[0]["image"], "context": {"caption": "new"}}])
    results = again.get_json()["results"]
    assert [r["cached"] for r in results] == [True, False]
    assert results[0]["generation_id"] == first[1]["generation_id"]
    assert engine.calls == [3, 1]


def test_the_text_of_each_image_is_read_as_far_as_the_served_model_can_use_it(client, token, app):
    class Reader:  # records what the backend asks of its OCR reader
        asked: list = []

        def read_with_title(self, image, limit):
            self.asked.append((image.size, limit))
            return NOTHING_READ

    services = services_of(app)
    services.ocr = Reader()
    services.registry.engine.ocr_limit = lambda size: 80 if size[0] * size[1] > 1000 else 200
    post_describe(client, token, [{"image": b64(png_bytes(size))} for size in ((20, 20), (60, 40))])
    assert Reader.asked == [((20, 20), 200), ((60, 40), 80)]


def test_describe_new_model_version_is_not_served_from_cache(client, token, app):
    item = [{"image": b64(png_bytes()), "context": {}}]
    post_describe(client, token, item)
    services_of(app).registry.engine.version = "v0008"
    [result] = post_describe(client, token, item).get_json()["results"]
    assert result["cached"] is False and result["model_version"] == "v0008"


def test_describe_with_html_fragment_uses_context_builder(client, token):
    html = '<figure><img src="/a/chart.png"><figcaption>Sales by quarter</figcaption></figure>'
    [result] = post_describe(client, token, [{"image": b64(png_bytes((8, 8))), "html": html}]).get_json()["results"]
    assert result["description"] == "Sales by quarter 8x8"


def test_describe_multipart(client, token):
    data = {"image": [(io.BytesIO(png_bytes((6, 6))), "a.png", "image/png"),
                      (io.BytesIO(png_bytes((7, 7))), "b.png", "image/png")],
            "items": json.dumps([{"context": {"caption": "one"}}, {"html": "<figure><img><figcaption>two</figcaption></figure>"}])}
    response = client.post("/api/v1/describe", headers=auth(token), data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert [r["description"] for r in response.get_json()["results"]] == ["one 6x6", "two 7x7"]


def test_multipart_svg_upload_is_415(client, token):
    data = {"image": [(io.BytesIO(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "a.svg", "image/svg+xml")]}
    response = client.post("/api/v1/describe", headers=auth(token), data=data, content_type="multipart/form-data")
    assert_error(response, 415, index=0)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"},
                                     {"Authorization": "Bearer "}])
def test_writes_need_a_valid_token(client, headers):
    for path in ("/api/v1/describe", "/api/v1/feedback"):
        assert_error(client.post(path, headers=headers, json={}), 401)


def test_gets_need_no_token(client):
    assert client.get("/api/v1/model").get_json()["version"] == "v0007"
    health = client.get("/api/v1/health").get_json()
    assert health == {"status": "ok", "database": "ok", "model": "v0007"}


@pytest.mark.parametrize("body, content_type, status, code", [
    (b"{not json", "application/json", 400, "invalid_json"),
    (b"\xff\xfe{}", "application/json", 400, "invalid_json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "invalid_json"),
    (b'{"images": "x"}', "application/json", 400, "invalid_shape"),
    (b'{"images": []}', "application/json", 400, "invalid_shape"),
    (b'[1, 2]', "application/json", 400, "invalid_shape"),
    (b'{"images": [{"image": "aGVsbG8="}]}', "text/plain", 415, "unsupported_media_type"),
])
def test_malformed_requests(client, token, body, content_type, status, code):
    response = client.post("/api/v1/describe", headers=auth(token), data=body, content_type=content_type)
    assert_error(response, status, code)


@pytest.mark.parametrize("item, status, code", [
    ({"image": "not base64!!"}, 422, "invalid_base64"),
    ({"image": b64(b"")}, 400, "invalid_shape"),
    ({"image": b64(png_bytes()[:40])}, 422, "invalid_image"),
    ({"image": b64(b"GIF89a" + b"\x00" * 10)}, 422, "invalid_image"),
    ({"image": b64(b"hello world, not an image")}, 422, "invalid_image"),
    ({"image": b64(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>')}, 415, "unsupported_image_type"),
    ({"image": b64(png_bytes(fmt="TIFF"))}, 415, "unsupported_image_type"),
    ({"image": b64(png_bytes()), "context": "caption"}, 400, "invalid_shape"),
    ({"image": b64(png_bytes()), "html": "x" * 70_000}, 413, "html_too_large"),
    ("just a string", 400, "invalid_shape"),
])
def test_bad_item_fails_batch_with_its_index(client, token, item, status, code):
    good = {"image": b64(png_bytes())}
    assert_error(post_describe(client, token, [good, item]), status, code, index=1)


def test_limits(make_app):
    app = make_app(max_body_bytes=200_000, max_image_bytes=50_000, max_image_pixels=10_000, max_batch=2)
    client, token = app.test_client(), make_token(app)
    small = {"image": b64(png_bytes())}
    assert_error(post_describe(client, token, [small] * 3), 413, "batch_too_large")
    assert_error(post_describe(client, token, [{"image": b64(png_bytes((200, 200)))}]), 413, "too_many_pixels", 0)
    noisy = Image.frombytes("L", (230, 230), bytes(range(256)) * 207)
    buffer = io.BytesIO()
    noisy.save(buffer, "BMP")
    assert_error(post_describe(client, token, [{"image": b64(buffer.getvalue())}]), 413, "image_too_large", 0)
    assert_error(post_describe(client, token, [{"image": "A" * 300_000}]), 413)


def test_feedback_errors(client, token):
    generation = post_describe(client, token, [{"image": b64(png_bytes())}]).get_json()["results"][0]["generation_id"]
    post = lambda body: client.post("/api/v1/feedback", headers=auth(token), json=body)  # noqa: E731
    assert_error(post({"generation_id": "f" * 32, "kind": "rate", "rating": "up"}), 404, "unknown_generation")
    assert_error(post({"generation_id": generation, "kind": "rate"}), 400, "invalid_shape")
    assert_error(post({"generation_id": generation, "kind": "correct", "text": "<img src=x onerror=alert(1)>"}), 422, "invalid_text")
    assert_error(post({"generation_id": generation, "kind": "pick", "candidate_index": 5}), 422, "invalid_candidate")
    assert_error(client.post("/api/v1/feedback", headers=auth(token), data="x", content_type="text/plain"), 415)


def test_unknown_route_and_method_are_json(client):
    assert_error(client.get("/nowhere"), 404)
    response = client.get("/api/v1/describe")
    assert_error(response, 405)


def test_rate_limit_per_token_answers_429_with_retry_after(make_app):
    app = make_app(ratelimit_token="3 per minute")
    client, token, other = app.test_client(), make_token(app, "a"), make_token(app, "b")
    statuses = [client.post("/api/v1/feedback", headers=auth(token), json={}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    response = client.post("/api/v1/feedback", headers=auth(token), json={})
    assert_error(response, 429)
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert client.post("/api/v1/feedback", headers=auth(other), json={}).status_code == 400  # others unaffected
    assert client.get("/api/v1/model").status_code == 200  # reads are not limited


def test_rate_limit_per_address(make_app):
    app = make_app(ratelimit_address="2 per minute")
    client = app.test_client()
    tokens = [make_token(app, f"t{i}") for i in range(3)]
    statuses = [client.post("/api/v1/feedback", headers=auth(t), json={}).status_code for t in tokens]
    assert statuses == [400, 400, 429]
    other_address = client.post("/api/v1/feedback", headers=auth(tokens[0]), json={},
                                environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 400


def test_no_model_is_503_with_retry_after(make_app):
    app = make_app(engine=None)
    client, token = app.test_client(), make_token(app)
    response = post_describe(client, token, [{"image": b64(png_bytes())}])
    assert_error(response, 503, "no_model")
    assert response.headers["Retry-After"]
    assert_error(client.get("/api/v1/model"), 503, "no_model")
    assert client.get("/api/v1/health").get_json()["status"] == "degraded"


def test_database_down_describe_works_feedback_503(app, client, token, tmp_path):
    item = [{"image": b64(png_bytes())}]
    assert post_describe(client, token, item).status_code == 200  # the token is now known to this process
    with database_unreachable(app, tmp_path):
        response = post_describe(client, token, [{"image": b64(png_bytes((5, 5)))}])
        assert response.status_code == 200 and response.get_json()["results"][0]["description"] == "thing 5x5"
        feedback = client.post("/api/v1/feedback", headers=auth(token), json={"generation_id": "x", "kind": "rate", "rating": "up"})
        assert_error(feedback, 503, "database_unavailable")
        assert feedback.headers["Retry-After"]
        assert_error(post_describe(client, "alt_unknown", item), 503)  # unknown tokens cannot be checked
        assert client.get("/api/v1/health").get_json()["database"] == "unavailable"
    assert post_describe(client, token, [{"image": b64(png_bytes((5, 5)))}]).status_code == 200  # recovered


@pytest.mark.parametrize("origin, allowed", [
    ("chrome-extension://abcdefghijklmnop", True),
    ("moz-extension://0c1d2e3f-aaaa-bbbb", True),
    ("https://evil.example", False),
    ("chrome-extension://abc.evil.example", False),
    ("null", False),
])
def test_cors_only_for_extension_origins(client, origin, allowed):
    response = client.options("/api/v1/describe", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert (response.headers.get("Access-Control-Allow-Origin") == origin) is allowed
    get = client.get("/api/v1/model", headers={"Origin": origin})
    assert (get.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_metrics_count_requests(client, token):
    post_describe(client, token, [{"image": b64(png_bytes())}])
    text = client.get("/metrics").get_data(as_text=True)
    assert 'altlens_http_requests_total{method="POST",route="/api/v1/describe",status="200"}' in text
    assert "altlens_descriptions_total" in text


def test_openapi_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document == json.loads(json.dumps(openapi_document()))
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert routes == set(document["paths"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert method.upper() in next(r for r in app.url_map.iter_rules() if r.rule == path).methods
            assert "500" in operation["responses"]
