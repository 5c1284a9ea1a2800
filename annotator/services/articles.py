"""Articles as an annotator sees them: the list with their status, its filters and search, one article.

The list pages by keyset on the article id: a page is the articles after (or
before) one id, so its cost does not grow with the corpus, and an article
imported or deleted between two page loads neither repeats nor skips another.
A page is found in two queries: the ids of the page, walked in id order along
an index that only visits matching articles (``article_listing``; this user's
states; the flagged states; the full-text index; the id index), then the page's
columns for those ids, from ``article_listing`` (schema_listing.py) and the
states. Neither reads the articles' rows and their texts: the listing holds
each article's import batch, which says whether it is visible.

Counts come from ``article_count``, kept by triggers (schema_extras.py): the
visible articles are a sum over a few rows, whatever the size of the corpus.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    bindparam,
    column,
    exists,
    func,
    literal_column,
    or_,
    table,
)
from sqlmodel import Session, select

from annotator.errors import InvalidEdit
from annotator.models import AnnotationState, Article, ArticleListing, Role, Status, User
from annotator.schema_extras import FTS_TABLE, TS_CONFIG
from annotator.services import users
from annotator.services.assignment import accepted_of, claim_params, holders_of, required_of
from annotator.services.settings import ProjectSettings
from annotator.services.visibility import count_visible, visible_article_id, visible_articles

PAGE_SIZE = 100
# A search is a few words (all must occur) or the beginning of an article id.
MAX_SEARCH_LENGTH = 200
MAX_SEARCH_WORDS = 12
# Words as both full-text indexes cut them: runs of letters and digits.
WORD = re.compile(r"[^\W_]+")
# Up to this many articles share an id prefix, SQLite sorts them from the id index; beyond, it
# walks the articles in order (about the square root of a million articles times a page).
PREFIX_SORT_LIMIT = 10_000

_ARTICLES = Article.__table__
_STATES = AnnotationState.__table__
_LISTING = ArticleListing.__table__
_FTS = table(FTS_TABLE, column("rowid"), column(FTS_TABLE))
# The walks test visibility on the listing's copy of the batch: on SQLite, article.import_batch_id
# lies behind the text, and reading it (when 2 or more) reads the text's overflow page.
_LISTED_ID = _LISTING.c.article_id


@dataclass(frozen=True)
class ArticleRow:
    external_id: str
    preview: str
    length: int
    status: str
    # The team: accepted versions, annotators holding it (accepted included), and how many it needs.
    accepted: int = 0
    holders: int = 0
    required: int = 1
    # A reviewer left a note on this user's version (an answer to a flag, or why it was sent back).
    has_note: bool = False
    article_id: int = 0

    @property
    def complete(self) -> bool:
        return self.accepted >= self.required


@dataclass(frozen=True)
class ListFilters:
    """What the list shows: all visible articles, or those matching every filter given."""

    status: str | None = None  # the annotator's (below) status on it; "todo" includes untouched articles
    annotator: str | None = None  # whose work: a username (reviewers and admins); None: the viewer's
    flagged: bool = False  # only articles with an open (unanswered) flag: the annotator's, or anyone's
    search: str = ""  # words of the text (all of them), or the beginning of an article id

    @property
    def active(self) -> bool:
        return bool(self.status or self.annotator or self.flagged or self.search.strip())


@dataclass(frozen=True)
class ArticlePage:
    rows: list[ArticleRow]
    # The links to the neighbouring pages: after= this id, before= that one; None: there is none.
    next_after: int | None
    previous_before: int | None
    # The user whose status the rows show.
    annotator: str


def list_page(
    session: Session,
    viewer: User,
    settings: ProjectSettings,
    filters: ListFilters = ListFilters(),
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> ArticlePage:
    """Return the page of visible articles after ``after`` (or before ``before``), in article order.

    Annotators see their own work only: a filter on another annotator raises
    Forbidden. An unknown annotator raises NotFound; a bad status or search
    raises InvalidEdit.
    """
    who = _whose(session, viewer, filters.annotator)
    parts = _filters(viewer, who, filters)
    if before is not None and after is None:
        ids = _page_ids(session, parts, filters, before=before, limit=limit + 1)
        if len(ids) > limit:
            ids = ids[1:]  # the extra one, the smallest, says there is a page before
            return ArticlePage(_rows(session, ids, who.id, settings), ids[-1], ids[0], who.username)
        # Nothing before this page: it is the first page, filled from the start.
    ids = _page_ids(session, parts, filters, after=after, limit=limit + 1)
    next_after = ids[limit - 1] if len(ids) > limit else None
    ids = ids[:limit]
    # An empty page after the last article still links back to the articles before it.
    previous_before = (ids[0] if ids else min(after + 1, sys.maxsize)) if after is not None else None
    return ArticlePage(_rows(session, ids, who.id, settings), next_after, previous_before, who.username)


def _whose(session: Session, viewer: User, annotator: str | None) -> User:
    return users.whose_work(
        session,
        viewer,
        annotator,
        refusal="Annotators see their own work only: the list cannot show another annotator's.",
    )


@dataclass(frozen=True)
class _Filter:
    """One filter: a condition on ``article_listing`` rows, and the same as a walk of an index of states.

    The walk (``key``, the states' article id, under ``conditions`` on the
    states) visits only the matching articles, in article order: a page of a
    filter that matches a few articles in a million reads those few, where
    testing every article in turn would read the million.
    """

    condition: ColumnElement[bool]
    states: Any  # the states table alias the walk reads
    conditions: tuple
    # Several users' states may name one article (flags): the walk groups them.
    grouped: bool = False

    def walk(self, others: list) -> tuple[Any, Any]:
        """Return the walk's key and statement, with ``others`` (conditions on listing rows) applied."""
        key = self.states.c.article_id
        statement = (
            select(key)
            .select_from(self.states.join(_LISTING, key == _LISTED_ID))
            .where(*self.conditions, *others)
        )
        return key, statement.group_by(key) if self.grouped else statement


