"""The stored record of altlens: what was described, what users said, what training may use.

Every served description is a :class:`Generation`; feedback on it is a
:class:`Feedback` row; :mod:`backend.preferences` turns feedback into
:class:`PreferencePair` rows, each carrying its provenance (client, source
feedback, time) so that everything one client sent can be found and removed.
Schema changes go through the Alembic migrations in ``backend/migrations``.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: DateTime(timezone=True)}


class Client(Base):
    """One holder of a token (an extension install, a person, a script). Only the token's hash is kept."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    #: preference pairs per 24 h; None means the configured default
    quota: Mapped[Optional[int]] = mapped_column(default=None)


class Image(Base):
    """An image as received, by content hash. ``data`` is None once purged by retention."""

    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[Optional[bytes]] = mapped_column(LargeBinary, default=None)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    purged_at: Mapped[Optional[datetime]] = mapped_column(default=None)


class Context(Base):
    """A PageContext (as its dict), by hash of its canonical JSON."""

    __tablename__ = "contexts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Generation(Base):
    """One served description, with the candidates the model ranked below it."""

    __tablename__ = "generations"
    __table_args__ = (Index("ix_generations_cache", "image_id", "context_id", "model_version"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(Text)
    decorative: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    low_confidence: Mapped[bool] = mapped_column(Boolean)
    ocr_text: Mapped[str] = mapped_column(Text, default="")
    candidates: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The model's own answer where the backend said another (backend.engine.Description.model_answer).
    model_answer: Mapped[Optional[str]] = mapped_column(Text, nullable=True)
    model_version: Mapped[str] = mapped_column(String(50))
    client_id: Mapped[Optional[int]] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    image: Mapped[Image] = relationship()
    context: Mapped[Context] = relationship()


class Feedback(Base):
    """What a user said about a generation. ``dedup_key`` makes a replayed submission a no-op."""

    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    client_id: Mapped[Optional[int]] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PreferencePair(Base):
    """A (chosen, rejected) pair for training, with where it came from.

    ``""`` as a text means "decorative" (the model answers ``alt=""``).
    ``pair_key`` (hash of image, context, chosen, rejected) keeps identical pairs out.
    """

    __tablename__ = "preference_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation_id: Mapped[str] = mapped_column(ForeignKey("generations.id", ondelete="CASCADE"), index=True)
    feedback_id: Mapped[str] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[Optional[int]] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    image_sha256: Mapped[str] = mapped_column(String(64))
    context_id: Mapped[int] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    chosen: Mapped[str] = mapped_column(Text)
    rejected: Mapped[str] = mapped_column(Text)
    weight: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(20))
    pair_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    image: Mapped[Image] = relationship()
    context: Mapped[Context] = relationship()
    generation: Mapped[Generation] = relationship()


class ModelVersion(Base):
    """A model version this backend has served (or the trainer published), with its metrics."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(50), unique=True)
    path: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RetrainRun(Base):
    """One run of trainer/retrain.py: what it used, what it measured, what it decided."""

    __tablename__ = "retrain_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics_before: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics_after: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision: Mapped[str] = mapped_column(String(200), default="")
    published_version: Mapped[Optional[str]] = mapped_column(String(50), default=None)
