"""A user erases what their token sent (DELETE /api/v1/my-data); other users' data and the token stay."""
from __future__ import annotations

from sqlalchemy import func, select

from backend.models import Feedback, Generation, Image, PreferencePair
from backend_helpers import auth, b64, make_token, png_bytes, services_of


def describe(client, token, data, caption="Sales"):
    response = client.post("/api/v1/describe", headers=auth(token),
                           json={"images": [{"image": b64(data), "context": {"caption": caption}}]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["results"][0]["generation_id"]


def correct(client, token, generation):
    response = client.post("/api/v1/feedback", headers=auth(token),
                           json={"generation_id": generation, "kind": "correct", "text": "Bar chart of sales"})
    assert response.status_code == 201, response.get_json()


def counts(app, client_id=None):
    with services_of(app).db.session() as session:
        def n(model, column=None):
            query = select(func.count()).select_from(model)
            if client_id is not None and column is not None:
                query = query.where(column == client_id)
            return session.scalar(query)
        return {"generations": n(Generation, Generation.client_id), "feedback": n(Feedback, Feedback.client_id),
                "pairs": n(PreferencePair, PreferencePair.client_id), "images": n(Image)}


def client_id(app, name):
    from backend.models import Client
    with services_of(app).db.session() as session:
        return session.scalar(select(Client.id).where(Client.name == name))


def test_erasing_my_data_removes_what_i_sent_and_nothing_else(app):
    client = app.test_client()
    mine, theirs = make_token(app, "me"), make_token(app, "them")
    shared = png_bytes((20, 20))
    correct(client, mine, describe(client, mine, png_bytes((12, 8))))  # an image only I sent
    correct(client, mine, describe(client, mine, shared))
    correct(client, theirs, describe(client, theirs, png_bytes((30, 10), color=(1, 2, 3))))
    # the same image in another context: "them" gets a generation of its own (the same image and
    # context would be answered with the stored generation, whoever asked first)
    correct(client, theirs, describe(client, theirs, shared, caption="Revenue"))
    me, them = client_id(app, "me"), client_id(app, "them")
    theirs_before = counts(app, them)
    assert counts(app, me)["generations"] == 2 and counts(app, me)["pairs"] >= 2

    assert client.delete("/api/v1/my-data").status_code == 401  # a token is needed
    response = client.delete("/api/v1/my-data", headers=auth(mine))
    assert response.status_code == 200
    erased = response.get_json()["erased"]
    assert erased["generations"] == 2 and erased["feedback"] == 2 and erased["pairs"] >= 2, (erased, theirs_before)
    assert erased["images"] == 1  # the shared image stays: another user's generation uses it
    after = counts(app, me)
    assert (after["generations"], after["feedback"], after["pairs"]) == (0, 0, 0)
    assert {k: v for k, v in counts(app, them).items() if k != "images"} == \
        {k: v for k, v in theirs_before.items() if k != "images"}
    assert counts(app)["images"] == 2
    # the token still works, and nothing cached points at an erased generation
    generation = describe(client, mine, shared)
    correct(client, mine, generation)
    assert counts(app, me)["generations"] == 1


def test_drop_client_and_my_data_erase_the_same_way(app):
    client = app.test_client()
    token = make_token(app, "gone")
    correct(client, token, describe(client, token, png_bytes((9, 9))))
    result = app.test_cli_runner().invoke(args=["drop-client", "gone"])
    assert result.exit_code == 0, result.output
    assert "1 generations, 1 images, 1 feedback" in result.output
    assert client.delete("/api/v1/my-data", headers=auth(token)).status_code == 401  # the client is gone too
