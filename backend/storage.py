"""Reading and writing generations: content-addressed images and contexts, and the describe cache.

Images and contexts are stored once per content hash with ``INSERT ... ON
CONFLICT DO NOTHING`` (SQLite and PostgreSQL both have it), so concurrent
workers describing the same image never collide.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.images import DecodedImage
from backend.modelinput import PageContext
from backend.models import Context, Generation, Image, ModelVersion


def context_hash(context: PageContext) -> str:
    return hashlib.sha256(json.dumps(context.to_dict(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _insert_ignore(session: Session, model: type, values: dict[str, Any], unique: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        if session.scalar(select(model).where(getattr(model, unique) == values[unique])) is None:
            session.add(model(**values))
            session.flush()
        return
    session.execute(insert(model).values(**values).on_conflict_do_nothing(index_elements=[unique]))


def image_id(session: Session, image: DecodedImage) -> int:
    _insert_ignore(session, Image, {
        "sha256": image.sha256, "data": image.data, "size": len(image.data),
        "content_type": image.content_type, "width": image.width, "height": image.height}, "sha256")
    return session.scalar(select(Image.id).where(Image.sha256 == image.sha256))


def context_id(session: Session, context: PageContext, digest: str) -> int:
    _insert_ignore(session, Context, {"sha256": digest, "data": context.to_dict()}, "sha256")
    return session.scalar(select(Context.id).where(Context.sha256 == digest))


def cached_generation(session: Session, image_sha256: str, context_sha256: str, model_version: str) -> Generation | None:
    """The latest generation for this image, context and model version, if any."""
    return session.scalar(
        select(Generation)
        .join(Image, Generation.image_id == Image.id)
        .join(Context, Generation.context_id == Context.id)
        .where(Image.sha256 == image_sha256, Context.sha256 == context_sha256,
               Generation.model_version == model_version)
        .order_by(Generation.created_at.desc())
        .limit(1))


def note_model_version(session: Session, version: str, path: str) -> None:
    _insert_ignore(session, ModelVersion, {"version": version, "path": path, "metrics": {}}, "version")
