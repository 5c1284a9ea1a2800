"""All database tables of annotator.

Spans belong to an article and carry an origin: ``model`` (the pre-annotator's
proposal, never edited), ``annotator`` (one user's working copy, ``owner_id``
set) or ``gold`` (imported or promoted gold). Each annotator's progress on an
article lives in ``AnnotationState``, whose ``version`` guards against edits
made on a stale copy.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, Text, UniqueConstraint, event, false, true
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from annotator import (
    schema_extras,  # noqa: F401  (the full-text index and counters create_all adds)
    schema_listing,
    schema_queue,
)


def utcnow() -> datetime:
    """Return the current time in UTC, timezone-aware."""
    return datetime.now(UTC)


class Role(enum.StrEnum):
    ANNOTATOR = "annotator"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Origin(enum.StrEnum):
    MODEL = "model"
    ANNOTATOR = "annotator"
    GOLD = "gold"


class Status(enum.StrEnum):
    TODO = "todo"
    IN_PROGRESS = "in_progress"
    ACCEPTED = "accepted"
    SKIPPED = "skipped"
    FLAGGED = "flagged"


class Article(SQLModel, table=True):
    __tablename__ = "article"

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=255, unique=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64, index=True)
    meta: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    imported_at: datetime = Field(default_factory=utcnow)
    # The pipeline version that pre-annotated this article (None: not yet). Set in the
    # same transaction as the model spans, so an interrupted run resumes without duplicates.
    preannotated_with: str | None = Field(default=None, max_length=100, index=True)
    # The import that first brought the article in (None: imported before imports were recorded).
    import_batch_id: int | None = Field(
        default=None, foreign_key="import_batch.id", ondelete="SET NULL", index=True
    )
    # How many annotators accepted the article, and its overlap rank while that is above 0 (0
    # otherwise): kept by the database's triggers on annotation_state (see schema_queue.py).
    accepted_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    overlap_rank: int = Field(default=0, sa_column_kwargs={"server_default": "0"})

    __table_args__ = (
        # The queue: articles nobody accepted, in article order; overlap articles short of accepts.
        Index("ix_article_queue", "accepted_count", "overlap_rank", "id"),
    )


class ArticleListing(SQLModel, table=True):
    """What the article list shows of an article, kept by triggers on article (see schema_listing.py).

    Apart from the text, so that a page of the list reads a few narrow rows
    instead of a hundred texts' overflow pages.
    """

    __tablename__ = "article_listing"

    article_id: int = Field(
        primary_key=True,
        foreign_key="article.id",
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )
    external_id: str = Field(max_length=255)
    # The text's first schema_listing.PREVIEW characters, and its length in characters.
    preview: str = Field(max_length=schema_listing.PREVIEW)
    length: int
    # The article's import batch, so that the list finds the visible articles here: SQLite keeps
    # article.import_batch_id behind the text, on its overflow page. Not a foreign key: the
    # triggers follow the article's (deleting a batch sets it to none there, and so here).
    import_batch_id: int | None = None


@event.listens_for(ArticleListing.__table__, "after_create")
def _create_listing_triggers(_table, connection, **_kw) -> None:
    schema_listing.create(connection)


@event.listens_for(SQLModel.metadata, "after_drop")
def _drop_listing_functions(_metadata, connection, **_kw) -> None:
    schema_listing.drop(connection)


class ArticleCount(SQLModel, table=True):
    """How many articles an import batch holds (batch 0: none), kept by triggers (see schema_extras.py).

    The count of visible articles is the sum over the committed batches: a few
    rows, where ``count(*)`` would read a million.
    """

    __tablename__ = "article_count"

    # Not a foreign key: 0 stands for "no batch", and a deleted batch's row simply reaches 0.
    batch_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    articles: int = 0


class ArticleCues(SQLModel, table=True):
    """What the article tally reads in an article's text, read once (``annotator.nlp.cues``).

    Stored by pre-annotation (sentences from the parse) or on the first tally
    of an article (sentences by rule), so a tally after an edit parses nothing.
    """

    __tablename__ = "article_cues"

    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE", primary_key=True)
    cues: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class GoldTally(SQLModel, table=True):
    """An article's document-level gold tally, imported with ``--origin gold`` from a ``tally`` field.

    For datasets that label articles, not spans. It holds the keys the file
    gave, in the export's shape (``{"killed": {"total": 3, ...}, ...}``);
    evaluation prefers it to the tally of the gold spans.
    """

    __tablename__ = "gold_tally"

    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE", primary_key=True)
    tally: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    source: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow)


class BatchState(enum.StrEnum):
    """Where an import stands. Only a committed batch's articles are visible to the app."""

    IMPORTING = "importing"
    COMMITTED = "committed"
    # Left by an import that failed or crashed, and being deleted.
    DISCARDING = "discarding"


