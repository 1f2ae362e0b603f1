"""What tests/pages/rules.html expects, shared by the Chromium and Firefox suites."""
from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

# element id -> the image file it shows; each is decorative by a rule of the extension
# (extension/content/detect.js, localClass): too small, repeated as layout, beside its link's own text.
BY_RULE = {"corner": "corner.png", "rule-line": "rule-line.png", "bullet-1": "bullet.png",
           "bullet-2": "bullet.png", "bullet-3": "bullet.png", "icon-in-link-text": "gear.png"}


def asked_for(database_url: str) -> dict[str, list[bool]]:
    """file name -> the low-confidence flag of each generation the backend stored for it."""
    from backend.models import Context, Generation

    with Session(create_engine(database_url)) as db:
        rows = db.execute(select(Context.data, Generation.low_confidence).join(
            Generation, Generation.context_id == Context.id)).all()
    found: dict[str, list[bool]] = {}
    for data, low_confidence in rows:
        found.setdefault(data.get("file_name"), []).append(low_confidence)
    return found
