"""The OpenAPI 3.1 document of API v1, written by hand to match docs/api.md and the views.

Kept next to the code it describes; tests check every route is in it, and
schemathesis fuzzes the running backend from it.
"""
from __future__ import annotations

from typing import Any

STRING = {"type": "string"}


def _error(description: str, retry_after: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if retry_after:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}
    return response


ERRORS = {
    "400": _error("Malformed JSON or wrong shape"),
    "401": _error("Missing, unknown or revoked token"),
    "404": _error("Unknown generation id"),
    "413": _error("Body, batch, image or HTML fragment too large"),
    "415": _error("Wrong content type or image format (SVG is refused)"),
    "422": _error("Valid JSON, unusable content (bad image, bad text, bad index)"),
    "429": _error("Rate limited", retry_after=True),
    "503": _error("Overloaded, no model yet, or database down", retry_after=True),
    "500": _error("Internal error (a bug; never a stack trace)"),
}

CONTEXT = {
    "type": "object",
    "description": "What the page says about the image; unknown keys are ignored, text fields are cleaned and cut.",
    "properties": {
        **{name: STRING for name in ("page_title", "lang", "caption", "heading", "surrounding_text",
                                     "control_role", "control_text", "control_href", "file_name")},
        "only_content": {"type": "boolean"},
        "width": {"type": "integer"},
        "height": {"type": "integer"},
    },
}

DESCRIBE_ITEM = {
    "type": "object",
    "required": ["image"],
    "properties": {
        "image": {"type": "string", "contentEncoding": "base64", "description": "image bytes, base64, no data: prefix"},
        "context": {"$ref": "#/components/schemas/PageContext"},
        "html": {"type": "string", "maxLength": 65536, "description": "HTML fragment around the image, used when context is absent"},
        "image_id": {"type": "string", "description": "id or data-altlens-id of the img meant in html"},
    },
}

RESULT = {
    "type": "object",
    "required": ["generation_id", "description", "decorative", "confidence", "low_confidence", "honest", "ocr_text",
                 "model_version", "candidates", "cached"],
    "properties": {
        "generation_id": STRING,
        "description": STRING,
        "decorative": {"type": "boolean"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "low_confidence": {"type": "boolean"},
        "honest": {"type": "boolean", "description": "the honest form: nothing supported the model's answer"},
        "ocr_text": STRING,
        "model_version": STRING,
        "candidates": {"type": "array", "items": STRING},
        "cached": {"type": "boolean"},
    },
}

FEEDBACK = {
    "oneOf": [
        {"type": "object", "required": ["generation_id", "kind", "rating"],
         "properties": {"generation_id": STRING, "kind": {"const": "rate"}, "rating": {"enum": ["up", "down"]}}},
        {"type": "object", "required": ["generation_id", "kind", "text"],
         "properties": {"generation_id": STRING, "kind": {"const": "correct"},
                        "text": {"type": "string", "minLength": 2, "maxLength": 300}}},
        {"type": "object", "required": ["generation_id", "kind", "candidate_index"],
         "properties": {"generation_id": STRING, "kind": {"const": "pick"},
                        "candidate_index": {"type": "integer", "minimum": 0}}},
        {"type": "object", "required": ["generation_id", "kind", "shown", "chosen_index"],
         "properties": {"generation_id": STRING, "kind": {"const": "choose"},
                        "shown": {"type": "array", "items": STRING, "minItems": 2, "maxItems": 2},
                        "chosen_index": {"enum": [0, 1]}}},
    ]
}

FEEDBACK_RESULT = {
    "type": "object",
    "required": ["feedback_id", "pairs_created"],
    "properties": {"feedback_id": STRING, "pairs_created": {"type": "integer", "minimum": 0},
                   "replayed": {"type": "boolean"}, "quota_reached": {"type": "boolean"}},
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: ERRORS[code] for code in codes + ("500",)}


def openapi_document() -> dict[str, Any]:
    secured = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "altlens backend", "version": "1",
                 "description": "Alt text for images that lack it. See docs/api.md."},
        "paths": {
            "/api/v1/describe": {"post": {
                "operationId": "describe",
                "summary": "Describe a batch of images (results in request order)",
                "security": secured,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {
                        "type": "object", "required": ["images"],
                        "properties": {"images": {"type": "array", "minItems": 1, "maxItems": 32,
                                                  "items": {"$ref": "#/components/schemas/DescribeItem"}}}}},
                    "multipart/form-data": {"schema": {
                        "type": "object", "required": ["image"],
                        "properties": {"image": {"type": "array", "items": {"type": "string", "contentMediaType": "application/octet-stream"}},
                                       "items": {"type": "string", "description": "JSON list of {context, html, image_id}"}}}},
                }},
                "responses": {"200": _json({"type": "object", "required": ["results"], "properties": {
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}}}, "Descriptions"),
                    **_errors("400", "401", "413", "415", "422", "429", "503")},
            }},
            "/api/v1/feedback": {"post": {
                "operationId": "feedback",
                "summary": "Rate, correct, pick a candidate or choose between two",
                "security": secured,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Feedback"}}}},
                "responses": {"201": _json({"$ref": "#/components/schemas/FeedbackResult"}, "Stored"),
                              "200": _json({"$ref": "#/components/schemas/FeedbackResult"}, "A replay of stored feedback; nothing new stored"),
                              **_errors("400", "401", "404", "413", "415", "422", "429", "503")},
            }},
            "/api/v1/my-data": {"delete": {
                "operationId": "eraseMyData",
                "summary": "Erase everything this token sent (generations, images only it sent, feedback, pairs)",
                "security": secured,
                "responses": {"200": _json({"type": "object", "required": ["erased"], "properties": {"erased": {
                    "type": "object", "required": ["generations", "images", "feedback", "pairs"],
                    "properties": {k: {"type": "integer", "minimum": 0}
                                   for k in ("generations", "images", "feedback", "pairs")}}}}, "Erased"),
                              **_errors("401", "429", "503")},
            }},
            "/api/v1/model": {"get": {
                "operationId": "model",
                "summary": "The model being served",
                "responses": {"200": _json({"type": "object", "required": ["version", "provider", "trained", "note"],
                                            "properties": {"version": STRING, "provider": STRING,
                                                           "trained": {"type": "boolean"}, "note": STRING}}, "Model"),
                              **_errors("503")},
            }},
            "/api/v1/health": {"get": {
                "operationId": "health",
                "summary": "Liveness, and which parts are degraded",
                "responses": {"200": _json({"type": "object", "required": ["status", "database", "model"], "properties": {
                    "status": {"enum": ["ok", "degraded"]}, "database": {"enum": ["ok", "unavailable"]},
                    "model": {"type": ["string", "null"]}}}, "Health"), **_errors()},
            }},
            "/api/v1/openapi.json": {"get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI document"), **_errors()},
            }},
            "/metrics": {"get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "Prometheus text format",
                                      "content": {"text/plain": {"schema": STRING}}}, **_errors()},
            }},
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {
                    "type": "object", "required": ["status", "code", "message"],
                    "properties": {"status": {"type": "integer"}, "code": STRING, "message": STRING,
                                   "index": {"type": "integer", "minimum": 0}}}}},
                "PageContext": CONTEXT,
                "DescribeItem": DESCRIBE_ITEM,
                "Result": RESULT,
                "Feedback": FEEDBACK,
                "FeedbackResult": FEEDBACK_RESULT,
            },
        },
    }