class ImportBatch(SQLModel, table=True):
    """One run of the importer (command line, upload or API): what it read and what it did.

    Articles point at the batch that first created them, so an admin can delete
    a whole import at once.
    """

    __tablename__ = "import_batch"

    id: int | None = Field(default=None, primary_key=True)
    # "cli", "upload" or "api".
    channel: str = Field(max_length=20)
    origin: str = Field(max_length=120)
    # The file names (or the API's source name) the import read.
    files: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # The importer's counts: articles new, updated, unchanged; spans written.
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    # A streamed import writes its articles in many short transactions while the batch is
    # "importing", then makes them all visible at once by committing the batch: one row's UPDATE.
    state: str = Field(
        default=BatchState.COMMITTED.value,
        max_length=20,
        sa_column_kwargs={"server_default": BatchState.COMMITTED.value},
    )
    # The running import's lease: renewed as it writes; a batch still importing whose
    # heartbeat is older than the lease was left by a crashed import and may be cleaned up.
    heartbeat_at: datetime | None = Field(default=None)


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=80, unique=True)
    password_hash: str = Field(max_length=255)
    role: str = Field(default=Role.ANNOTATOR.value, max_length=20)
    # A deactivated user cannot log in, and their sessions end; their work is kept.
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": true()})
    # Set when an admin resets the password: every page asks for a new one until it is changed.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (CheckConstraint("role IN ('annotator', 'reviewer', 'admin')", name="ck_user_role"),)


class UserSession(SQLModel, table=True):
    """A login, kept on the server so that logging out (or a password change) ends it for good.

    The cookie carries a random token; only its SHA-256 is stored, so a copy of
    the database holds no usable session.
    """

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class LoginFailure(SQLModel, table=True):
    """A failed login, counted per account and per client address to throttle guessing.

    Kept in the database so that every web worker sees the same counts.
    """

    __tablename__ = "login_failure"

    id: int | None = Field(default=None, primary_key=True)
    # "account:NAME" or "address:IP".
    key: str = Field(max_length=200)
    failed_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (Index("ix_login_failure_key_failed_at", "key", "failed_at"),)


class Span(SQLModel, table=True):
    __tablename__ = "span"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    start: int
    end: int
    label: str = Field(max_length=40)
    attrs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    origin: str = Field(max_length=20)
    owner_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="CASCADE")
    # Which component or rule proposed the span, and that pipeline's version.
    source: str | None = Field(default=None, max_length=200)
    # Gold only: where an adjudicated span came from, {"annotators": [names who had it exactly],
    # "changed": whether the reviewer changed it}; None for other origins and for gold without it.
    provenance: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (
        CheckConstraint("start >= 0", name="ck_span_start_nonnegative"),
        CheckConstraint('start < "end"', name="ck_span_start_before_end"),
        CheckConstraint("origin IN ('model', 'annotator', 'gold')", name="ck_span_origin"),
        # An annotator's working copy always has an owner; model and gold spans never do.
        CheckConstraint(
            "(origin = 'annotator') = (owner_id IS NOT NULL)", name="ck_span_owner_matches_origin"
        ),
        # "The spans of this article for this owner" is one range scan of this index.
        Index("ix_span_article_origin_owner", "article_id", "origin", "owner_id", "start"),
    )


# The condition of a state in ix_state_open_claim_article; a query repeats it word for word, which
# is how SQLite (and PostgreSQL's generic plans) can tell that the partial index holds every row.
OPEN_CLAIM = "claimed_at IS NOT NULL AND status IN ('todo', 'in_progress')"


class AnnotationState(SQLModel, table=True):
    __tablename__ = "annotation_state"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE")
    status: str = Field(default=Status.TODO.value, max_length=20)
    # Bumped on every edit; an edit made on an older version is refused.
    version: int = Field(default=0)
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    # The last edit (or claim): a claim untouched for the claim timeout lapses.
    updated_at: datetime = Field(default_factory=utcnow)
    # When this annotator took the article from the queue (Next, or their first edit); None:
    # they only opened it, and do not count toward the article's annotators.
    claimed_at: datetime | None = Field(default=None)
    # When an admin assigned the article to them: such a claim never lapses, and may exceed N.
    assigned_at: datetime | None = Field(default=None)
    # A reviewer's answer to a flag, or the note they sent the version back with; shown to the annotator.
    reviewer_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewer_note_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    reviewer_note_at: datetime | None = Field(default=None)

    __table_args__ = (
        UniqueConstraint("user_id", "article_id", name="uq_state_user_article"),
        CheckConstraint(
            "status IN ('todo', 'in_progress', 'accepted', 'skipped', 'flagged')",
            name="ck_state_status",
        ),
        CheckConstraint("version >= 0", name="ck_state_version_nonnegative"),
        # "Next article for this annotator": one lookup on (user, status) in article order.
        Index("ix_state_user_status_article", "user_id", "status", "article_id"),
        # "Who works on this article": the count that keeps an article to its N annotators.
        Index("ix_state_article_status", "article_id", "status"),
        # "Articles someone has claimed" (the queue's started articles): unfinished claims, live or
        # lapsed, are few next to the articles done, as accepting, skipping or flagging leaves it.
        Index(
            "ix_state_open_claim_article",
            "article_id",
            sqlite_where=sql_text(OPEN_CLAIM),
            postgresql_where=sql_text(OPEN_CLAIM),
        ),
        # "Articles with a flag", in article order (the article list's filter): flags are few.
        Index(
            "ix_state_flagged_article",
            "article_id",
            sqlite_where=sql_text("status = 'flagged'"),
            postgresql_where=sql_text("status = 'flagged'"),
        ),
    )


