"""DELETE /api/v1/my-data: a user erases everything their token sent; the token stays valid.

The operator's `drop-client` does the same and also removes the client. Answers
this process cached for other clients may point at erased generations, so the
answer cache is emptied; other workers' caches expire within their TTL (README,
"Security and privacy").
"""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from backend.auth import bearer_token
from backend.erasure import erase_client_data
from backend.models import Client
from backend.state import services, session

bp = Blueprint("mydata", __name__)


@bp.delete("/my-data")
def erase_my_data():
    svc = services()
    caller = svc.tokens.check(session(), bearer_token())
    client = session().scalar(select(Client).where(Client.id == caller.id))
    counts = erase_client_data(session(), client, keep_client=True)
    svc.answers.clear()
    return jsonify({"erased": counts}), 200
