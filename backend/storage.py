"""Reading and writing generations: content-addressed images and contexts, and the describe cache.

Images and contexts are stored once per content hash with ``INSERT ... ON
CONFLICT DO NOTHING`` (SQLite and PostgreSQL both have it), so concurrent
workers describing the same image never collide. A request's images are
looked up and stored with one statement per table, not one per image: a
16-image request would otherwise spend a quarter of its time in the database.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.images import DecodedImage
from backend.modelinput import PageContext
from backend.models import Context, Generation, Image, ModelVersion


def context_hash(context: PageContext) -> str:
    return hashlib.sha256(json.dumps(context.to_dict(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _insert_ignore(session: Session, model: type, rows: list[dict[str, Any]], unique: str) -> None:
    """Insert the rows whose ``unique`` value is not stored yet (one statement on SQLite and PostgreSQL)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        for values in rows:
            if session.scalar(select(model).where(getattr(model, unique) == values[unique])) is None:
                session.add(model(**values))
                session.flush()
        return
    session.execute(insert(model).values(rows).on_conflict_do_nothing(index_elements=[unique]))


def _ids(session: Session, model: type, digests: list[str]) -> dict[str, int]:
    return {digest: row_id for digest, row_id in session.execute(select(model.sha256, model.id).where(model.sha256.in_(digests)))}


def image_ids(session: Session, images: list[DecodedImage]) -> dict[str, int]:
    """Store each image once (by SHA-256); the row id of every one, by hash."""
    rows = {i.sha256: {"sha256": i.sha256, "data": i.data, "size": len(i.data), "content_type": i.content_type,
                       "width": i.width, "height": i.height} for i in images}
    _insert_ignore(session, Image, list(rows.values()), "sha256")
    return _ids(session, Image, list(rows))


def context_ids(session: Session, contexts: list[tuple[PageContext, str]]) -> dict[str, int]:
    """Store each (context, its hash) once; the row id of every one, by hash."""
    rows = {digest: {"sha256": digest, "data": context.to_dict()} for context, digest in contexts}
    _insert_ignore(session, Context, list(rows.values()), "sha256")
    return _ids(session, Context, list(rows))


def cached_generations(session: Session, keys: list[tuple[str, str]], model_version: str
                       ) -> dict[tuple[str, str], Generation]:
    """The latest generation for each (image hash, context hash) under this model version, where there is one."""
    if not keys:
        return {}
    found: dict[tuple[str, str], Generation] = {}
    rows = session.execute(
        select(Image.sha256, Context.sha256, Generation)
        .join(Image, Generation.image_id == Image.id)
        .join(Context, Generation.context_id == Context.id)
        .where(tuple_(Image.sha256, Context.sha256).in_(keys), Generation.model_version == model_version)
        .order_by(Generation.created_at.desc(), Generation.id.desc()))
    for image_sha, context_sha, generation in rows:
        found.setdefault((image_sha, context_sha), generation)  # the first row of a key is its latest
    return found


def note_model_version(session: Session, version: str, path: str) -> None:
    _insert_ignore(session, ModelVersion, [{"version": version, "path": path, "metrics": {}}], "version")