def _filters(viewer: User, who: User, filters: ListFilters) -> list[_Filter | ColumnElement[bool]]:
    """Return what the filters (but the search) ask: walkable filters first, plain conditions after."""
    parts: list = [visible_articles(_LISTING.c.import_batch_id)]
    mine = _STATES.alias("mine")
    of_who = (mine.c.user_id == who.id,)
    linked = mine.c.article_id == _LISTED_ID
    if filters.status is not None:
        if filters.status not in set(Status):
            choices = ", ".join(status.value for status in Status)
            raise InvalidEdit(f"Unknown status {filters.status!r}: choose one of {choices}.")
        if filters.status == Status.TODO.value:
            # Most articles are to do: testing them in article order finds a page soon.
            parts.append(~exists().where(linked, *of_who, mine.c.status != Status.TODO.value))
        else:
            wanted = (*of_who, mine.c.status == filters.status)
            parts.insert(0, _Filter(exists().where(linked, *wanted), mine, wanted))
    elif who.id != viewer.id or filters.annotator:
        # Whose work, with no status: the articles they opened or worked on.
        parts.insert(0, _Filter(exists().where(linked, *of_who), mine, of_who))
    if filters.flagged:
        flag = _STATES.alias("flag")
        raised = [
            flag.c.status == Status.FLAGGED.value,
            # Not answered yet: no reviewer's note newer than the flag (services/flags.py).
            or_(flag.c.reviewer_note_at.is_(None), flag.c.reviewer_note_at <= flag.c.updated_at),
        ]
        mine_only = viewer.role == Role.ANNOTATOR.value or who.id != viewer.id
        if mine_only:
            raised.append(flag.c.user_id == who.id)
        # Open flags are few: walk them first.
        condition = exists().where(flag.c.article_id == _LISTED_ID, *raised)
        parts.insert(0, _Filter(condition, flag, tuple(raised), grouped=not mine_only))
    return parts


def _page_ids(
    session: Session,
    parts: list,
    filters: ListFilters,
    *,
    after: int | None = None,
    before: int | None = None,
    limit: int,
) -> list[int]:
    """Return up to ``limit`` ids of matching articles after ``after`` (or the last ones before ``before``), ascending."""
    search = filters.search.strip()
    if not search:
        key, statement = _walk_of(parts)
        return _walk(session, key, statement, [], after, before, limit)
    if len(search) > MAX_SEARCH_LENGTH:
        raise InvalidEdit(f"The search is {len(search)} characters long; keep it to {MAX_SEARCH_LENGTH}.")
    words = WORD.findall(search)
    if len(words) > MAX_SEARCH_WORDS:
        raise InvalidEdit(f"The search has {len(words)} words; keep it to {MAX_SEARCH_WORDS}.")
    # The search walks its own index; the filters are conditions on what it finds.
    conditions = [part.condition if isinstance(part, _Filter) else part for part in parts]
    # Matches of the id prefix and of the words, merged in article order.
    found = set(_prefix_ids(session, search, conditions, after, before, limit))
    if words:
        found.update(_word_ids(session, words, conditions, after, before, limit))
    ordered = sorted(found)
    return ordered[:limit] if before is None else ordered[-limit:]


