"""POST /api/v1/feedback: rate, correct, pick or choose → Feedback and PreferencePair rows."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend.auth import bearer_token
from backend.describing import parse_json_body
from backend.metrics import FEEDBACK, PAIRS
from backend.preferences import record_feedback
from backend.state import services, session

bp = Blueprint("feedback", __name__)


@bp.post("/feedback")
def feedback():
    svc = services()
    caller = svc.tokens.check(session(), bearer_token())
    body = parse_json_body(request)
    outcome = record_feedback(session(), caller, body, svc.config.pair_quota_per_day)
    FEEDBACK.labels(kind=str(body.get("kind")), replayed=str(outcome.replayed).lower()).inc()
    PAIRS.inc(outcome.pairs_created)
    answer = {"feedback_id": outcome.feedback_id, "pairs_created": outcome.pairs_created}
    if outcome.replayed:
        answer["replayed"] = True
    if outcome.quota_reached:
        answer["quota_reached"] = True
    return jsonify(answer), 200 if outcome.replayed else 201
