"""Storage on SQLite and PostgreSQL alike: schema, describe records, feedback → exact pairs, guards, CLI."""
from __future__ import annotations

import base64
import json
import threading
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, update

from backend.models import Base, Client, Context, Feedback, Generation, Image, ModelVersion, PreferencePair, utcnow
from backend_helpers import auth, b64, make_token, png_bytes, services_of


def count(app, model) -> int:
    with services_of(app).db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def all_pairs(app):
    with services_of(app).db.session() as s:
        return [(p.chosen, p.rejected, p.weight, p.kind) for p in s.scalars(select(PreferencePair).order_by(PreferencePair.id))]


@pytest.fixture
def db_app(make_app, database_url):
    return make_app(database_url)


@pytest.fixture
def client_and_token(db_app):
    return db_app.test_client(), make_token(db_app, "alice")


def describe(client, token, data=None, caption="Sales"):
    response = client.post("/api/v1/describe", headers=auth(token), json={
        "images": [{"image": b64(data or png_bytes()), "context": {"caption": caption}}]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"][0]


def feedback(client, token, **body):
    return client.post("/api/v1/feedback", headers=auth(token), json=body)


def test_migrations_match_the_models(db_app):
    with services_of(db_app).db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_init_db_is_idempotent(db_app):
    services_of(db_app).db.upgrade()
    assert count(db_app, Client) == 0


def test_describe_stores_image_context_generation_and_model_version(db_app, client_and_token):
    client, token = client_and_token
    data = png_bytes((40, 30))
    result = describe(client, token, data, caption="Quarterly sales")
    with services_of(db_app).db.session() as s:
        generation = s.get(Generation, result["generation_id"])
        assert generation.description == "Quarterly sales 40x30"
        assert generation.candidates == ["A red square", "A square"]
        assert generation.model_version == "v0007"
        assert generation.image.data == data and (generation.image.width, generation.image.height) == (40, 30)
        assert generation.image.content_type == "image/png"
        assert generation.context.data["caption"] == "Quarterly sales"
        assert s.scalar(select(Client.name).where(Client.id == generation.client_id)) == "alice"
        assert s.scalar(select(ModelVersion.version)) == "v0007"


def test_same_image_and_context_is_stored_once(db_app, client_and_token):
    client, token = client_and_token
    first = describe(client, token)
    second = describe(client, token)
    assert second["cached"] and second["generation_id"] == first["generation_id"]
    describe(client, token, caption="Other caption")
    assert (count(db_app, Image), count(db_app, Context), count(db_app, Generation)) == (1, 2, 2)


def test_concurrent_describes_of_one_image_do_not_collide(db_app):
    token = make_token(db_app, "bob")
    statuses = []

    def worker(caption):
        with db_app.test_client() as c:
            statuses.append(c.post("/api/v1/describe", headers=auth(token), json={
                "images": [{"image": b64(png_bytes()), "context": {"caption": caption}}]}).status_code)

    threads = [threading.Thread(target=worker, args=(f"c{i}",)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert statuses == [200] * 6
    assert (count(db_app, Image), count(db_app, Generation)) == (1, 6)


@pytest.mark.parametrize("body, expected", [
    ({"kind": "correct", "text": "Bar chart of quarterly sales"},
     [("Bar chart of quarterly sales", "Sales 32x24", 1.0, "correct")]),
    ({"kind": "pick", "candidate_index": 1}, [("A square", "Sales 32x24", 1.0, "pick")]),
    ({"kind": "choose", "shown": ["A red square", "A square"], "chosen_index": 1},
     [("A square", "A red square", 1.0, "choose")]),
    ({"kind": "rate", "rating": "down"}, []),
    ({"kind": "rate", "rating": "up"}, [("Sales 32x24", "A square", 0.5, "rate")]),
])
def test_each_feedback_kind_creates_exactly_its_pairs(db_app, client_and_token, body, expected):
    client, token = client_and_token
    generation = describe(client, token)
    response = feedback(client, token, generation_id=generation["generation_id"], **body)
    assert response.status_code == 201
    assert response.get_json()["pairs_created"] == len(expected)
    assert all_pairs(db_app) == expected
    assert count(db_app, Feedback) == 1


def test_pairs_carry_provenance(db_app, client_and_token):
    client, token = client_and_token
    generation = describe(client, token)
    feedback_id = feedback(client, token, generation_id=generation["generation_id"], kind="pick",
                           candidate_index=0).get_json()["feedback_id"]
    with services_of(db_app).db.session() as s:
        pair = s.scalar(select(PreferencePair))
        assert pair.feedback_id == feedback_id
        assert pair.generation_id == generation["generation_id"]
        assert s.get(Client, pair.client_id).name == "alice"
        assert pair.image_sha256 == s.get(Generation, generation["generation_id"]).image.sha256
        assert pair.created_at is not None and pair.context.data["caption"] == "Sales"


def test_replayed_feedback_is_idempotent(db_app, client_and_token):
    client, token = client_and_token
    generation = describe(client, token)
    body = dict(generation_id=generation["generation_id"], kind="correct", text="A stop sign")
    first = feedback(client, token, **body)
    replay = feedback(client, token, **body)
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.get_json() == {"feedback_id": first.get_json()["feedback_id"], "pairs_created": 0, "replayed": True}
    assert (count(db_app, Feedback), count(db_app, PreferencePair)) == (1, 1)


def test_identical_pairs_are_stored_once(db_app, client_and_token):
    client, token = client_and_token
    other = make_token(db_app, "carol")
    generation = describe(client, token)
    gid = generation["generation_id"]
    assert feedback(client, token, generation_id=gid, kind="pick", candidate_index=0).get_json()["pairs_created"] == 1
    # Same pair (A red square over the generated text) from another feedback kind and another client.
    response = feedback(client, other, generation_id=gid, kind="choose",
                        shown=["Sales 32x24", "A red square"], chosen_index=1)
    assert response.status_code == 201 and response.get_json()["pairs_created"] == 0
    assert (count(db_app, Feedback), count(db_app, PreferencePair)) == (2, 1)


def test_pair_quota_per_client(make_app, database_url):
    app = make_app(database_url, pair_quota_per_day=3)
    client, token = app.test_client(), make_token(app, "spammer")
    other = make_token(app, "other", quota=10)
    created = []
    for i in range(5):
        generation = describe(client, token, caption=f"caption {i}")
        answer = feedback(client, token, generation_id=generation["generation_id"], kind="correct",
                          text=f"Poisoned text {i}").get_json()
        created.append((answer["pairs_created"], answer.get("quota_reached", False)))
    assert created == [(1, False)] * 3 + [(0, True)] * 2
    assert count(app, Feedback) == 5 and count(app, PreferencePair) == 3
    generation = describe(client, other, caption="fresh")
    assert feedback(client, other, generation_id=generation["generation_id"], kind="rate",
                    rating="up").get_json()["pairs_created"] == 1
    with services_of(app).db.session() as s:  # the window slides: old pairs stop counting
        s.execute(update(PreferencePair).values(created_at=utcnow() - timedelta(hours=25)))
        s.commit()
    generation = describe(client, token, caption="tomorrow")
    assert feedback(client, token, generation_id=generation["generation_id"], kind="correct",
                    text="Next day text").get_json()["pairs_created"] == 1


def test_unknown_generation_is_404(client_and_token):
    client, token = client_and_token
    response = feedback(client, token, generation_id="0" * 32, kind="rate", rating="up")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "unknown_generation"


def test_tokens_are_hashed_at_rest(db_app):
    runner = db_app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "dave"])
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alt_") and len(lines[0]) > 40
    token = lines[0]
    with services_of(db_app).db.session() as s:
        stored = s.scalar(select(Client).where(Client.name == "dave"))
        assert token not in (stored.token_hash, stored.name)
        assert len(stored.token_hash) == 64
    assert db_app.test_client().post("/api/v1/feedback", headers=auth(token), json={}).status_code == 400
    assert runner.invoke(args=["tokens", "check", token]).stdout.strip() == "valid"
    assert runner.invoke(args=["tokens", "create", "dave"]).exit_code != 0
    assert runner.invoke(args=["tokens", "revoke", "dave"]).exit_code == 0
    assert runner.invoke(args=["tokens", "check", token]).stdout.strip() == "invalid"
    response = db_app.test_client().post("/api/v1/feedback", headers=auth(token), json={})
    assert response.status_code == 401
    assert runner.invoke(args=["tokens", "revoke", "nobody"]).exit_code != 0


def test_export_pairs_jsonl(db_app, client_and_token, tmp_path):
    client, token = client_and_token
    data = png_bytes((20, 20), (0, 0, 255))
    generation = describe(client, token, data)
    feedback(client, token, generation_id=generation["generation_id"], kind="correct", text="Blue tile")
    feedback(client, token, generation_id=generation["generation_id"], kind="rate", rating="up")
    runner = db_app.test_cli_runner()
    out = tmp_path / "pairs.jsonl"
    assert runner.invoke(args=["export-pairs", "--out", str(out)]).exit_code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["chosen"], r["rejected"], r["weight"]) for r in records] == [
        ("Blue tile", "Sales 20x20", 1.0), ("Sales 20x20", "A square", 0.5)]
    assert base64.b64decode(records[0]["image_base64"]) == data
    assert records[0]["context"]["caption"] == "Sales"
    assert records[0]["provenance"]["client"] == "alice"
    assert records[0]["provenance"]["generation_id"] == generation["generation_id"]
    assert records[0]["provenance"]["model_version"] == "v0007"

    images_dir = tmp_path / "images"
    future = (utcnow() + timedelta(hours=1)).isoformat()
    assert runner.invoke(args=["export-pairs", "--out", str(out), "--since", future]).exit_code == 0
    assert out.read_text() == ""
    past = (utcnow() - timedelta(hours=1)).isoformat()
    runner.invoke(args=["export-pairs", "--out", str(out), "--since", past, "--images-dir", str(images_dir)])
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 2
    with open(records[0]["image_path"], "rb") as handle:
        assert handle.read() == data
    assert runner.invoke(args=["export-pairs", "--out", str(out), "--since", "yesterday"]).exit_code != 0