def _walk_of(parts: list) -> tuple[Any, Any]:
    """Return the key and statement that walk the filters' matches: along the first walkable filter, or the listing."""
    first = parts[0]
    if isinstance(first, _Filter):
        others = [part.condition if isinstance(part, _Filter) else part for part in parts[1:]]
        return first.walk(others)
    return _LISTED_ID, select(_LISTED_ID).where(*parts)


def _walk(session, key, statement, conditions, after, before, limit) -> list[int]:
    """Run ``statement`` in ``key`` order from the keyset boundary; return the ids ascending."""
    ids = list(session.execute(_walk_statement(key, statement, conditions, after, before, limit)).scalars())
    return ids if before is None else ids[::-1]


def _walk_statement(key, statement, conditions, after, before, limit):
    if before is not None:
        statement = statement.where(key < before).order_by(key.desc())
    else:
        if after is not None:
            statement = statement.where(key > after)
        statement = statement.order_by(key)
    # A literal limit, as the search's values (see _planned_with): a generic plan assumes a tenth of
    # the rows come back, and walks the article table for a word that is in fifty.
    return statement.where(*conditions).limit(bindparam(None, limit, type_=Integer(), literal_execute=True))


def _word_ids(session, words, conditions, after, before, limit) -> list[int]:
    ids = list(session.execute(_word_statement(session, words, conditions, after, before, limit)).scalars())
    return ids if before is None else ids[::-1]


def _word_statement(session, words, conditions, after, before, limit):
    """Return the keyset query of the articles holding every word, served by the full-text index."""
    if session.get_bind().dialect.name == "postgresql":
        matches = literal_column("article.text_search").op("@@")(
            func.plainto_tsquery(literal_column(f"'{TS_CONFIG}'::regconfig"), _planned_with(" ".join(words)))
        )
        # The words are in the article rows (their tsvector); the conditions, on the listing.
        statement = select(_ARTICLES.c.id).select_from(_ARTICLES.join(_LISTING, _ARTICLES.c.id == _LISTED_ID))
        return _walk_statement(_ARTICLES.c.id, statement, [*conditions, matches], after, before, limit)
    # Each word quoted: FTS5 reads it as a string, never as its query syntax.
    query = " AND ".join('"' + word.replace('"', '""') + '"' for word in words)
    statement = select(_LISTED_ID).select_from(_FTS.join(_LISTING, _FTS.c.rowid == _LISTED_ID))
    # Keyed on the FTS rowid, so that FTS5 walks its matches in order and stops at the limit.
    return _walk_statement(
        _FTS.c.rowid,
        statement,
        [*conditions, _FTS.c[FTS_TABLE].op("MATCH")(query)],
        after,
        before,
        limit,
    )


def _prefix_ids(session, prefix, conditions, after, before, limit) -> list[int]:
    """Return a keyset page of the articles whose external id starts with ``prefix``.

    The id index finds the matches, which are then sorted into article order:
    cheap while they are few. A prefix shared by many articles (``src/``) is
    better served by walking the articles in order and testing each, which
    finds a page soon. PostgreSQL's planner chooses from its statistics; SQLite
    has none (the app never runs ANALYZE), so it counts the matches up to a
    threshold first, through the index.

    The id index is the article table's: its entries hold the article id, so
    the range reads no article row, and the conditions read the listing row.
    Many matches are tested on the listing's copy of the external id instead.
    """
    range_ = _id_prefix(session, prefix)
    statement = select(_LISTED_ID).select_from(_ARTICLES.join(_LISTING, _ARTICLES.c.id == _LISTED_ID))
    key = _ARTICLES.c.id
    if session.get_bind().dialect.name == "sqlite":
        few = select(_ARTICLES.c.id).where(*range_).limit(PREFIX_SORT_LIMIT).subquery()
        if session.execute(select(func.count()).select_from(few)).scalar_one() >= PREFIX_SORT_LIMIT:
            # substr cannot use the id index, so SQLite walks the listing's primary key instead.
            range_ = [func.substr(_LISTING.c.external_id, 1, len(prefix)) == prefix]
            statement, key = select(_LISTED_ID), _LISTED_ID
    return _walk(session, key, statement, [*conditions, *range_], after, before, limit)