@event.listens_for(AnnotationState.__table__, "after_create")
def _create_queue_triggers(_table, connection, **_kw) -> None:
    schema_queue.create(connection)


@event.listens_for(SQLModel.metadata, "after_drop")
def _drop_queue_triggers(_metadata, connection, **_kw) -> None:
    schema_queue.drop(connection)


class ProjectSetting(SQLModel, table=True):
    """One project setting (see services/settings.py for the names, types and defaults)."""

    __tablename__ = "project_setting"

    key: str = Field(primary_key=True, max_length=64)
    value: Any = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")


class GoldAction(enum.StrEnum):
    IMPORT = "import"
    PROMOTE = "promote"
    RESTORE = "restore"
    ADJUDICATE = "adjudicate"


class GoldRevision(SQLModel, table=True):
    """One state of an article's gold, kept for good: the newest revision is the gold.

    Revisions are only ever appended. The newest one's spans are also stored as
    the article's ``gold`` spans, which every reader of gold uses; older ones
    live only here, so that any earlier gold can be looked at and restored. An
    article with a revision whose ``spans`` is empty has gold that marks
    nothing, which differs from having no gold at all.
    """

    __tablename__ = "gold_revision"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE")
    # 1, 2, ... per article.
    revision: int
    action: str = Field(max_length=20)
    # What the gold came from: a file, "annotator:NAME", "revision N".
    source: str | None = Field(default=None, max_length=300)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    # Gold-format spans: start, end, label and attrs, sorted by start.
    spans: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))

    __table_args__ = (
        UniqueConstraint("article_id", "revision", name="uq_gold_revision_article_revision"),
        CheckConstraint("revision >= 1", name="ck_gold_revision_positive"),
        CheckConstraint(
            "action IN ('import', 'promote', 'restore', 'adjudicate')", name="ck_gold_revision_action"
        ),
    )


class MergeStrategy(enum.StrEnum):
    UNANIMOUS = "unanimous"
    MAJORITY = "majority"


class Curation(SQLModel, table=True):
    """A reviewer's draft gold of one article, made from its versions, saved edit by edit.

    ``spans`` is the draft: dicts with an ``id`` (numbered from ``next_span_id``,
    never reused within the draft), start, end, label, attrs and ``changed``
    (the reviewer made or altered it). They never overlap. ``decisions`` holds
    the reviewer's answer for each candidate by its key (see
    services/curation_merge): "accepted" or "rejected". ``version`` guards
    against edits made on a stale draft, as a working copy's does. Finishing
    saves the draft as the article's gold and sets ``finished_at``; re-opening
    clears it.
    """

    __tablename__ = "curation"

    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE", primary_key=True)
    version: int = Field(default=0)
    strategy: str = Field(default=MergeStrategy.UNANIMOUS.value, max_length=20)
    spans: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decisions: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    next_span_id: int = Field(default=1)
    started_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    started_at: datetime = Field(default_factory=utcnow)
    updated_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    updated_at: datetime = Field(default_factory=utcnow)
    finished_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    finished_at: datetime | None = Field(default=None)

    __table_args__ = (
        CheckConstraint("version >= 0", name="ck_curation_version_nonnegative"),
        CheckConstraint("strategy IN ('unanimous', 'majority')", name="ck_curation_strategy"),
    )


class CurationEdit(SQLModel, table=True):
    """One edit of a draft gold, kept so that it can be undone (newest first), as ``SpanEdit`` is.

    ``removed`` and ``added`` are the draft spans the edit took out and put in;
    ``decisions_before`` the earlier answer (None: none) for each candidate key
    the edit answered. Undo finds spans again by offsets and label, never by id.
    """

    __tablename__ = "curation_edit"

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="curation.article_id", ondelete="CASCADE")
    # The draft version this edit produced.
    version: int
    action: str = Field(max_length=20)
    removed: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    added: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decisions_before: dict[str, str | None] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    user_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (UniqueConstraint("article_id", "version", name="uq_curation_edit_article_version"),)


