"""The hostile corpus (hostile/manifest.json) against the app: each input gets its stated answer.

Every error is a JSON body ``{"error": {status, code, message}}`` with a 4xx
status — never a 500 — and the service still answers /api/v1/health after the
whole corpus. The app serves the tiny real model, so the inputs that must be
accepted really go through decoding, the model and storage.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from reliability_helpers import token_for

HOSTILE = Path(__file__).resolve().parent / "hostile"
MANIFEST = json.loads((HOSTILE / "manifest.json").read_text())
CASES = MANIFEST["cases"]


def b64_file(name: str) -> str:
    return base64.b64encode((HOSTILE / "files" / name).read_bytes()).decode()


def _describe(items) -> bytes:
    return json.dumps({"images": items}).encode()


def _png() -> str:
    return b64_file("valid.png")


# Bodies too big (or too regular) to store: built here from the manifest's parameters.
GENERATORS = {
    "oversized_body": lambda p: _describe([{"image": "A" * p["bytes"]}]),
    "batch": lambda p: _describe([{"image": _png()}] * p["n"]),
    "big_image_b64": lambda p: _describe([{"image": "A" * p["bytes"]}]),
    "nested_arrays": lambda p: b"[" * p["depth"] + b"]" * p["depth"],
    "nested_caption": lambda p: _describe([{"image": _png(), "context": {
        "caption": json.loads("[" * p["depth"] + "]" * p["depth"])}}]),
    "long_context": lambda p: _describe([{"image": _png(), "context": {
        name: "word " * (p["chars"] // 5) for name in ("caption", "heading", "surrounding_text", "page_title")}}]),
    "long_html": lambda p: _describe([{"image": _png(), "html": "<p>" + "x" * p["chars"] + "</p><img>"}]),
    "long_feedback": lambda p: json.dumps({"generation_id": "@GENERATION@", "kind": "correct",
                                           "text": "a" * p["chars"]}).encode(),
}


def substitute(data: bytes | str, generation_id: str) -> bytes:
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    for key, value in {"@PNG@": _png(), "@GENERATION@": generation_id}.items():
        text = text.replace(key, value)
    return text.encode("utf-8", "surrogateescape")


def build_request(case: dict, token: str, generation_id: str) -> dict:
    """Keyword arguments for the Flask test client's ``open``."""
    body = case["body"]
    path = case.get("path", "/api/v1/describe").replace("@LONG_PATH@", "a" * 8000)
    auth = case.get("auth", "token")
    headers = {}
    if auth == "token":
        headers["Authorization"] = f"Bearer {token}"
    elif auth != "none":
        headers["Authorization"] = auth.replace("@LONG_TOKEN@", "x" * 10_000)
    request = {"method": case.get("method", "POST"), "path": path, "headers": headers}
    content_type = case.get("content_type", "application/json")
    if "multipart" in body:
        files = [(io.BytesIO((HOSTILE / "files" / f["file"]).read_bytes()), f["file"], f["mimetype"])
                 for f in body["multipart"]]
        data = {"image": files} if files else {"other": "x"}
        if "items" in body:
            data["items"] = body["items"]
        request.update(data=data, content_type="multipart/form-data")
        return request
    if "none" in body:
        return request
    if "image_file" in body:
        raw = _describe([{"image": b64_file(body["image_file"])}])
    elif "json" in body:
        raw = json.dumps(body["json"]).encode()
    elif "raw" in body:
        raw = body["raw"].encode("utf-8", "surrogatepass")
    elif "raw_hex" in body:
        raw = bytes.fromhex(body["raw_hex"])
    else:
        spec = dict(body["generate"] if isinstance(body["generate"], dict) else body)
        raw = GENERATORS[spec.pop("generate")](spec)
    request["data"] = substitute(raw, generation_id)
    if content_type:
        request["content_type"] = content_type
    return request


@pytest.fixture(scope="module")
def corpus_app(tiny_onnx, tmp_path_factory):
    """One app for the whole corpus (as a long-running server would see it), SQLite, tiny model."""
    from backend import create_app
    from backend.registry import ModelRegistry
    from backend.state import EXTENSION_KEY

    root = tmp_path_factory.mktemp("corpus")
    ModelRegistry(root / "models").publish(tiny_onnx)
    app = create_app({"database_url": f"sqlite:///{root / 'altlens.db'}", "models_dir": str(root / "models"),
                      "model_poll_s": 0, "ocr": "off", "testing": True,
                      "ratelimit_token": "100000 per minute", "ratelimit_address": "100000 per minute"})
    app.extensions[EXTENSION_KEY].db.upgrade()
    token = token_for(app, "hostile")
    answer = app.test_client().post("/api/v1/describe", headers={"Authorization": f"Bearer {token}"},
                                    json={"images": [{"image": _png()}]})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    yield app, token, answer.get_json()["results"][0]["generation_id"]
    app.extensions[EXTENSION_KEY].db.dispose()


def test_manifest_is_complete_and_files_exist():
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names)) >= 40
    used = {case["body"].get("image_file") for case in CASES} | {
        f["file"] for case in CASES for f in case["body"].get("multipart", [])}
    stored = {p.name for p in (HOSTILE / "files").iterdir()}
    assert used - {None} <= stored
    assert stored - used <= {"valid.png"}, "every stored file is used by a case"
    for case in CASES:
        assert case["expect"] and len(case["expect"]) == case.get("repeat", 1), case["name"]
        assert all(e["status"] != 500 for e in case["expect"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_input_gets_its_answer(corpus_app, case):
    app, token, generation_id = corpus_app
    client = app.test_client()
    for expected in case["expect"]:
        request = build_request(case, token, generation_id)
        response = client.open(**request)
        assert response.status_code == expected["status"], response.get_data(as_text=True)[:500]
        assert response.mimetype == "application/json"
        body = response.get_json()
        if response.status_code >= 400:
            error = body["error"]
            assert error["status"] == response.status_code and error["message"]
            assert "Traceback" not in error["message"]
            if "code" in expected:
                assert error["code"] == expected["code"]
            if "index" in expected:
                assert error.get("index") == expected["index"]
        elif request["path"].endswith("/describe"):
            results = body["results"]
            assert len(results) >= 1 and all(isinstance(r["description"], str) for r in results)
            assert all(len(r["description"]) <= 500 for r in results)
        else:
            assert body["feedback_id"]


def test_service_still_answers_after_the_corpus(corpus_app):
    app, token, _ = corpus_app
    client = app.test_client()
    health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.get_json()["status"] == "ok"
    again = client.post("/api/v1/describe", headers={"Authorization": f"Bearer {token}"},
                        json={"images": [{"image": _png(), "context": {"caption": "after"}}]})
    assert again.status_code == 200