def _id_prefix(session: Session, prefix: str) -> list:
    """Return conditions true for articles whose external id starts with ``prefix``, served by an index.

    A range ``prefix <= id < next(prefix)`` in code point order: SQLite's
    binary collation, and PostgreSQL's pattern operators (``text_pattern_ops``
    index), whatever the database's collation.
    """
    upper = _next_prefix(prefix)
    external_id = _ARTICLES.c.external_id
    if session.get_bind().dialect.name == "postgresql":
        conditions = [external_id.op("~>=~")(_planned_with(prefix))]
        if upper is not None:
            conditions.append(external_id.op("~<~")(_planned_with(upper)))
        return conditions
    return [external_id >= prefix] + ([external_id < upper] if upper is not None else [])


def _planned_with(value: str):
    """Return ``value`` as a bound value that PostgreSQL plans the query with.

    Sent as a parameter, a prepared statement may be run with a generic plan
    (after five runs), one for any prefix or words: it cannot tell a rare word
    (use the index, then sort) from a common one (walk the articles in order),
    and a wrong guess reads the whole table. Rendered into the statement (as a
    quoted literal, by SQLAlchemy), each search is planned for its own value.
    """
    return bindparam(None, value, type_=String(), literal_execute=True)


def _next_prefix(prefix: str) -> str | None:
    """Return the smallest string after every string that starts with ``prefix`` (None: there is none)."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:  # surrogates are no characters
            last = 0xE000
        if last <= sys.maxunicode:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def _rows(session: Session, ids: list[int], user_id: int, settings: ProjectSettings) -> list[ArticleRow]:
    """Return the list's columns for these articles, with ``user_id``'s status on each, in id order.

    Read from ``article_listing`` and the states' indexes, never from the article
    rows: past a few kilobytes of text SQLite keeps the rest of an article's row
    on an overflow page, and reading it would cost a page of the file per article.
    """
    if not ids:
        return []
    article_id = _LISTING.c.article_id
    statement = (
        select(
            article_id,
            _LISTING.c.external_id,
            _LISTING.c.preview,
            _LISTING.c.length,
            AnnotationState.status,
            accepted_of(article_id),
            holders_of(article_id),
            required_of(article_id),
            AnnotationState.reviewer_note_at.is_not(None),
        )
        .outerjoin(
            AnnotationState,
            and_(AnnotationState.article_id == article_id, AnnotationState.user_id == user_id),
        )
        .where(article_id.in_(ids))
        .order_by(article_id)
    )
    rows = session.execute(statement, claim_params(settings))
    return [
        ArticleRow(
            external_id,
            preview,
            length,
            status or Status.TODO.value,
            done,
            holding,
            required,
            bool(noted),
            article_id,
        )
        for article_id, external_id, preview, length, status, done, holding, required, noted in rows
    ]


def list_articles(
    session: Session,
    user_id: int,
    settings: ProjectSettings,
    *,
    limit: int = PAGE_SIZE,
    after: int | None = None,
) -> list[ArticleRow]:
    """Return the visible articles after ``after`` with this user's status on each, in import order."""
    visible = [visible_articles(_LISTING.c.import_batch_id)]
    ids = _walk(session, _LISTED_ID, select(_LISTED_ID), visible, after, None, limit)
    return _rows(session, ids, user_id, settings)


def count_articles(session: Session) -> int:
    """Return how many articles are visible."""
    return session.execute(select(count_visible())).scalar_one()


def count_by_status(session: Session, user_id: int, *, total: int | None = None) -> dict[str, int]:
    """Return how many visible articles this user has in each status (untouched ones are todo).

    ``total`` is the count of visible articles when the caller has it already
    (the top bar's), saving a query.
    """
    rows = session.exec(
        select(AnnotationState.status, func.count())
        .where(AnnotationState.user_id == user_id, visible_article_id(AnnotationState.article_id))
        .group_by(AnnotationState.status)
    ).all()
    counts = {status.value: 0 for status in Status}
    counts.update(dict(rows))
    total = count_articles(session) if total is None else total
    counts[Status.TODO.value] += total - sum(count for _, count in rows)
    return counts


def get_article(session: Session, external_id: str) -> Article | None:
    """Return the article with this external id, or None."""
    return session.exec(select(Article).where(Article.external_id == external_id)).first()
