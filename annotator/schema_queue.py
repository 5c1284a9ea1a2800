"""The queue's counters: how many annotators accepted each article, kept by triggers on annotation_state.

``article.accepted_count`` is the number of accepted versions of the article,
and ``article.overlap_rank`` its ``(id * SPREAD) % 10000`` (the rank that puts
it in the overlap share, services/settings.py) while the count is above 0, and
0 while it is 0. One index on (accepted_count, overlap_rank, id) then answers
both of the queue's questions without reading the articles that are done:

- the articles nobody accepted, in article order (``accepted_count < 1``,
  in the index's order, which is by id there as overlap_rank is 0);
- the overlap articles some but not all of their N annotators accepted
  (``accepted_count IN (1 .. N-1) AND overlap_rank < coverage``).

The database keeps the counters (triggers on insert, delete, and updates of a
state's status or article), so every writer of states (edits, review, user
deletion, the cascade of an article's deletion, imports) keeps them right
without knowing about them. ``SQLModel.metadata.create_all`` creates the
triggers (the event in models.py); migration 0010 creates them on existing
databases with :func:`create` and fills the counters with :func:`backfill`.
SQLite drops a table's triggers with the table: a later migration that copies
``annotation_state`` (batch mode) must call :func:`create` again.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

ACCEPTED = "'accepted'"
# SPREAD of services/settings.py (asserted equal by the tests); imported from there, this module
# would import the services from the models.
SPREAD = 7919


def _rank(article_id: str) -> str:
    # 64-bit: id * 7919 leaves PostgreSQL's 32-bit integer above id 271,000.
    return f"(CAST({article_id} AS BIGINT) * {SPREAD}) % 10000"


def _set(delta: str, article_id: str) -> str:
    """Return the assignments of an UPDATE of article that adds ``delta`` to the count."""
    return (
        f"accepted_count = accepted_count + {delta}, "
        f"overlap_rank = CASE WHEN accepted_count + {delta} > 0 THEN {_rank(article_id)} ELSE 0 END"
    )


_SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS state_accepted_insert AFTER INSERT ON annotation_state
    WHEN new.status = {ACCEPTED} BEGIN
        UPDATE article SET {_set("1", "id")} WHERE id = new.article_id;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS state_accepted_delete AFTER DELETE ON annotation_state
    WHEN old.status = {ACCEPTED} BEGIN
        UPDATE article SET {_set("-1", "id")} WHERE id = old.article_id;
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS state_accepted_update AFTER UPDATE OF status, article_id ON annotation_state
    WHEN (old.status = {ACCEPTED} OR new.status = {ACCEPTED})
        AND (old.status IS NOT new.status OR old.article_id IS NOT new.article_id) BEGIN
        UPDATE article SET {_set("-1", "id")} WHERE id = old.article_id AND old.status = {ACCEPTED};
        UPDATE article SET {_set("1", "id")} WHERE id = new.article_id AND new.status = {ACCEPTED};
    END""",
]

_POSTGRESQL = [
    f"""CREATE OR REPLACE FUNCTION state_accepted_count() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.status = {ACCEPTED} THEN
            UPDATE article SET {_set("-1", "id")} WHERE id = OLD.article_id;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.status = {ACCEPTED} THEN
            UPDATE article SET {_set("1", "id")} WHERE id = NEW.article_id;
        END IF;
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS state_accepted_insert ON annotation_state",
    f"""CREATE TRIGGER state_accepted_insert AFTER INSERT ON annotation_state FOR EACH ROW
        WHEN (NEW.status = {ACCEPTED}) EXECUTE FUNCTION state_accepted_count()""",
    "DROP TRIGGER IF EXISTS state_accepted_delete ON annotation_state",
    f"""CREATE TRIGGER state_accepted_delete AFTER DELETE ON annotation_state FOR EACH ROW
        WHEN (OLD.status = {ACCEPTED}) EXECUTE FUNCTION state_accepted_count()""",
    "DROP TRIGGER IF EXISTS state_accepted_update ON annotation_state",
    f"""CREATE TRIGGER state_accepted_update AFTER UPDATE OF status, article_id ON annotation_state FOR EACH ROW
        WHEN ((OLD.status = {ACCEPTED} OR NEW.status = {ACCEPTED})
            AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.article_id IS DISTINCT FROM NEW.article_id))
        EXECUTE FUNCTION state_accepted_count()""",
]


def _run(connection: Connection, statement: str) -> None:
    if connection.dialect.name == "postgresql":
        statement = statement.replace("%", "%%")  # psycopg reads a lone % as a placeholder
    connection.exec_driver_sql(statement)


def create(connection: Connection) -> None:
    """Create the triggers that keep the counters, if missing (not the counts: see ``backfill``)."""
    for statement in _POSTGRESQL if connection.dialect.name == "postgresql" else _SQLITE:
        _run(connection, statement)


def backfill(connection: Connection) -> None:
    """Set every article's counters from the states stored."""
    counted = f"(SELECT count(*) FROM annotation_state WHERE article_id = article.id AND status = {ACCEPTED})"
    _run(
        connection,
        f"UPDATE article SET accepted_count = {counted}, "
        f"overlap_rank = CASE WHEN {counted} > 0 THEN {_rank('id')} ELSE 0 END",
    )


def drop(connection: Connection) -> None:
    """Drop what dropping the tables leaves behind (PostgreSQL's trigger function)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS state_accepted_count()")
