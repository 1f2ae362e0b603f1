"""Disk full while an image is being stored: a clear answer, no partial rows, recovery once there is room.

Two ways to fill the disk, both real SQLite "database or disk is full" errors:
``tmpfs`` puts the database on a 2 MB tmpfs and fills it with a file (a real
ENOSPC; needs root to mount, else that case is skipped and says why), and
``page_limit`` caps the database with SQLite's ``max_page_count`` (works
anywhere; SQLite returns the same SQLITE_FULL error). PostgreSQL's disk-full
error (53100) reaches the same handler as an OperationalError; it is not
simulated here.

What the backend does (by design, backend/describing.py): the description is
still answered, only not stored; feedback, which cannot be answered without
storing it, gets 503 ``database_unavailable`` with Retry-After.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import event, func, select, text

from backend.models import Context, Feedback, Generation, Image
from backend.state import EXTENSION_KEY
from reliability_helpers import auth, png_b64, token_for


def counts(app) -> dict[str, int]:
    with app.extensions[EXTENSION_KEY].db.session() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Image, Context, Generation, Feedback)}


def partial_rows(app) -> list[str]:
    """Generations without image or context, images no generation points at."""
    with app.extensions[EXTENSION_KEY].db.session() as s:
        problems = []
        if s.scalar(text("SELECT count(*) FROM generations g LEFT JOIN images i ON i.id = g.image_id WHERE i.id IS NULL")):
            problems.append("generation without image")
        if s.scalar(text("SELECT count(*) FROM generations g LEFT JOIN contexts c ON c.id = g.context_id WHERE c.id IS NULL")):
            problems.append("generation without context")
        if s.scalar(text("SELECT count(*) FROM images i WHERE NOT EXISTS (SELECT 1 FROM generations g WHERE g.image_id = i.id)")):
            problems.append("image without generation")
        if s.scalar(text("SELECT count(*) FROM images WHERE data IS NULL OR length(data) <> size")):
            problems.append("image with missing or cut bytes")
        return problems


class TmpfsDisk:
    def __init__(self, directory):
        self.directory = directory
        directory.mkdir()
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(directory)],
                                 capture_output=True, text=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}; the page_limit case still runs")
        self.filler = directory / "filler"

    def url(self) -> str:
        return f"sqlite:///{self.directory / 'altlens.db'}"

    def fill(self, app) -> None:
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError:  # ENOSPC: the disk is full
            pass
        finally:
            os.close(fd)

    def free(self, app) -> None:
        self.filler.unlink()

    def close(self) -> None:
        subprocess.run(["umount", "-l", str(self.directory)], check=False)


class PageLimitDisk:
    def __init__(self, directory):
        directory.mkdir()
        self.directory = directory
        self.limit: int | None = None

    def url(self) -> str:
        return f"sqlite:///{self.directory / 'altlens.db'}"

    def _apply(self, app) -> None:
        engine = app.extensions[EXTENSION_KEY].db.engine

        @event.listens_for(engine, "connect")
        def cap(dbapi_connection, _record):
            if self.limit is not None:
                dbapi_connection.execute(f"PRAGMA max_page_count={self.limit}")

        engine.dispose()

    def fill(self, app) -> None:
        with app.extensions[EXTENSION_KEY].db.engine.connect() as conn:
            self.limit = conn.exec_driver_sql("PRAGMA page_count").scalar() + 2
        self._apply(app)

    def free(self, app) -> None:
        self.limit = 1_000_000
        app.extensions[EXTENSION_KEY].db.engine.dispose()

    def close(self) -> None:
        pass


@pytest.fixture(params=["tmpfs", "page_limit"])
def disk(request, tmp_path):
    disk = (TmpfsDisk if request.param == "tmpfs" else PageLimitDisk)(tmp_path / "disk")
    yield disk
    disk.close()


def test_disk_full_while_storing_an_image(make_app, disk):
    app = make_app(database_url=disk.url())
    client, token = app.test_client(), token_for(app)
    post = lambda seed, size=(24, 16): client.post(  # noqa: E731
        "/api/v1/describe", headers=auth(token), json={"images": [{"image": png_b64(seed, size)}]})
    stored = post(1).get_json()["results"][0]
    assert client.post("/api/v1/feedback", headers=auth(token), json={
        "generation_id": stored["generation_id"], "kind": "correct", "text": "Coloured noise"}).status_code == 201
    before = counts(app)

    disk.fill(app)
    big = post(2, (300, 300))  # ~270 kB of incompressible pixels: cannot fit
    assert big.status_code == 200 and big.get_json()["results"][0]["description"] is not None
    assert counts(app) == before, "nothing of the image, its context or its generation was kept"
    refused = client.post("/api/v1/feedback", headers=auth(token), json={
        "generation_id": stored["generation_id"], "kind": "correct", "text": "Noise, coloured"})
    if refused.status_code != 201:  # a small row may still fit in space SQLite already holds
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.get_json()["error"]["code"] == "database_unavailable"
        assert counts(app)["feedback"] == before["feedback"]
    assert partial_rows(app) == []
    assert client.get("/api/v1/health").status_code == 200

    disk.free(app)
    again = post(2, (300, 300))
    assert again.status_code == 200
    after = counts(app)
    assert after["images"] == before["images"] + 1 and after["generations"] >= before["generations"] + 1
    assert client.post("/api/v1/feedback", headers=auth(token), json={
        "generation_id": again.get_json()["results"][0]["generation_id"], "kind": "rate",
        "rating": "down"}).status_code == 201
    assert partial_rows(app) == []
