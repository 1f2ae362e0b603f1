"""HTTP API v1 (docs/api.md): one blueprint per resource."""
from __future__ import annotations

from flask import Flask

from backend.api import describe, feedback, info, mydata


def register(app: Flask) -> None:
    for module in (describe, feedback, info, mydata):
        app.register_blueprint(module.bp, url_prefix="/api/v1")
