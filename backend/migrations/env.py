"""Alembic environment: runs on the connection handed over by backend.db.Database.upgrade,
or, from the alembic command line (``alembic -c backend/alembic.ini ...``), on DATABASE_URL."""
from __future__ import annotations

from alembic import context

from backend.models import Base

target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    from backend.config import Config
    from backend.db import make_engine

    url = context.config.get_main_option("sqlalchemy.url") or Config.from_env().database_url
    engine = make_engine(url)
    with engine.connect() as conn:
        run_migrations(conn)
        conn.commit()
    engine.dispose()