def test_purge_images_older_than_retention(db_app, client_and_token, tmp_path):
    client, token = client_and_token
    old = describe(client, token, png_bytes(color=(1, 2, 3)))
    describe(client, token, png_bytes(color=(4, 5, 6)))
    feedback(client, token, generation_id=old["generation_id"], kind="pick", candidate_index=0)
    with services_of(db_app).db.session() as s:
        s.execute(update(Image).where(Image.id == s.get(Generation, old["generation_id"]).image_id)
                  .values(created_at=utcnow() - timedelta(days=40)))
        s.commit()
    runner = db_app.test_cli_runner()
    assert runner.invoke(args=["purge-images", "--older-than-days", "30"]).exit_code == 0
    with services_of(db_app).db.session() as s:
        kept = {i.data is not None for i in s.scalars(select(Image))}
        assert kept == {True, False}
    out = tmp_path / "pairs.jsonl"
    runner.invoke(args=["export-pairs", "--out", str(out)])
    assert out.read_text() == ""  # the only pair's image is gone


def test_drop_client_removes_everything_it_sent(db_app, client_and_token):
    client, token = client_and_token
    other = make_token(db_app, "erin")
    shared = png_bytes(color=(9, 9, 9))
    mine = describe(client, token, png_bytes(color=(7, 7, 7)))
    describe(client, token, shared, caption="A")
    theirs = describe(client, other, shared, caption="B")
    feedback(client, token, generation_id=mine["generation_id"], kind="pick", candidate_index=0)
    feedback(client, token, generation_id=theirs["generation_id"], kind="pick", candidate_index=0)
    feedback(client, other, generation_id=theirs["generation_id"], kind="pick", candidate_index=1)
    feedback(client, other, generation_id=mine["generation_id"], kind="rate", rating="up")
    result = db_app.test_cli_runner().invoke(args=["drop-client", "alice"])
    assert result.exit_code == 0, result.output
    with services_of(db_app).db.session() as s:
        assert [c.name for c in s.scalars(select(Client))] == ["erin"]
        assert [g.id for g in s.scalars(select(Generation))] == [theirs["generation_id"]]
        assert s.scalar(select(func.count()).select_from(Image)) == 1  # the shared image stays for erin
        assert [(p.chosen, p.client_id is not None) for p in s.scalars(select(PreferencePair))] == [("A square", True)]
        assert s.scalar(select(func.count()).select_from(Feedback)) == 1
    assert client.post("/api/v1/feedback", headers=auth(token), json={}).status_code == 401


def test_a_batch_costs_the_database_the_same_statements_whatever_its_size(db_app, client_and_token):
    """One cache lookup and one insert per table for a request, not one per image; a mixed batch
    (a stored image, a repeat inside the batch, new ones) is still answered item by item."""
    from sqlalchemy import event

    client, token = client_and_token
    engine = services_of(db_app).db.engine
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    def batch(sizes, caption="Sales"):
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            response = client.post("/api/v1/describe", headers=auth(token), json={
                "images": [{"image": b64(png_bytes(size)), "context": {"caption": caption}} for size in sizes]})
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["results"], len(statements)

    _, two = batch([(5, 5), (6, 6)])
    results, twelve = batch([(5, 5)] + [(7 + i, 7) for i in range(10)] + [(7, 7)])
    assert twelve == two  # ten more images, not one more statement
    assert [r["cached"] for r in results] == [True] + [False] * 11
    assert results[1]["generation_id"] == results[-1]["generation_id"]  # the repeat is described once
    assert count(db_app, Generation) == 2 + 10 and count(db_app, Image) == 12
