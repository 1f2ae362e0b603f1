"""POST /api/v1/describe: a batch of images (base64 JSON or multipart) → descriptions in order."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from backend.auth import bearer_token
from backend.describing import Describer, decode_items, items_from_json, items_from_multipart, parse_json_body
from backend.errors import ApiError
from backend.metrics import DESCRIPTIONS
from backend.registry import NoModelError
from backend.state import services, session

bp = Blueprint("describe", __name__)


@bp.post("/describe")
def describe():
    svc = services()
    caller = svc.tokens.check(session(), bearer_token(), allow_offline=True)
    if request.mimetype == "multipart/form-data":
        items = items_from_multipart(request, svc.config)
    else:
        items = items_from_json(parse_json_body(request), svc.config)
    try:
        engine = svc.registry.current()
    except NoModelError:
        raise ApiError(503, "no_model", "no model is being served yet") from None
    describer = Describer(engine, svc.ocr, session(), caller, svc.config.models_dir, svc.answers)
    answered = describer.remembered(items)
    decode_items(items, svc.config, answered)
    # A request answered wholly from memory does no model work, so it needs no describe slot.
    busy = any(item.key not in answered for item in items)
    if busy and not svc.slots.acquire(timeout=svc.config.queue_timeout_s):
        raise ApiError(503, "overloaded", "too many describe requests at once; try again shortly")
    try:
        results, cached = describer.describe(items, answered)
    finally:
        if busy:
            svc.slots.release()
    DESCRIPTIONS.labels(cached="true").inc(cached)
    DESCRIPTIONS.labels(cached="false").inc(len(results) - cached)
    return jsonify({"results": results})
