"""Bearer tokens: made by the CLI, kept only as SHA-256 hashes, checked on every write.

A token is 256 random bits, so a plain SHA-256 (no salt, no slow hash) is
enough to make a stolen database useless for impersonation, and lets a request
be matched by one indexed lookup. Tokens checked successfully are remembered
in-process, so that describe keeps working while the database is down.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

from flask import request
from sqlalchemy import select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from backend.errors import ApiError
from backend.models import Client, utcnow

TOKEN_PREFIX = "alt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > 200:
        return None
    return token


@dataclass(frozen=True)
class Caller:
    """The authenticated client of one request."""

    id: int
    name: str
    quota: int | None


class TokenChecker:
    """Resolves tokens to clients; remembers good ones for database outages."""

    def __init__(self) -> None:
        self._known: dict[str, Caller] = {}
        self._lock = threading.Lock()

    def check(self, session: Session, token: str | None, allow_offline: bool = False) -> Caller:
        if token is None:
            raise ApiError(401, "missing_token", "send 'Authorization: Bearer <token>'")
        digest = hash_token(token)
        try:
            client = session.scalar(select(Client).where(Client.token_hash == digest))
        except (OperationalError, InterfaceError):
            session.rollback()
            with self._lock:
                caller = self._known.get(digest)
            if allow_offline and caller is not None:
                return caller
            raise
        if client is None or client.revoked_at is not None:
            with self._lock:
                self._known.pop(digest, None)
            raise ApiError(401, "invalid_token", "unknown or revoked token")
        caller = Caller(client.id, client.name, client.quota)
        with self._lock:
            self._known[digest] = caller
        return caller


def create_client(session: Session, name: str, quota: int | None = None) -> str:
    """Create a client and return its token (shown once; only the hash is stored)."""
    if session.scalar(select(Client).where(Client.name == name)) is not None:
        raise ValueError(f"a client named {name!r} already exists")
    token = new_token()
    session.add(Client(name=name, token_hash=hash_token(token), quota=quota))
    session.commit()
    return token


def revoke_client(session: Session, name: str) -> bool:
    client = session.scalar(select(Client).where(Client.name == name))
    if client is None:
        return False
    if client.revoked_at is None:
        client.revoked_at = utcnow()
        session.commit()
    return True


def token_is_valid(session: Session, token: str) -> bool:
    client = session.scalar(select(Client).where(Client.token_hash == hash_token(token)))
    return client is not None and client.revoked_at is None
