"""Every error the backend answers is JSON (docs/api.md), never HTML or a stack trace.

Views raise :class:`ApiError`; Werkzeug's HTTP errors (404 route, 405, 413 body
too large, 429 from flask-limiter), database outages (503) and anything
unexpected (500) are turned into the same shape here.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
    422: "unprocessable", 429: "rate_limited", 500: "internal_error", 503: "unavailable",
}
RETRY_AFTER_S = {429: 60, 503: 5}


class ApiError(Exception):
    """An error answer: HTTP status, a stable machine code, a human message, optionally a batch index."""

    def __init__(self, status: int, code: str, message: str, index: int | None = None,
                 retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.index = status, code, message, index
        self.retry_after = retry_after if retry_after is not None else RETRY_AFTER_S.get(status)

    def with_index(self, index: int) -> "ApiError":
        self.index = index
        return self


def error_response(status: int, code: str, message: str, index: int | None = None,
                   retry_after: int | None = None):
    body = {"status": status, "code": code, "message": message}
    if index is not None:
        body["index"] = index
    response = jsonify({"error": body})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.index, exc.retry_after)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            message = "request body too large"
        response = error_response(status, CODES.get(status, "http_error"), message,
                                  retry_after=RETRY_AFTER_S.get(status))
        if status == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def database_down(exc: Exception):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return error_response(503, "database_unavailable", "the database is unavailable; try again later",
                              retry_after=RETRY_AFTER_S[503])

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "internal error")
