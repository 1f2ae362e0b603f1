"""``flask --app backend ...`` commands: schema, tokens, training export, retention, removal.

Commands print only what scripts need (``tokens create`` prints the token alone
on its line); messages for people go to stderr.
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select, update

from backend import auth
from backend.erasure import erase_client_data
from backend.models import Client, Image, PreferencePair, utcnow
from backend.state import services


def _db():
    return services().db


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat()


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an ISO date/time: {value}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def register_cli(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db():
        """Create or migrate the database schema to the latest version (Alembic)."""
        _db().upgrade()
        click.echo("database at the latest schema", err=True)

    tokens = AppGroup("tokens", help="Create, revoke and check access tokens.")
    app.cli.add_command(tokens)

    @tokens.command("create")
    @click.argument("name")
    @click.option("--quota", type=int, default=None, help="preference pairs per 24 h (default: configured)")
    def tokens_create(name: str, quota: int | None):
        """Create client NAME and print its new token (alone on its line; shown only once)."""
        with _db().session() as session:
            try:
                token = auth.create_client(session, name, quota)
            except ValueError as exc:
                raise click.ClickException(str(exc)) from None
        click.echo(token)

    @tokens.command("revoke")
    @click.argument("name")
    def tokens_revoke(name: str):
        """Revoke the token of client NAME."""
        with _db().session() as session:
            if not auth.revoke_client(session, name):
                raise click.ClickException(f"no client named {name!r}")
        click.echo(f"revoked {name}", err=True)

    @tokens.command("check")
    @click.argument("token")
    def tokens_check(token: str):
        """Print 'valid' or 'invalid' (exit status 0 either way)."""
        with _db().session() as session:
            click.echo("valid" if auth.token_is_valid(session, token) else "invalid")

    @app.cli.command("export-pairs")
    @click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
    @click.option("--since", default=None, help="only pairs created at or after this ISO time")
    @click.option("--images-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="write images here and reference them by path (default: inline base64)")
    def export_pairs(out_path: Path, since: str | None, images_dir: Path | None):
        """Write preference pairs as JSONL for the trainer (pairs whose image was purged are skipped)."""
        count = skipped = 0
        moment = _parse_since(since)
        if images_dir:
            images_dir.mkdir(parents=True, exist_ok=True)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with _db().session() as session, open(out_path, "w", encoding="utf-8") as out:
            query = select(PreferencePair).order_by(PreferencePair.id)
            if moment is not None:
                query = query.where(PreferencePair.created_at >= moment)
            clients = dict(session.execute(select(Client.id, Client.name)).all())
            for pair in session.scalars(query):
                image = pair.image
                if image.data is None:
                    skipped += 1
                    continue
                record = {
                    "context": pair.context.data,
                    "chosen": pair.chosen,
                    "rejected": pair.rejected,
                    "chosen_decorative": pair.chosen == "",
                    "rejected_decorative": pair.rejected == "",
                    "weight": pair.weight,
                    "image_sha256": image.sha256,
                    "provenance": {
                        "pair_id": pair.id, "kind": pair.kind, "feedback_id": pair.feedback_id,
                        "generation_id": pair.generation_id, "model_version": pair.generation.model_version,
                        "ocr_text": pair.generation.ocr_text, "client": clients.get(pair.client_id),
                        "created_at": _iso(pair.created_at)},
                }
                if images_dir:
                    suffix = image.content_type.split("/")[-1]
                    path = images_dir / f"{image.sha256}.{suffix}"
                    if not path.exists():
                        path.write_bytes(image.data)
                    record["image_path"] = str(path.resolve())
                else:
                    record["image_base64"] = base64.b64encode(image.data).decode()
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        click.echo(f"exported {count} pairs to {out_path} ({skipped} skipped: image purged)", err=True)

    @app.cli.command("purge-images")
    @click.option("--older-than-days", type=int, default=None, help="default: ALTLENS_RETENTION_DAYS")
    def purge_images(older_than_days: int | None):
        """Delete the bytes of stored images older than the retention period (hashes and sizes stay)."""
        days = services().config.retention_days if older_than_days is None else older_than_days
        cutoff = utcnow() - timedelta(days=days)
        with _db().session() as session:
            result = session.execute(update(Image).where(Image.created_at < cutoff, Image.data.is_not(None))
                                     .values(data=None, purged_at=utcnow()))
            session.commit()
        click.echo(f"purged {result.rowcount} images older than {days} days", err=True)

    @app.cli.command("drop-client")
    @click.argument("name")
    def drop_client(name: str):
        """Delete client NAME and everything it sent: generations, images only it sent, feedback, pairs."""
        with _db().session() as session:
            client = session.scalar(select(Client).where(Client.name == name))
            if client is None:
                raise click.ClickException(f"no client named {name!r}")
            counts = erase_client_data(session, client, keep_client=False)
        generations, images, feedback, pairs = (counts[k] for k in ("generations", "images", "feedback", "pairs"))
        click.echo(f"dropped {name}: {generations} generations, {images} images, {feedback} feedback, "
                   f"{pairs} pairs", err=True)
