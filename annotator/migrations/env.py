"""Alembic environment: migrates the engine handed over in the config's attributes."""

from alembic import context
from sqlmodel import SQLModel

from annotator import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from annotator.schema_extras import include_name

target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:
            # SQLite alters a table by copying it and dropping the original; with foreign keys
            # on, that DROP deletes every row that references the table (ON DELETE CASCADE):
            # users' working copies, states and edit logs. The pragma only works outside a
            # transaction, so it is set before the migration's transaction begins.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end SQLAlchemy's autobegun transaction (SQLite's own never began)
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    # SQLite alters tables by copying them; batch mode does that for us.
                    render_as_batch=sqlite,
                    compare_type=True,
                    # The full-text index and the counters' DDL are not models (schema_extras.py).
                    include_name=include_name,
                )
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left rows pointing at nothing: {broken[:5]}")
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


run_migrations()
