"""GET endpoints: the served model, health, and the OpenAPI document."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from backend.errors import ApiError
from backend.openapi import openapi_document
from backend.registry import NoModelError
from backend.state import services, session

bp = Blueprint("info", __name__)


@bp.get("/model")
def model():
    try:
        engine = services().registry.current()
    except NoModelError:
        raise ApiError(503, "no_model", "no model is being served yet") from None
    return jsonify({"version": engine.version, "provider": engine.provider,
                    "trained": bool(engine.trained), "note": engine.note})


@bp.get("/health")
def health():
    """Always 200 while the process serves; says which parts are degraded."""
    try:
        session().execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        session().rollback()
        database = "unavailable"
    try:  # the version actually served: CURRENT may name a version that was refused
        model_version = services().registry.current().version
    except NoModelError:
        model_version = None
    status = "ok" if database == "ok" and model_version else "degraded"
    return jsonify({"status": status, "database": database, "model": model_version})


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
