"""The in-process answer cache: a repeat is answered without decoding or the model, keeps the stored
generation id, misses for a new model version, stays bounded, and holds only stored answers."""
from __future__ import annotations

import pytest

import backend.describing
from backend.answer_cache import AnswerCache
from backend_helpers import auth, b64, database_unreachable, make_token, png_bytes, services_of


@pytest.fixture
def decodes(monkeypatch):
    """Counts every image the describe flow decodes."""
    calls = []
    real = backend.describing.decode_image

    def counting(data, *args):
        calls.append(data)
        return real(data, *args)

    monkeypatch.setattr(backend.describing, "decode_image", counting)
    return calls


def describe(client, token, data, caption="Sales"):
    response = client.post("/api/v1/describe", headers=auth(token), json={
        "images": [{"image": b64(data), "context": {"caption": caption}}]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"][0]


def test_repeat_is_answered_from_memory_with_the_same_description_and_generation(app, decodes):
    client, token = app.test_client(), make_token(app)
    engine = services_of(app).registry.engine
    first = describe(client, token, png_bytes((12, 8)))
    again = describe(client, token, png_bytes((12, 8)))
    assert first["cached"] is False and again["cached"] is True
    assert {k: v for k, v in again.items() if k != "cached"} == {k: v for k, v in first.items() if k != "cached"}
    assert engine.calls == [1] and len(decodes) == 1  # the hit decoded nothing and ran no model
    answer = client.post("/api/v1/feedback", headers=auth(token),
                         json={"generation_id": again["generation_id"], "kind": "pick", "candidate_index": 1})
    assert answer.status_code == 201 and answer.get_json()["pairs_created"] == 1


def test_another_context_for_the_same_image_misses(app):
    client, token = app.test_client(), make_token(app)
    describe(client, token, png_bytes(), caption="One")
    other = describe(client, token, png_bytes(), caption="Two")
    assert other["cached"] is False and other["description"] == "Two 32x24"


def test_new_model_version_misses(app, decodes):
    client, token = app.test_client(), make_token(app)
    engine = services_of(app).registry.engine
    describe(client, token, png_bytes())
    engine.version = "v0008"  # what a hot swap changes
    swapped = describe(client, token, png_bytes())
    assert swapped["cached"] is False and swapped["model_version"] == "v0008"
    assert engine.calls == [1, 1] and len(decodes) == 2


def test_cache_is_bounded_and_drops_the_least_recently_used(make_app, decodes):
    app = make_app(answer_cache_entries=2)
    client, token = app.test_client(), make_token(app)
    images = [png_bytes((w, 4)) for w in (3, 4, 5)]
    for data in images:
        describe(client, token, data)
    assert len(services_of(app).answers) == 2
    decodes.clear()
    assert all(describe(client, token, data)["cached"] for data in images[1:])
    assert decodes == []
    evicted = describe(client, token, images[0])
    assert evicted["cached"] is True and decodes == [images[0]]  # answered by the database cache instead


def test_answers_not_stored_are_not_remembered(app, tmp_path):
    """With the database down a generation id cannot be used for feedback, so it must not be served again."""
    client, token = app.test_client(), make_token(app)
    describe(client, token, png_bytes())  # the token is now known to this process
    with database_unreachable(app, tmp_path) as services:
        before = len(services.answers)
        assert describe(client, token, png_bytes((5, 5)))["cached"] is False
        assert len(services.answers) == before


def test_a_request_wholly_answered_from_memory_needs_no_describe_slot(make_app):
    app = make_app(max_concurrent_describe=1, queue_timeout_s=0.05)
    client, token = app.test_client(), make_token(app)
    describe(client, token, png_bytes())
    slots = services_of(app).slots
    assert slots.acquire(timeout=1)  # every slot taken, as under overload
    try:
        assert describe(client, token, png_bytes())["cached"] is True
        refused = client.post("/api/v1/describe", headers=auth(token),
                              json={"images": [{"image": b64(png_bytes((6, 6)))}]})
        assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "overloaded"
    finally:
        slots.release()


def test_bad_image_beside_a_remembered_one_still_fails_with_its_index(app):
    client, token = app.test_client(), make_token(app)
    describe(client, token, png_bytes())
    response = client.post("/api/v1/describe", headers=auth(token), json={"images": [
        {"image": b64(png_bytes()), "context": {"caption": "Sales"}}, {"image": b64(b"\x89PNG broken")}]})
    assert response.status_code == 422 and response.get_json()["error"]["index"] == 1


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_entries_expire_after_their_time_to_live():
    clock = Clock()
    cache = AnswerCache(10, ttl_s=60, clock=clock)
    cache.put(("img", "ctx", "v1"), {"description": "A cart", "candidates": ["Cart"], "cached": False})
    clock.now = 59
    assert cache.get(("img", "ctx", "v1")) == {"description": "A cart", "candidates": ["Cart"], "cached": True}
    clock.now = 61
    assert cache.get(("img", "ctx", "v1")) is None and len(cache) == 0


def test_a_caller_changing_a_hit_does_not_change_the_cache():
    cache = AnswerCache(10, ttl_s=60)
    cache.put(("img", "ctx", "v1"), {"candidates": ["Cart"]})
    cache.get(("img", "ctx", "v1"))["candidates"].append("Basket")
    assert cache.get(("img", "ctx", "v1"))["candidates"] == ["Cart"]


def test_zero_entries_turns_the_cache_off():
    cache = AnswerCache(0, ttl_s=60)
    cache.put(("img", "ctx", "v1"), {"description": "A cart"})
    assert len(cache) == 0 and cache.get(("img", "ctx", "v1")) is None