class EditAction(enum.StrEnum):
    ADD = "add"
    DELETE = "delete"
    RELABEL = "relabel"
    RESIZE = "resize"
    ATTRS = "attrs"
    STATUS = "status"


class SpanEdit(SQLModel, table=True):
    """One edit of an annotator's working copy, kept so that it can be undone.

    ``before`` and ``after`` are span snapshots (start, end, label, attrs): no
    ``before`` means the edit added the span, no ``after`` that it deleted it.
    A status change has neither. Undo applies the newest row in reverse and
    deletes it. Spans are found again by their offsets, which are unique in a
    working copy (its spans never overlap), never by id: SQLite hands a
    deleted row's id to the next insert, in anyone's working copy.
    """

    __tablename__ = "span_edit"

    id: int | None = Field(default=None, primary_key=True)
    state_id: int = Field(foreign_key="annotation_state.id", ondelete="CASCADE")
    # The state version this edit produced.
    version: int
    action: str = Field(max_length=20)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    status_before: str = Field(max_length=20)
    comment_before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)

    __table_args__ = (
        CheckConstraint(
            "action IN ('add', 'delete', 'relabel', 'resize', 'attrs', 'status')", name="ck_span_edit_action"
        ),
        # "The newest edit of this state" is the last entry of this index.
        UniqueConstraint("state_id", "version", name="uq_span_edit_state_version"),
    )


class VersionCount(SQLModel, table=True):
    """Exact-match span counts of one accepted version against another version, the model or gold, per label.

    Keyed by the versions it was counted on (a state's version number changes
    with every edit; the model by its pipeline version; gold by its revision's
    id), so a row never goes stale: a changed version simply has no row yet,
    and old rows are never read. The team dashboard sums these instead of
    comparing every span of the corpus on each view. Label "" marks that the
    comparison was counted, even when neither side has a span.
    """

    __tablename__ = "version_count"

    state_id: int = Field(foreign_key="annotation_state.id", ondelete="CASCADE", primary_key=True)
    state_version: int = Field(primary_key=True)
    # "state:ID:VERSION", "model:PIPELINE" or "gold:REVISION_ID": what it was compared with.
    other: str = Field(max_length=160, primary_key=True)
    label: str = Field(max_length=40, primary_key=True)
    kind: str = Field(max_length=10)  # state, model or gold
    other_state_id: int | None = Field(default=None, foreign_key="annotation_state.id", ondelete="CASCADE")
    other_version: int | None = Field(default=None)
    reference: str | None = Field(default=None, max_length=120)
    mine: int = 0
    theirs: int = 0
    matches: int = 0

    __table_args__ = (CheckConstraint("kind IN ('state', 'model', 'gold')", name="ck_version_count_kind"),)


class ApiToken(SQLModel, table=True):
    """A personal token for the JSON API. Only its SHA-256 is stored; the token is shown once.

    A token acts with its user's current role, read on every request. Revoking
    sets ``revoked_at``, which keeps the row so that lists show what was revoked.
    """

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    # The token's first characters, so a user can tell their tokens apart.
    prefix: str = Field(max_length=16)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    last_used_at: datetime | None = Field(default=None)
    revoked_at: datetime | None = Field(default=None)


class AuditEvent(SQLModel, table=True):
    """One admin action: a user change, an import, an export, a setting, a gold promotion.

    Only ever appended, in the same transaction as the action it records, so
    the log never claims an action that was rolled back. ``actor_id`` is None
    for the command line (``actor_name`` says so) or when the user is gone.
    """

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    actor_name: str = Field(max_length=80)
    # Dotted, such as "user.role", "import.upload", "export.download", "setting.set", "gold.promote".
    action: str = Field(max_length=40, index=True)
    # What was acted on, such as "user:ann", "article:helmand/1", "setting:merge_strategy".
    target: str | None = Field(default=None, max_length=300)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Prediction(SQLModel, table=True):
    """That a named source (a model pushed through the API) predicted an article: its spans, possibly none.

    The spans themselves are ``model`` spans whose ``source`` is ``api:NAME``;
    this row records the prediction even when it found nothing, so that
    ``model:NAME`` scores an article it left empty as all missed rather than
    leaving it out. Pushing again replaces the row's spans and time.
    """

    __tablename__ = "prediction"

    article_id: int = Field(foreign_key="article.id", ondelete="CASCADE", primary_key=True)
    # The source's name, without the "api:" of its spans' ``source``.
    source: str = Field(max_length=100, primary_key=True)
    spans: int = 0
    pushed_by_id: int | None = Field(default=None, foreign_key="user_account.id", ondelete="SET NULL")
    pushed_at: datetime = Field(default_factory=utcnow)

    # "The articles of source NAME" is one range scan.
    __table_args__ = (Index("ix_prediction_source_article", "source", "article_id"),)
