"""Import articles, and gold or model spans, from .txt, JSONL and CSV files.

A small pipeline: read every file into records and check each one, reconcile
the records with the database (one query per thousand ids), then write all
new articles and spans in bulk and commit once. Any problem anywhere stops
the import before anything is written, and all problems found are reported
together, each with its file and line.

Every import is recorded as an ``ImportBatch`` (the command line, an upload in
the browser, or the API), in the same transaction as its articles, which
point at the batch that created them; and as an audit event.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path, PurePath
from typing import Any, NamedTuple

from sqlalchemy import func, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from annotator.errors import BadImport, NotFound
from annotator.labels import spans_errors
from annotator.models import Article, GoldAction, GoldRevision, ImportBatch, Origin, Span, User, utcnow
from annotator.services import audit, version_counts
from annotator.services.gold_revisions import snapshot
from annotator.services.origins import SpanOwner, parse_origin

SUFFIXES = (".txt", ".jsonl", ".csv")
# How many problems one error message lists; the rest are only counted.
MAX_PROBLEMS = 20
# Ids per lookup query and records per insert batch.
CHUNK_SIZE = 1000
# The width of Article.external_id.
MAX_ID_LENGTH = 255
# The longest article text, in characters: spaCy's default ``max_length``. News
# articles run to tens of thousands; a longer text is a whole dump or feed
# pasted as one record. Pre-annotation would cope (it runs long texts in
# pieces), but a DocBin export tokenizes each text whole and refuses one over
# spaCy's limit, and the review page shows every token of a text at once.
MAX_TEXT_LENGTH = 1_000_000


@dataclass
class ImportSummary:
    new: int = 0
    # Records whose article was already stored, or came earlier in the same import.
    unchanged: int = 0
    # Always 0 after a successful import: one bad record rejects the whole import.
    rejected: int = 0
    spans_added: int = 0
    files: int = 0
    records: int = 0
    # Articles whose gold this import changed (each got a new gold revision).
    gold_revisions: int = 0
    # Of the ``unchanged`` records, those that added spans (or a first gold) to an article
    # stored before; their text and metadata stay as they were.
    updated: int = 0
    # The ImportBatch this import is recorded as.
    batch_id: int | None = None

    def counts(self) -> dict[str, int]:
        """Return the counts an import batch keeps: records new, updated, unchanged; spans; files."""
        counts = asdict(self)
        del counts["batch_id"], counts["rejected"]
        counts["unchanged"] = self.unchanged - self.updated
        return counts

    def describe(self) -> str:
        line = (
            f"{_plural(self.files, 'file')}: {_plural(self.new, 'new article')}, "
            f"{self.unchanged} unchanged, {self.rejected} rejected; {_plural(self.spans_added, 'span')} added"
        )
        if self.gold_revisions:
            line += f"; gold changed for {_plural(self.gold_revisions, 'article')}"
        return line


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _parse_origin(session: Session, value: str, *, where: str = "--origin") -> SpanOwner:
    try:
        return parse_origin(session, value)
    except (ValueError, NotFound) as error:
        raise BadImport(where, None, str(error)) from error


# --- read: files -> records ----------------------------------------------------


@dataclass
class Record:
    """One article read from a file, checked on its own."""

    # The file as problems name it: its path, or the name it was uploaded under.
    path: Path | str
    line: int | None
    external_id: str
    text: str
    content_hash: str
    meta: dict[str, Any]
    spans: list[dict[str, Any]]
    # Whether the record says anything of spans: with --origin gold, "spans": [] is a gold that marks nothing.
    has_spans: bool = False

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else str(self.path)


class Problem(NamedTuple):
    path: Path | str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


@dataclass
class Problems:
    """Every problem an import found, in the order found, so one error can list them all."""

    found: list[Problem] = field(default_factory=list)

    def add(self, path: Path | str, line: int | None, message: str) -> None:
        self.found.append(Problem(path, line, message))

    def __bool__(self) -> bool:
        return bool(self.found)

    def __len__(self) -> int:
        return len(self.found)

    def error(self) -> BadImport:
        """Return one error naming the first problem, its message listing the others too."""
        first, *others = self.found
        lines = [first.message, *map(str, others[: MAX_PROBLEMS - 1])]
        if len(self.found) > MAX_PROBLEMS:
            lines.append(f"... and {len(self.found) - MAX_PROBLEMS} more problems")
        return BadImport(str(first.path), first.line, "\n".join(lines))


def files_in(path: Path, problems: Problems, *, name: str | None = None) -> list[Path]:
    """Return the files to read for one path given: itself, or the importable files in a folder.

    Inside folders, files with other extensions and hidden files are skipped; a
    file named directly must have a known extension. ``name`` is how problems
    name ``path`` (an upload's own name, not its temporary file).
    """
    if path.is_dir():
        found = sorted(
            each
            for each in path.rglob("*")
            if each.suffix.lower() in SUFFIXES
            and not each.is_dir()
            and not any(part.startswith(".") for part in each.relative_to(path).parts)
        )
        if not found:
            problems.add(path, None, "the folder holds no .txt, .jsonl or .csv files")
        return found
    shown = path if name is None else name
    if not path.exists() and not path.is_symlink():
        problems.add(shown, None, "no such file or folder")
    elif path.suffix.lower() not in SUFFIXES:
        problems.add(shown, None, f"unknown file type {path.suffix!r} (expected .txt, .jsonl or .csv)")
    else:
        return [path]
    return []


def read_file(
    path: Path,
    problems: Problems,
    *,
    allow_overlaps: bool = False,
    keep_provenance: bool = False,
    name: str | None = None,
) -> list[Record]:
    """Return the records of one file, adding whatever is wrong to ``problems``.

    ``allow_overlaps`` accepts overlapping spans (evaluation reads an
    extractor's output so); an import never stores them. ``keep_provenance``
    (gold imports) checks and keeps a JSONL span's ``provenance``; otherwise it
    is dropped unread. ``name`` is the file's name in problems and records, and
    a .txt file's id comes from it: an upload keeps the name it was sent with.
    """
    shown = path if name is None else name
    try:
        data = path.read_bytes()
    except OSError as error:
        problems.add(shown, None, f"cannot read the file: {error.strerror or error}")
        return []
    suffix = path.suffix.lower()
    found_before = len(problems)
    # A byte order mark is no part of a JSONL or CSV record; in a .txt file it is
    # text like any other, and offsets count it.
    text = _decode(shown, data, problems, encoding="utf-8" if suffix == ".txt" else "utf-8-sig")
    if text is None:
        return []
    if suffix == ".txt":
        stem = path.stem if name is None else PurePath(name).stem
        record = _make_record(shown, None, stem, text, {}, None, problems)
        return [record] if record else []
    if suffix == ".jsonl":
        records = _read_jsonl(
            shown, text, problems, allow_overlaps=allow_overlaps, keep_provenance=keep_provenance
        )
    else:
        records = _read_csv(shown, text, problems)
    if not records and len(problems) == found_before:
        problems.add(shown, None, "the file holds no articles")
    return records


def _decode(path: Path | str, data: bytes, problems: Problems, *, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(path, line, f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start})")
        return None


# Prodigy's task fields, as `annotator export --format jsonl` writes them: derived
# from the text and spans on every export, so they are not article metadata.
PRODIGY_TASK_FIELDS = frozenset(
    {
        "tokens",
        "answer",
        "_input_hash",
        "_task_hash",
        "_view_id",
        "_session_id",
        "_timestamp",
        "_annotator_id",
    }
)


def _jsonl_metadata(item: dict[str, Any]) -> dict[str, Any]:
    """Return a JSONL record's metadata: its other fields, with Prodigy's ``meta`` unpacked."""
    meta = {
        key: value
        for key, value in item.items()
        if key not in ("id", "text", "spans", "meta") and key not in PRODIGY_TASK_FIELDS
    }
    nested = item.get("meta")
    if isinstance(nested, dict):
        meta.update((key, value) for key, value in nested.items() if key != "id")
    elif "meta" in item:
        meta["meta"] = nested
    return meta


def _read_jsonl(
    path: Path | str, text: str, problems: Problems, *, allow_overlaps: bool, keep_provenance: bool
) -> list[Record]:
    records = []
    # Split on "\n" only: str.splitlines() would also split at U+2028 inside a string.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line, parse_constant=_reject_constant)
        except json.JSONDecodeError as error:
            problems.add(path, number, f"malformed JSON: {error.msg} (column {error.colno})")
            continue
        except ValueError as error:  # NaN or Infinity, which JSON does not have
            problems.add(path, number, f"malformed JSON: {error}")
            continue
        record = _record_from_item(
            path, number, item, problems, allow_overlaps=allow_overlaps, keep_provenance=keep_provenance
        )
        if record:
            records.append(record)
    return records


def _record_from_item(
    path: Path | str,
    line: int | None,
    item: Any,
    problems: Problems,
    *,
    allow_overlaps: bool = False,
    keep_provenance: bool = False,
) -> Record | None:
    """Check one parsed JSONL record (a line, or an item the API was sent); return it, or None after adding problems."""
    if not isinstance(item, dict):
        problems.add(path, line, f"expected a JSON object, not {_json_type(item)}")
        return None
    missing = [name for name in ("id", "text") if name not in item]
    if missing:
        problems.add(path, line, f"missing {' and '.join(repr(name) for name in missing)}")
        return None
    meta = _jsonl_metadata(item)
    if not _is_encodable(meta):
        problems.add(path, line, "a metadata field holds an unpaired surrogate escape (not valid Unicode)")
        return None
    return _make_record(
        path,
        line,
        item["id"],
        item["text"],
        meta,
        item.get("spans"),
        problems,
        allow_overlaps=allow_overlaps,
        keep_provenance=keep_provenance,
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _is_encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_csv(path: Path | str, text: str, problems: Problems) -> list[Record]:
    # The csv module refuses fields over 131,072 characters, far below
    # MAX_TEXT_LENGTH, which _make_record checks with a clearer message. No field
    # is longer than the file, which is in memory already. The limit is
    # process-wide, so it is only ever raised, never set back under another import.
    if csv.field_size_limit() < len(text):
        csv.field_size_limit(len(text))
    # newline="" keeps line breaks inside quoted fields exactly as written.
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        problems.add(path, 1, f"malformed CSV header: {error}")
        return []
    if header is None:
        return []
    header = [name.strip() for name in header]
    missing = [name for name in ("id", "text") if name not in header]
    if missing:
        problems.add(
            path,
            1,
            f"the header has no {' or '.join(repr(name) for name in missing)} column "
            f"(found: {', '.join(map(repr, header))})",
        )
        return []
    records = []
    line = reader.line_num + 1  # where the next row starts
    while True:
        try:
            row = next(reader, None)
        except csv.Error as error:
            problems.add(path, line, f"malformed CSV: {error}")
            return records
        if row is None:
            return records
        if row and len(row) != len(header):
            problems.add(path, line, f"the row has {len(row)} fields, the header {len(header)}")
        elif row:
            values = dict(zip(header, row, strict=True))
            meta = {key: value for key, value in values.items() if key not in ("id", "text")}
            record = _make_record(path, line, values["id"], values["text"], meta, None, problems)
            if record:
                records.append(record)
        line = reader.line_num + 1


def _make_record(
    path: Path | str,
    line: int | None,
    raw_id: Any,
    text: Any,
    meta: dict[str, Any],
    spans: Any,
    problems: Problems,
    *,
    allow_overlaps: bool = False,
    keep_provenance: bool = False,
) -> Record | None:
    """Check one article's id, text and spans; return it as a record, or None after adding problems."""
    errors = []
    # JSON numbers are fine as ids ({"id": 17} is article "17"); booleans are not.
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    external_id = raw_id.strip() if isinstance(raw_id, str) else None
    if external_id is None:
        errors.append(f"id must be a string or an integer, not {_json_type(raw_id)}")
    elif not external_id:
        errors.append("id is empty")
    elif len(external_id) > MAX_ID_LENGTH:
        errors.append(f"id is longer than {MAX_ID_LENGTH} characters")
    elif external_id in (".", ".."):
        # A browser reads "." and ".." in a URL as steps up the path, whatever the encoding.
        errors.append(f"id {external_id!r} cannot be an article's id: no link could open it")
    content_hash = ""
    if not isinstance(text, str):
        errors.append(f"text must be a string, not {_json_type(text)}")
    elif not text.strip():
        errors.append("text is empty")
    elif len(text) > MAX_TEXT_LENGTH:
        errors.append(
            f"text is {len(text):,} characters long, over the limit of {MAX_TEXT_LENGTH:,} characters"
        )
    elif "\x00" in text:
        errors.append("text holds a NUL character")
    else:
        try:
            content_hash = hashlib.sha256(text.encode("utf-8")).hexdigest()
        except UnicodeEncodeError:
            errors.append("text holds an unpaired surrogate escape (not valid Unicode)")
    if external_id and isinstance(text, str) and spans is not None and not errors:
        errors.extend(spans_errors(text, spans, allow_overlaps=allow_overlaps))
        if keep_provenance and not errors:
            errors.extend(
                f"span {index}: {message}"
                for index, span in enumerate(spans)
                if "provenance" in span
                for message in provenance_errors(span["provenance"])
            )
    if errors:
        for message in errors:
            problems.add(path, line, message)
        return None
    return Record(
        path=path,
        line=line,
        external_id=external_id,
        text=text,
        content_hash=content_hash,
        meta=meta,
        spans=[_span_fields(span, keep_provenance=keep_provenance) for span in spans or []],
        has_spans=spans is not None,
    )


def _span_fields(span: Mapping[str, Any], *, keep_provenance: bool = False) -> dict[str, Any]:
    # Prodigy-style extras (token_start, answer, ...) are not stored.
    fields = {
        "start": span["start"],
        "end": span["end"],
        "label": span["label"],
        "attrs": span.get("attrs") or {},
    }
    if keep_provenance and "provenance" in span:
        fields["provenance"] = span["provenance"]
    return fields


PROVENANCE_FIELDS = ("annotators", "changed")


def provenance_errors(provenance: Any) -> list[str]:
    """Return what is wrong with a gold span's provenance: {"annotators": [names], "changed": bool}."""
    expected = '"annotators" (a list of usernames) and "changed" (true or false)'
    if not isinstance(provenance, dict):
        return [f"provenance must be an object with {expected}, not {_json_type(provenance)}"]
    errors = [f"provenance has no {name!r}" for name in PROVENANCE_FIELDS if name not in provenance]
    errors.extend(
        f"provenance has an unknown field {name!r} (it holds {expected})"
        for name in provenance
        if name not in PROVENANCE_FIELDS
    )
    annotators = provenance.get("annotators", [])
    if not isinstance(annotators, list):
        errors.append(f"provenance.annotators must be a list of usernames, not {_json_type(annotators)}")
    else:
        errors.extend(
            f"provenance.annotators[{index}] must be a username (a string), not {_json_type(name)}"
            for index, name in enumerate(annotators)
            if not isinstance(name, str)
        )
        if not all(_is_encodable(name) for name in annotators if isinstance(name, str)):
            errors.append("provenance.annotators holds an unpaired surrogate escape (not valid Unicode)")
    changed = provenance.get("changed", False)
    if not isinstance(changed, bool):
        errors.append(f"provenance.changed must be true or false, not {_json_type(changed)}")
    return errors


# --- reconcile: records -> what to write ----------------------------------------


@dataclass
class _Known:
    """An article as far as this import knows it: stored, or new in an earlier record."""

    external_id: str
    article_id: int | None
    content_hash: str
    where: str
    # (start, end, label) -> span, for the spans of the imported origin and owner.
    spans: dict[tuple[int, int, str], dict[str, Any]] = field(default_factory=dict)
    # Gold imports: the newest stored gold revision (0: none), and whether this import changes the gold.
    gold_revision: int = 0
    gold_changed: bool = False
    # The file the changed gold came from, which its revision names.
    gold_source: str = ""


@dataclass
class _Planned:
    record: Record
    new: bool
    # The stored article's id; None for an article this import inserts.
    article_id: int | None
    spans: list[dict[str, Any]]


def _chunks(items: Iterable[Any], size: int = CHUNK_SIZE) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _stored_articles(session: Session, external_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """Return external id -> (id, content hash) for the stored articles among ``external_ids``."""
    stored = {}
    for chunk in _chunks(external_ids):
        rows = session.exec(
            select(Article.external_id, Article.id, Article.content_hash).where(
                Article.external_id.in_(chunk)
            )
        )
        stored.update(
            {external_id: (article_id, content_hash) for external_id, article_id, content_hash in rows}
        )
    return stored


def _stored_spans(session: Session, article_ids: Iterable[int], owner: SpanOwner) -> dict[int, list[dict]]:
    """Return article id -> its stored spans of ``owner``."""
    spans: dict[int, list[dict]] = {}
    for chunk in _chunks(article_ids):
        query = select(Span.article_id, Span.start, Span.end, Span.label, Span.attrs, Span.provenance).where(
            Span.article_id.in_(chunk), Span.origin == owner.origin
        )
        if owner.owner_id is not None:
            query = query.where(Span.owner_id == owner.owner_id)
        for article_id, start, end, label, attrs, provenance in session.exec(query):
            span = {"start": start, "end": end, "label": label, "attrs": attrs or {}}
            if provenance is not None:
                # Kept, so that the revision this import appends keeps it too.
                span["provenance"] = provenance
            spans.setdefault(article_id, []).append(span)
    return spans


def _newest_gold_revisions(session: Session, article_ids: Iterable[int]) -> dict[int, int]:
    """Return article id -> its newest gold revision number, for those that have one."""
    found: dict[int, int] = {}
    for chunk in _chunks(article_ids):
        found.update(
            session.exec(
                select(GoldRevision.article_id, func.max(GoldRevision.revision))
                .where(GoldRevision.article_id.in_(chunk))
                .group_by(GoldRevision.article_id)
            ).all()
        )
    return found


def _clashes(kept: Collection[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Return one message per new span that overlaps a kept one (new spans never overlap each other)."""
    if not kept or not new:
        return []
    tagged = sorted(
        [(span, False) for span in kept] + [(span, True) for span in new],
        key=lambda item: (item[0]["start"], item[0]["end"]),
    )
    messages = []
    widest: tuple[dict[str, Any], bool] | None = None  # the span reaching furthest right so far
    for span, is_new in tagged:
        if widest is not None and span["start"] < widest[0]["end"] and (is_new or widest[1]):
            added, other = (span, widest[0]) if is_new else (widest[0], span)
            messages.append(
                f"span [{added['start']}, {added['end']}) {added['label']} overlaps the "
                f"[{other['start']}, {other['end']}) {other['label']} span already there"
            )
        if widest is None or span["end"] > widest[0]["end"]:
            widest = (span, is_new)
    return messages


@dataclass
class Plan:
    """What an import will write: per record, and for gold, each article whose gold changes."""

    records: list[_Planned]
    gold_changes: list[_Known]


def plan(
    session: Session,
    records: list[Record],
    owner: SpanOwner,
    problems: Problems,
    *,
    gold_source: str | None = None,
) -> Plan:
    """Decide per record whether its article is new, which of its spans to add, and which gold changes.

    ``gold_source`` is what new gold revisions name as their source; by default, each record's file.
    """
    is_gold = owner.origin == Origin.GOLD.value
    stored = _stored_articles(session, {record.external_id for record in records})
    with_spans = {
        stored[record.external_id][0]
        for record in records
        if (record.spans or (is_gold and record.has_spans))
        and record.external_id in stored
        and stored[record.external_id][1] == record.content_hash
    }
    stored_spans = _stored_spans(session, with_spans, owner)
    revisions = _newest_gold_revisions(session, with_spans) if is_gold else {}
    known: dict[str, _Known] = {}
    for external_id, (article_id, content_hash) in stored.items():
        spans = stored_spans.get(article_id, [])
        known[external_id] = _Known(
            external_id,
            article_id,
            content_hash,
            "the database",
            {_span_key(span): span for span in spans},
            gold_revision=revisions.get(article_id, 0),
        )

    planned = []
    for record in records:
        article = known.get(record.external_id)
        if article is not None and article.content_hash != record.content_hash:
            problems.add(
                record.path,
                record.line,
                f"article {record.external_id!r} already exists with different text (in {article.where}); "
                "its spans' offsets would no longer fit",
            )
            continue
        new = article is None
        if new:
            article = known[record.external_id] = _Known(
                record.external_id, None, record.content_hash, record.where
            )
        spans = [span for span in record.spans if _span_key(span) not in article.spans]
        clashes = _clashes(article.spans.values(), spans)
        if clashes:
            for message in clashes:
                problems.add(record.path, record.line, f"article {record.external_id!r}: {message}")
            continue
        article.spans.update((_span_key(span), span) for span in spans)
        if is_gold and record.has_spans and (spans or not article.gold_revision):
            # New gold spans, or a first gold that may mark nothing: a new revision.
            article.gold_changed = True
            article.gold_source = gold_source or str(record.path)
        planned.append(_Planned(record, new, article.article_id, spans))
    return Plan(planned, [article for article in known.values() if article.gold_changed])


def _span_key(span: Mapping[str, Any]) -> tuple[int, int, str]:
    return (span["start"], span["end"], span["label"])


# --- write: one transaction ------------------------------------------------------


def write(
    session: Session,
    planned: Plan,
    owner: SpanOwner,
    summary: ImportSummary,
    progress: Callable[[int, int], None] | None = None,
    *,
    batch_id: int | None = None,
) -> None:
    """Insert the planned articles (as created by ``batch_id``), spans and gold revisions in batches.

    The caller commits.
    """
    article_table = Article.__table__
    now = utcnow()
    inserted_ids: dict[str, int] = {}
    done = 0
    # Stored articles whose gold this import changes, spans added or not (a first gold may mark nothing).
    gold_changed = {article.external_id for article in planned.gold_changes if article.article_id is not None}
    updated: set[str] = set()
    for batch in _chunks(planned.records):
        rows = [
            {
                "external_id": item.record.external_id,
                "text": item.record.text,
                "content_hash": item.record.content_hash,
                "meta": item.record.meta,
                "imported_at": now,
                "import_batch_id": batch_id,
            }
            for item in batch
            if item.new
        ]
        if rows:
            inserted = session.execute(
                insert(article_table).returning(article_table.c.external_id, article_table.c.id),
                rows,
            )
            inserted_ids.update((external_id, article_id) for external_id, article_id in inserted)
        span_rows = [
            {
                "article_id": (
                    item.article_id if item.article_id is not None else inserted_ids[item.record.external_id]
                ),
                **span,
                "origin": owner.origin,
                "owner_id": owner.owner_id,
                "created_at": now,
                "updated_at": now,
            }
            for item in batch
            for span in item.spans
        ]
        # One insert per set of columns: an executemany takes its columns from the first row
        # (and spans without provenance leave the column NULL, not JSON null).
        for rows_with_keys in _by_keys(span_rows):
            session.execute(insert(Span.__table__), rows_with_keys)
        summary.new += len(rows)
        summary.unchanged += len(batch) - len(rows)
        for item in batch:
            external_id = item.record.external_id
            stored_before = item.article_id is not None and external_id not in updated
            if stored_before and (item.spans or external_id in gold_changed):
                updated.add(external_id)
                summary.updated += 1
        summary.spans_added += len(span_rows)
        done += len(batch)
        if progress:
            progress(done, len(planned.records))
    for batch in _chunks(planned.gold_changes):
        session.execute(
            insert(GoldRevision.__table__),
            [
                {
                    "article_id": article.article_id or inserted_ids[article.external_id],
                    "revision": article.gold_revision + 1,
                    "action": GoldAction.IMPORT.value,
                    "source": article.gold_source[:300],
                    "created_at": now,
                    "spans": snapshot(article.spans.values()),
                }
                for article in batch
            ],
        )
        summary.gold_revisions += len(batch)
    _count_changed(session, planned, owner, inserted_ids)


def _by_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Return ``rows`` grouped by their keys, in order of first appearance."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row), []).append(row)
    return list(groups.values())


def _count_changed(session: Session, planned: Plan, owner: SpanOwner, inserted_ids: dict[str, int]) -> None:
    """Count accepted versions again where this import changed the gold, or an annotator's spans."""
    if owner.origin == Origin.GOLD.value and planned.gold_changes:
        changed = [
            article.article_id or inserted_ids[article.external_id] for article in planned.gold_changes
        ]
        version_counts.count_references(session, changed, only="gold")
    elif owner.origin == Origin.ANNOTATOR.value:
        touched = [item.article_id for item in planned.records if item.spans and item.article_id is not None]
        version_counts.recount_owner(session, touched, owner.owner_id)


def import_paths(
    session: Session,
    paths: list[Path],
    *,
    origin: str = "gold",
    progress: Callable[[int, int], None] | None = None,
    channel: str = "cli",
    actor: User | None = None,
    names: Mapping[Path, str] | None = None,
) -> ImportSummary:
    """Import the articles (and spans) of ``paths`` and commit; on any problem raise BadImport, writing nothing.

    ``origin`` is gold, model or annotator:NAME and applies to spans in JSONL
    files. Ids are stripped of surrounding whitespace; a JSON integer id is
    taken as its decimal string. Texts are kept exactly as read and may be at
    most ``MAX_TEXT_LENGTH`` characters long. Articles
    already stored with the same text are left as they are (metadata
    included), and spans they already have are not added again.

    The import is recorded as an ImportBatch of ``channel`` ("cli" or
    "upload") made by ``actor`` (None: the command line), with an audit
    event. ``names`` gives the name a file is shown under, in problems, the
    batch and gold revisions (an upload's own name, not its temporary file);
    a .txt file's id comes from that name.
    """
    names = names or {}
    owner = _parse_origin(session, origin, where="--origin" if channel == "cli" else "origin")
    problems = Problems()
    files: list[str] = []
    records: list[Record] = []
    for path in paths:
        for each in files_in(path, problems, name=names.get(path)):
            name = names.get(each)
            files.append(str(each) if name is None else name)
            records.extend(
                read_file(each, problems, keep_provenance=owner.origin == Origin.GOLD.value, name=name)
            )
    return _store(
        session,
        records,
        problems,
        owner,
        files=files,
        origin=origin,
        channel=channel,
        actor=actor,
        progress=progress,
    )


# Where an API import's records are, in its problems: the index in the request's "articles".
API_RECORD = "articles[{index}]"


def import_records(
    session: Session,
    items: Sequence[Any],
    *,
    origin: str = "gold",
    actor: User | None = None,
    source: str = "API",
) -> ImportSummary:
    """Import JSONL records sent to the API and commit; on any problem raise BadImport, writing nothing.

    Each item is checked as a JSONL line is (``id``, ``text``, optional
    ``spans`` in the gold format, other fields metadata), and problems name it
    ``articles[INDEX]``. ``source`` is what the batch lists as its file and
    new gold revisions as their source.
    """
    owner = _parse_origin(session, origin, where="origin")
    keep_provenance = owner.origin == Origin.GOLD.value
    problems = Problems()
    records = []
    for index, item in enumerate(items):
        where = API_RECORD.format(index=index)
        if not _is_strict_json(item):
            problems.add(where, None, "holds NaN or Infinity, which JSON does not have")
            continue
        record = _record_from_item(where, None, item, problems, keep_provenance=keep_provenance)
        if record:
            records.append(record)
    if not items:
        problems.add("articles", None, "the list holds no articles")
    return _store(
        session,
        records,
        problems,
        owner,
        files=[source],
        origin=origin,
        channel="api",
        actor=actor,
        gold_source=source,
    )


def _is_strict_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def _store(
    session: Session,
    records: list[Record],
    problems: Problems,
    owner: SpanOwner,
    *,
    files: list[str],
    origin: str,
    channel: str,
    actor: User | None,
    progress: Callable[[int, int], None] | None = None,
    gold_source: str | None = None,
) -> ImportSummary:
    """Plan the checked records; write them with their batch and audit event in one transaction, or raise."""
    if progress:
        progress(0, len(records))
    planned = plan(session, records, owner, problems, gold_source=gold_source)
    if problems:
        session.rollback()
        raise problems.error()
    summary = ImportSummary(files=len(files), records=len(records))
    try:
        batch = ImportBatch(
            channel=channel, origin=origin, files=files, user_id=actor.id if actor is not None else None
        )
        session.add(batch)
        session.flush()
        summary.batch_id = batch.id
        write(session, planned, owner, summary, progress, batch_id=batch.id)
        batch.summary = summary.counts()
        audit.record(
            session,
            actor,
            f"import.{channel}",
            f"import:{batch.id}",
            batch=batch.id,
            origin=origin,
            # A folder may hold thousands of files: the batch lists them all, the event the first few.
            file_names=files[:MAX_PROBLEMS],
            **batch.summary,
        )
        session.commit()
    except IntegrityError as error:
        # Validation passed, so another import stored one of these ids meanwhile.
        session.rollback()
        raise BadImport(
            files[0] if files else "articles",
            None,
            "another import stored some of these articles meanwhile; run this one again",
        ) from error
    return summary


def problem_lines(error: BadImport) -> list[str]:
    """Return a failed import's problems, one ``file:line: problem`` each (as many as the error lists)."""
    return str(error).split("\n")
