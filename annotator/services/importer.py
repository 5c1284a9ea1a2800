"""Import articles, and gold or model spans, from .txt, JSONL and CSV files.

A small pipeline in two passes over the files, neither of which holds more
than a chunk of records in memory:

1. check: stream the records (a JSONL line, a CSV row or a .txt file at a
   time), check each one, and reconcile it with the database and the records
   before it (one query per thousand ids). Only what later records need is
   kept: per article id, its text's hash and where it was first seen. Any
   problem anywhere stops the import before anything is written, and all
   problems found are reported together, each with its file and line.
2. write: stream the records again and write them in short transactions of
   about a thousand articles, into an import batch that stays "importing"
   (its articles invisible to the app, see services/visibility.py) until
   one last short transaction sets it to "committed".

Spans (and gold) that an import adds to articles stored before it cannot be
hidden by its batch; they are staged in a local file while the import
writes, and written in that last transaction, so that they appear all at
once with the rest. Its length grows with them: 1.9 s for 117,000 spans here
(a model import onto 2,000 stored articles, on a busy 2-core machine). On
SQLite web edits wait for it; on PostgreSQL they do not (it locks no row they write).

An import that fails cleans up after itself; one killed is cleaned up by the
next import, or `annotator import --cleanup` (see services/import_batches.py).
Every import is recorded as an ``ImportBatch`` (the command line, an upload in
the browser, or the API), which its new articles point at, and as an audit event.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import logging
import pickle
import struct
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path, PurePath
from typing import IO, Any, NamedTuple

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from annotator.errors import BadImport, NotFound
from annotator.labels import spans_errors
from annotator.models import Article, GoldAction, GoldRevision, Origin, Span, User, utcnow
from annotator.services import audit, import_batches, import_rows, version_counts
from annotator.services.gold_revisions import snapshot
from annotator.services.origins import SpanOwner, parse_origin
from annotator.services.visibility import visible_articles

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".jsonl", ".csv")
# How many problems one error message lists; the rest are only counted.
MAX_PROBLEMS = 20
# Ids per lookup query (and records per chunk of the checking pass).
CHUNK_SIZE = 1000
# What one write transaction holds at most: articles, and spans. On SQLite every web
# edit waits for the transaction in progress, so it must stay well under a second.
WRITE_ARTICLES = 1000
WRITE_SPANS = 10_000
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
    # Records whose ``tally`` was stored as their article's gold tally (origin gold only; of
    # two records of one article, the later one's stays)...
    gold_tallies: int = 0
    # ... and records whose ``tally`` was ignored (any other origin).
    tallies_ignored: int = 0
    # Of the ``unchanged`` records, those that added spans (or a first gold) to an article
    # stored before; their text and metadata stay as they were.
    updated: int = 0
    # The ImportBatch this import is recorded as.
    batch_id: int | None = None
    # How long the last transaction (staged spans, then the batch committed) held the write lock.
    commit_seconds: float = 0.0

    def counts(self) -> dict[str, int]:
        """Return the counts an import batch keeps: records new, updated, unchanged; spans; files."""
        counts = asdict(self)
        del counts["batch_id"], counts["rejected"], counts["commit_seconds"]
        del counts["gold_tallies"], counts["tallies_ignored"]
        counts["unchanged"] = self.unchanged - self.updated
        return counts

    def describe(self) -> str:
        line = (
            f"{_plural(self.files, 'file')}: {_plural(self.new, 'new article')}, "
            f"{self.unchanged} unchanged, {self.rejected} rejected; {_plural(self.spans_added, 'span')} added"
        )
        if self.gold_revisions:
            line += f"; gold changed for {_plural(self.gold_revisions, 'article')}"
        if self.gold_tallies:
            line += f"; {_plural(self.gold_tallies, 'gold tally', 'gold tallies')} stored"
        if self.tallies_ignored:
            line += (
                f"\nIgnored the tally field of {_plural(self.tallies_ignored, 'record')}: only an import "
                "with origin gold reads it, as the article's gold tally."
            )
        return line


def _plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


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
    # Where the record is in its source, unique within it: a JSONL line's byte offset (to read
    # it again), a CSV row's line, an API item's index.
    position: int = 0
    # The record's ``tally`` field as given (checked, and stored as gold, by a gold import
    # only), and whether it has one: a JSONL field, or a CSV column (which cannot hold one).
    tally: Any = None
    has_tally: bool = False
    tally_in_csv: bool = False

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
    """The problems an import found, in the order found, so one error can list them.

    Only the first ``MAX_PROBLEMS`` are kept; the others are counted, so that a
    file of a million bad lines costs no memory.
    """

    found: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, path: Path | str, line: int | None, message: str) -> None:
        self.total += 1
        if len(self.found) < MAX_PROBLEMS:
            self.found.append(Problem(path, line, message))

    def __bool__(self) -> bool:
        return self.total > 0

    def __len__(self) -> int:
        return self.total

    def error(self) -> BadImport:
        """Return one error naming the first problem, its message listing the others too."""
        first, *others = self.found
        lines = [first.message, *map(str, others[: MAX_PROBLEMS - 1])]
        if self.total > MAX_PROBLEMS:
            lines.append(f"... and {self.total - MAX_PROBLEMS} more problems")
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
    """Return the records of one file, adding whatever is wrong to ``problems`` (see ``iter_file``)."""
    return list(
        iter_file(path, problems, allow_overlaps=allow_overlaps, keep_provenance=keep_provenance, name=name)
    )


def iter_file(
    path: Path,
    problems: Problems,
    *,
    allow_overlaps: bool = False,
    keep_provenance: bool = False,
    name: str | None = None,
) -> Iterator[Record]:
    """Yield the records of one file as they are read, adding whatever is wrong to ``problems``.

    ``allow_overlaps`` accepts overlapping spans (evaluation reads an
    extractor's output so); an import never stores them. ``keep_provenance``
    (gold imports) checks and keeps a JSONL span's ``provenance``; otherwise it
    is dropped unread. ``name`` is the file's name in problems and records, and
    a .txt file's id comes from it: an upload keeps the name it was sent with.
    """
    shown = path if name is None else name
    suffix = path.suffix.lower()
    found_before = len(problems)
    try:
        handle = path.open("rb")
    except OSError as error:
        problems.add(shown, None, f"cannot read the file: {error.strerror or error}")
        return
    with handle:
        if suffix == ".txt":
            stem = path.stem if name is None else PurePath(name).stem
            record = _read_txt(shown, stem, handle, problems)
            if record:
                yield record
            return
        lines = _lines(shown, handle, problems)
        if suffix == ".jsonl":
            records = _read_jsonl(
                shown, lines, problems, allow_overlaps=allow_overlaps, keep_provenance=keep_provenance
            )
        else:
            # The csv module refuses fields over 131,072 characters, far below
            # MAX_TEXT_LENGTH, which _make_record checks with a clearer message. No field
            # is longer than the file. The limit is process-wide, so it is only ever
            # raised, never set back under another import.
            size = path.stat().st_size
            if csv.field_size_limit() < size:
                csv.field_size_limit(size)
            records = _read_csv(shown, lines, problems)
        count = 0
        for record in records:
            count += 1
            yield record
    if not count and len(problems) == found_before:
        problems.add(shown, None, "the file holds no articles")


def _read_txt(shown: Path | str, stem: str, handle: IO[bytes], problems: Problems) -> Record | None:
    # A character takes at most 4 bytes: a longer file is over the limit whatever it holds,
    # and is not read into memory to say so.
    limit = 4 * MAX_TEXT_LENGTH
    data = handle.read(limit + 1)
    if len(data) > limit:
        problems.add(
            shown,
            None,
            f"the file is over {limit:,} bytes, longer than any text allowed "
            f"({MAX_TEXT_LENGTH:,} characters)",
        )
        return None
    # A byte order mark is text like any other in a .txt file, and offsets count it.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problems.add(shown, line, f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {error.start})")
        return None
    return _make_record(shown, None, stem, text, {}, None, problems)


def _lines(shown: Path | str, handle: IO[bytes], problems: Problems) -> Iterator[tuple[int, int, str]]:
    """Yield (line number, byte offset, text) of each line; stop at the first that is not UTF-8.

    Lines end at "\\n" only (a JSON string may hold U+2028; a CSV field "\\r").
    A byte order mark is no part of a JSONL or CSV record.
    """
    offset = 0
    for number, raw in enumerate(handle, start=1):
        data = raw[3:] if number == 1 and raw.startswith(codecs.BOM_UTF8) else raw
        try:
            line = data.decode("utf-8")
        except UnicodeDecodeError as error:
            at = offset + len(raw) - len(data) + error.start
            problems.add(shown, number, f"not valid UTF-8 (byte {data[error.start]:#04x} at offset {at})")
            return
        yield number, offset, line
        offset += len(raw)


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
        if key not in ("id", "text", "spans", "meta", "tally") and key not in PRODIGY_TASK_FIELDS
    }
    nested = item.get("meta")
    if isinstance(nested, dict):
        meta.update((key, value) for key, value in nested.items() if key != "id")
    elif "meta" in item:
        meta["meta"] = nested
    return meta


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


# One decoder for every line: json.loads with an option builds a new one per call.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _read_jsonl(
    path: Path | str,
    lines: Iterable[tuple[int, int, str]],
    problems: Problems,
    *,
    allow_overlaps: bool,
    keep_provenance: bool,
) -> Iterator[Record]:
    for number, offset, line in lines:
        if not line.strip():
            continue
        record = _jsonl_record(
            path, number, line, problems, allow_overlaps=allow_overlaps, keep_provenance=keep_provenance
        )
        if record:
            record.position = offset
            yield record


def _jsonl_record(
    path: Path | str,
    number: int | None,
    line: str,
    problems: Problems,
    *,
    allow_overlaps: bool = False,
    keep_provenance: bool = False,
) -> Record | None:
    try:
        item = _DECODER.decode(line)
    except json.JSONDecodeError as error:
        problems.add(path, number, f"malformed JSON: {error.msg} (column {error.colno})")
        return None
    except ValueError as error:  # NaN or Infinity, which JSON does not have
        problems.add(path, number, f"malformed JSON: {error}")
        return None
    return _record_from_item(
        path, number, item, problems, allow_overlaps=allow_overlaps, keep_provenance=keep_provenance
    )


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
    record = _make_record(
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
    if record is not None and "tally" in item:
        record.tally, record.has_tally = item["tally"], True
    return record


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _is_encodable(value: Any) -> bool:
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_csv(
    path: Path | str, lines: Iterable[tuple[int, int, str]], problems: Problems
) -> Iterator[Record]:
    # Lines keep their endings, so line breaks inside quoted fields stay exactly as written.
    reader = csv.reader(line for _, _, line in lines)
    try:
        header = next(reader, None)
    except csv.Error as error:
        problems.add(path, 1, f"malformed CSV header: {error}")
        return
    if header is None:
        return
    header = [name.strip() for name in header]
    missing = [name for name in ("id", "text") if name not in header]
    if missing:
        problems.add(
            path,
            1,
            f"the header has no {' or '.join(repr(name) for name in missing)} column "
            f"(found: {', '.join(map(repr, header))})",
        )
        return
    line = reader.line_num + 1  # where the next row starts
    while True:
        try:
            row = next(reader, None)
        except csv.Error as error:
            problems.add(path, line, f"malformed CSV: {error}")
            return
        if row is None:
            return
        if row and len(row) != len(header):
            problems.add(path, line, f"the row has {len(row)} fields, the header {len(header)}")
        elif row:
            values = dict(zip(header, row, strict=True))
            meta = {key: value for key, value in values.items() if key not in ("id", "text", "tally")}
            record = _make_record(path, line, values["id"], values["text"], meta, None, problems)
            if record:
                record.position = line
                if values.get("tally", "").strip():
                    record.tally, record.has_tally, record.tally_in_csv = values["tally"], True, True
                yield record
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


# --- sources: what an import reads, twice ----------------------------------------


class _FileSource:
    """One file of an import: read to check it, read again to write it."""

    def __init__(self, path: Path, name: str | None, *, keep_provenance: bool) -> None:
        self.path = path
        self.shown: Path | str = path if name is None else name
        self.name = str(self.shown)
        self.keep_provenance = keep_provenance
        self.is_jsonl = path.suffix.lower() == ".jsonl"
        self._name = name

    def read(self, problems: Problems) -> Iterator[Record]:
        return iter_file(self.path, problems, keep_provenance=self.keep_provenance, name=self._name)

    def reread(self, position: int) -> Record | None:
        """Return the record at ``position`` again (None: its format has no spans)."""
        if not self.is_jsonl:
            return None
        with self.path.open("rb") as handle:
            handle.seek(position)
            raw = handle.readline()
        if position == 0 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        return _jsonl_record(
            self.shown, None, raw.decode("utf-8"), Problems(), keep_provenance=self.keep_provenance
        )

    def where(self, line: int | None, position: int) -> str:
        return f"{self.shown}:{line}" if line else str(self.shown)


# Where an API import's records are, in its problems: the index in the request's "articles".
API_RECORD = "articles[{index}]"


class _ItemsSource:
    """The records sent to the API, each checked as a JSONL line is."""

    def __init__(self, items: Sequence[Any], name: str, *, keep_provenance: bool) -> None:
        self.items = items
        self.name = name
        self.keep_provenance = keep_provenance

    def read(self, problems: Problems) -> Iterator[Record]:
        for index, item in enumerate(self.items):
            where = API_RECORD.format(index=index)
            if not _is_strict_json(item):
                problems.add(where, None, "holds NaN or Infinity, which JSON does not have")
                continue
            record = _record_from_item(where, None, item, problems, keep_provenance=self.keep_provenance)
            if record:
                record.position = index
                yield record

    def reread(self, position: int) -> Record | None:
        where = API_RECORD.format(index=position)
        return _record_from_item(
            where, None, self.items[position], Problems(), keep_provenance=self.keep_provenance
        )

    def where(self, line: int | None, position: int) -> str:
        return API_RECORD.format(index=position)


class _Noted:
    """Problems found before reading (a path missing), reported in their place among the files'."""

    name = None

    def __init__(self, found: Problems) -> None:
        self.found = found

    def read(self, problems: Problems) -> Iterator[Record]:
        for problem in self.found.found:
            problems.add(*problem)
        return iter(())


_Source = _FileSource | _ItemsSource | _Noted


def _is_strict_json(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


# --- check: records -> what later records need to know ---------------------------

# Per article id, what the checking pass keeps: the text's SHA-256; where the id was
# first seen (source index, line or 0, position); the stored article's id (0: a new
# article). About 150 bytes an id with the dict's own cost: 1,000,000 ids fit in 200 MB.
_ENTRY = struct.Struct("<32sIIqq")
# The source of a stored article that no record of this import has named yet.
_UNSEEN = 0xFFFFFFFF


@dataclass
class _Known:
    """An article named by more than one record of this import, as far as the import knows it."""

    external_id: str
    article_id: int | None
    # (start, end, label) -> span, for the spans of the imported origin and owner: stored and added.
    spans: dict[tuple[int, int, str], dict[str, Any]] = field(default_factory=dict)
    # The spans this import adds, in the order read.
    added: list[dict[str, Any]] = field(default_factory=list)
    # Gold imports: the newest stored gold revision (0: none), and whether this import changes the gold.
    gold_revision: int = 0
    gold_changed: bool = False
    # The file the changed gold came from, which its revision names.
    gold_source: str = ""


@dataclass
class _Checked:
    """What the checking pass found, for the writing pass."""

    entries: dict[str, bytes] = field(default_factory=dict)
    # Ids named by more than one record (rare): their spans are merged here and written last.
    repeated: dict[str, _Known] = field(default_factory=dict)
    records: int = 0
    # Records whose tally field a non-gold import ignores.
    tallies_ignored: int = 0


def _chunks(items: Iterable[Any], size: int | None = None) -> Iterator[list[Any]]:
    size = size or CHUNK_SIZE
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _span_key(span: Mapping[str, Any]) -> tuple[int, int, str]:
    return (span["start"], span["end"], span["label"])


def _check(
    session: Session,
    sources: Sequence[_Source],
    owner: SpanOwner,
    problems: Problems,
    *,
    gold_source: str | None,
    checking: Callable[[int], None] | None = None,
) -> _Checked:
    """Read every record once, checking it against the database and the records before it."""
    checked = _Checked()
    for index, source in enumerate(sources):
        for chunk in _chunks(source.read(problems)):
            checked.records += len(chunk)
            _check_chunk(session, checked, sources, index, chunk, owner, problems, gold_source=gold_source)
            if checking:
                checking(checked.records)
    return checked


def _check_chunk(
    session: Session,
    checked: _Checked,
    sources: Sequence[_Source],
    index: int,
    chunk: list[Record],
    owner: SpanOwner,
    problems: Problems,
    *,
    gold_source: str | None,
) -> None:
    is_gold = owner.origin == Origin.GOLD.value
    entries = checked.entries
    stored, busy = _stored_articles(session, {record.external_id for record in chunk} - entries.keys())
    for external_id, (article_id, content_hash) in stored.items():
        entries[external_id] = _ENTRY.pack(bytes.fromhex(content_hash), _UNSEEN, 0, 0, article_id)
    # The stored spans that the records naming a stored article for the first time must fit with.
    with_spans = [stored[r.external_id][0] for r in chunk if r.external_id in stored and r.spans]
    stored_spans = _stored_spans(session, with_spans, owner)
    for record in chunk:
        external_id = record.external_id
        if record.has_tally:
            if not is_gold:
                checked.tallies_ignored += 1
            else:
                for message in _tally_errors(record):
                    problems.add(record.path, record.line, message)
        if external_id in busy:
            problems.add(
                record.path,
                record.line,
                f"article {external_id!r} is being written by import {busy[external_id]}, which is still "
                f"running (or was stopped less than {_minutes(import_batches.LEASE)} ago); run this import "
                "again when it has finished",
            )
            continue
        digest = bytes.fromhex(record.content_hash)
        here = (index, record.line or 0, record.position)
        entry = entries.get(external_id)
        if entry is None:
            entries[external_id] = _ENTRY.pack(digest, *here, 0)
            continue
        known_digest, source, line, position, article_id = _ENTRY.unpack(entry)
        if known_digest != digest:
            where = "the database" if article_id else sources[source].where(line, position)
            problems.add(
                record.path,
                record.line,
                f"article {external_id!r} already exists with different text (in {where}); "
                "its spans' offsets would no longer fit",
            )
            continue
        if source == _UNSEEN:
            # The first record of this import to name a stored article.
            entries[external_id] = _ENTRY.pack(digest, *here, article_id)
            kept = {_span_key(span): span for span in stored_spans.get(article_id, [])}
            new = [span for span in record.spans if _span_key(span) not in kept]
            for message in _clashes(kept.values(), new):
                problems.add(record.path, record.line, f"article {external_id!r}: {message}")
            continue
        known = checked.repeated.get(external_id)
        if known is None:
            known = checked.repeated[external_id] = _known(
                session, external_id, article_id, sources[source].reread(position), owner, gold_source
            )
        for message in _merge(known, record, is_gold=is_gold, gold_source=gold_source):
            problems.add(record.path, record.line, f"article {external_id!r}: {message}")


def _tally_errors(record: Record) -> list[str]:
    """Return what is wrong with a gold import's ``tally`` field (GUIDELINES.md, "Article tally")."""
    from annotator.nlp.tally import tally_errors

    if record.tally_in_csv:
        return [
            "tally: a CSV cell cannot give an article's gold tally (it holds text, not JSON); "
            "give the tally field in a JSONL file"
        ]
    return tally_errors(record.tally)


def set_gold_tallies(session: Session, tallies: Mapping[int, Any], *, source: str) -> None:
    """Store gold tallies in the caller's transaction (``services.tallies``, imported when needed)."""
    # annotator.nlp's package imports spaCy, which an import without tallies need not load.
    from annotator.services import tallies as stored

    stored.set_gold_tallies(session, tallies, source=source)


def _minutes(delta: Any) -> str:
    minutes = round(delta.total_seconds() / 60)
    return _plural(minutes, "minute")


def _known(
    session: Session,
    external_id: str,
    article_id: int,
    first: Record | None,
    owner: SpanOwner,
    gold_source: str | None,
) -> _Known:
    """Return what an id named again is so far: its stored spans, and those of its first record."""
    is_gold = owner.origin == Origin.GOLD.value
    known = _Known(external_id, article_id or None)
    if article_id:
        spans = _stored_spans(session, [article_id], owner).get(article_id, [])
        known.spans = {_span_key(span): span for span in spans}
        if is_gold:
            known.gold_revision = _newest_gold_revisions(session, [article_id]).get(article_id, 0)
    if first is not None:
        _merge(known, first, is_gold=is_gold, gold_source=gold_source)
    return known


def _merge(known: _Known, record: Record, *, is_gold: bool, gold_source: str | None) -> list[str]:
    """Add a record's new spans to what is known of its article; return its clashes instead, if any."""
    spans = [span for span in record.spans if _span_key(span) not in known.spans]
    clashes = _clashes(known.spans.values(), spans)
    if clashes:
        return clashes
    known.spans.update((_span_key(span), span) for span in spans)
    known.added.extend(spans)
    if is_gold and record.has_spans and (spans or not known.gold_revision):
        # New gold spans, or a first gold that may mark nothing: a new revision.
        known.gold_changed = True
        known.gold_source = gold_source or str(record.path)
    return []


def _stored_articles(
    session: Session, external_ids: Iterable[str]
) -> tuple[dict[str, tuple[int, str]], dict[str, int]]:
    """Return the stored articles among ``external_ids``: external id -> (id, content hash).

    And, apart, those that another import is still writing (invisible to the
    app, and to this import): external id -> that import's batch.
    """
    stored: dict[str, tuple[int, str]] = {}
    busy: dict[str, int] = {}
    for chunk in _chunks(external_ids):
        rows = session.execute(
            select(
                Article.external_id,
                Article.id,
                Article.content_hash,
                Article.import_batch_id,
                visible_articles().label("visible"),
            ).where(Article.external_id.in_(chunk))
        )
        for external_id, article_id, content_hash, batch_id, visible in rows:
            if visible:
                stored[external_id] = (article_id, content_hash)
            else:
                busy[external_id] = batch_id
    return stored, busy


def _stored_spans(session: Session, article_ids: Iterable[int], owner: SpanOwner) -> dict[int, list[dict]]:
    """Return article id -> its stored spans of ``owner``."""
    spans: dict[int, list[dict]] = {}
    for chunk in _chunks(set(article_ids)):
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


# --- write: short transactions into an invisible batch, then one to commit it --------


def _checkpoint(stage: str, batch_id: int, chunks: int) -> None:
    """Do nothing: where tests stop, kill or look at an import ("started", "chunk", "committing")."""


@dataclass
class _Writer:
    """The writing pass: every record again, written a chunk per transaction."""

    session: Session
    checked: _Checked
    owner: SpanOwner
    summary: ImportSummary
    running: import_batches.RunningBatch
    # Spans and gold for articles stored before this import, applied by the last transaction.
    staged: IO[bytes]
    gold_source: str | None
    progress: Callable[[int, int], None] | None = None
    now: Any = field(default_factory=utcnow)
    # Articles this import creates that more than one record names -> their new ids.
    repeated_ids: dict[str, int] = field(default_factory=dict)
    done: int = 0
    chunks: int = 0
    last_beat: float = field(default_factory=time.monotonic)

    @property
    def is_gold(self) -> bool:
        return self.owner.origin == Origin.GOLD.value

    def write(self, sources: Sequence[_Source]) -> None:
        for index, source in enumerate(sources):
            problems = Problems()
            chunk: list[Record] = []
            spans = 0
            for record in source.read(problems):
                chunk.append(record)
                spans += len(record.spans)
                if len(chunk) >= WRITE_ARTICLES or spans >= WRITE_SPANS:
                    self._write_chunk(index, chunk)
                    chunk, spans = [], 0
            if chunk:
                self._write_chunk(index, chunk)
            if problems:
                first = problems.found[0]
                raise BadImport(str(first.path), first.line, "the file changed while it was being imported")
        self._write_repeated()

    def _write_chunk(self, index: int, chunk: list[Record]) -> None:
        entries, repeated = self.checked.entries, self.checked.repeated
        new: list[Record] = []
        stored: list[tuple[int, Record]] = []
        # Gold tallies: of articles stored before (staged), and of articles this import creates.
        stored_tallies: dict[int, dict[str, Any]] = {}
        new_tallies: dict[str, dict[str, Any]] = {}
        for record in chunk:
            entry = entries.get(record.external_id)
            digest, source, line, position, article_id = _ENTRY.unpack(entry) if entry else (b"",) * 5
            if digest != bytes.fromhex(record.content_hash):
                raise BadImport(str(record.path), record.line, "the file changed while it was being imported")
            if self.is_gold and record.has_tally:
                # A later record's tally replaces an earlier one's.
                if article_id:
                    stored_tallies[article_id] = record.tally
                else:
                    new_tallies[record.external_id] = record.tally
                self.summary.gold_tallies += 1
            first = (source, line, position) == (index, record.line or 0, record.position)
            if first and not article_id:
                self.summary.new += 1
                new.append(record)
            else:
                self.summary.unchanged += 1
                if not article_id or record.external_id in repeated:
                    continue  # spans of ids named again are merged, and written last
                stored.append((article_id, record))
        self._stage(stored)
        tally_source = self.gold_source or str(chunk[0].path)
        if stored_tallies:
            pickle.dump(
                {"gold_tallies": stored_tallies, "source": tally_source},
                self.staged,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        if new or new_tallies:
            self._beat()
            ids = import_rows.insert_articles(self.session, [self._article_row(record) for record in new])
            once = [record for record in new if record.external_id not in repeated]
            self.repeated_ids.update(
                (r.external_id, ids[r.external_id]) for r in new if r.external_id in repeated
            )
            self._insert_spans([(ids[record.external_id], record.spans) for record in once])
            self._insert_revisions(
                [
                    (ids[record.external_id], 1, self.gold_source or str(record.path), record.spans)
                    for record in once
                    if self.is_gold and record.has_spans
                ]
            )
            if new_tallies:
                # The articles are new, so their batch hides these tallies until it commits.
                found = {**self.repeated_ids, **ids}
                set_gold_tallies(
                    self.session,
                    {found[external_id]: value for external_id, value in new_tallies.items()},
                    source=tally_source[:300],
                )
            self.session.commit()
        elif time.monotonic() - self.last_beat > import_batches.LEASE.total_seconds() / 4:
            self._beat()
            self.session.commit()
        self.done += len(chunk)
        self.chunks += 1
        if self.progress:
            self.progress(self.done, self.checked.records)
        _checkpoint("chunk", self.running.id, self.chunks)

    def _stage(self, stored: list[tuple[int, Record]]) -> None:
        """Set aside what records add to articles stored before: the batch cannot hide it."""
        stored_spans = _stored_spans(
            self.session, [article_id for article_id, record in stored if record.spans], self.owner
        )
        staged = []
        for article_id, record in stored:
            kept = {_span_key(span) for span in stored_spans.get(article_id, [])}
            spans = [span for span in record.spans if _span_key(span) not in kept]
            # Whether the gold changes is decided when the staged spans are written.
            gold = (
                (self.gold_source or str(record.path), False) if self.is_gold and record.has_spans else None
            )
            if spans or gold:
                staged.append((article_id, spans, gold))
        self._write_staged(staged)

    def _write_staged(self, staged: list[tuple[int, list[dict[str, Any]], tuple[str, bool] | None]]) -> None:
        if staged:
            pickle.dump(staged, self.staged, protocol=pickle.HIGHEST_PROTOCOL)
            self.summary.spans_added += sum(len(spans) for _, spans, _ in staged)

    def _write_repeated(self) -> None:
        """Write the merged spans of ids named more than once (a new article's now, a stored one's staged)."""
        for chunk in _chunks(self.checked.repeated.values()):
            new = [known for known in chunk if known.article_id is None]
            self._write_staged(
                [
                    (
                        known.article_id,
                        known.added,
                        (known.gold_source, True) if known.gold_changed else None,
                    )
                    for known in chunk
                    if known.article_id is not None and (known.added or known.gold_changed)
                ]
            )
            if new:
                self._beat()
                ids = self.repeated_ids
                self._insert_spans([(ids[known.external_id], known.added) for known in new])
                self._insert_revisions(
                    [
                        (ids[known.external_id], 1, known.gold_source, list(known.spans.values()))
                        for known in new
                        if known.gold_changed
                    ]
                )
                self.session.commit()

    def _beat(self) -> None:
        import_batches.beat(self.session, self.running)
        self.last_beat = time.monotonic()

    def _article_row(self, record: Record) -> dict[str, Any]:
        return {
            "external_id": record.external_id,
            "text": record.text,
            "content_hash": record.content_hash,
            "meta": record.meta,
            "imported_at": self.now,
            "import_batch_id": self.running.id,
        }

    def _insert_spans(self, spans_of: Iterable[tuple[int, list[dict[str, Any]]]]) -> None:
        rows = [
            {
                "article_id": article_id,
                **span,
                "origin": self.owner.origin,
                "owner_id": self.owner.owner_id,
                "created_at": self.now,
                "updated_at": self.now,
            }
            for article_id, spans in spans_of
            for span in spans
        ]
        import_rows.insert_spans(self.session, rows)
        self.summary.spans_added += len(rows)

    def _insert_revisions(self, revisions: list[tuple[int, int, str, Iterable[Mapping[str, Any]]]]) -> None:
        """Insert gold revisions: (article id, revision number, source, the gold's spans)."""
        if not revisions:
            return
        self.session.execute(
            GoldRevision.__table__.insert(),
            [
                {
                    "article_id": article_id,
                    "revision": revision,
                    "action": GoldAction.IMPORT.value,
                    "source": source[:300],
                    "created_at": self.now,
                    "spans": snapshot(spans),
                }
                for article_id, revision, source, spans in revisions
            ],
        )
        self.summary.gold_revisions += len(revisions)

    def commit(self, *, channel: str, origin: str, files: list[str], actor: User | None) -> None:
        """Write the staged spans and gold, and commit the batch: one transaction, timed."""
        started = time.perf_counter()
        self._beat()  # first: on SQLite, the write lock is taken (or waited for) here
        self.staged.seek(0)
        while True:
            try:
                staged = pickle.load(self.staged)
            except EOFError:
                break
            if isinstance(staged, dict):
                set_gold_tallies(self.session, staged["gold_tallies"], source=staged["source"][:300])
            else:
                self._apply_staged(staged)
        batch = import_batches.commit(self.session, self.running, self.summary.counts())
        audit.record(
            self.session,
            actor,
            f"import.{channel}",
            f"import:{batch.id}",
            batch=batch.id,
            origin=origin,
            # A folder may hold thousands of files: the batch lists them all, the event the first few.
            file_names=files[:MAX_PROBLEMS],
            **batch.summary,
        )
        self.session.commit()
        self.summary.commit_seconds = time.perf_counter() - started

    def _apply_staged(self, staged: list[tuple[int, list[dict[str, Any]], tuple[str, bool] | None]]) -> None:
        # spans_added already counts these spans.
        spans_added = self.summary.spans_added
        self._insert_spans([(article_id, spans) for article_id, spans, _ in staged])
        self.summary.spans_added = spans_added
        changed: set[int] = set()
        gold = [(article_id, spans, found) for article_id, spans, found in staged if found]
        if gold:
            newest = _newest_gold_revisions(self.session, [article_id for article_id, _, _ in gold])
            sources = {
                article_id: source
                for article_id, spans, (source, decided) in gold
                if decided or spans or not newest.get(article_id)
            }
            changed = set(sources)
            # The gold as it stands now, staged spans included.
            current = _stored_spans(self.session, changed, self.owner)
            self._insert_revisions(
                [
                    (article_id, newest.get(article_id, 0) + 1, source, current.get(article_id, []))
                    for article_id, source in sources.items()
                ]
            )
            version_counts.count_references(self.session, sorted(changed), only="gold")
        self.summary.updated += sum(1 for article_id, spans, _ in staged if spans or article_id in changed)
        if self.owner.origin == Origin.ANNOTATOR.value:
            touched = [article_id for article_id, spans, _ in staged if spans]
            version_counts.recount_owner(self.session, touched, self.owner.owner_id)


# --- the ways in: files, and the API's records ------------------------------------


def import_paths(
    session: Session,
    paths: list[Path],
    *,
    origin: str = "gold",
    progress: Callable[[int, int], None] | None = None,
    channel: str = "cli",
    actor: User | None = None,
    names: Mapping[Path, str] | None = None,
    checking: Callable[[int], None] | None = None,
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
    a .txt file's id comes from that name. ``checking(records)`` is called as
    the files are checked (the total is not known yet), then
    ``progress(done, total)`` once they are, and after each chunk written.
    """
    names = names or {}
    owner = _parse_origin(session, origin, where="--origin" if channel == "cli" else "origin")
    keep_provenance = owner.origin == Origin.GOLD.value
    sources: list[_Source] = []
    for path in paths:
        # A path's own problems (missing, unknown type) come in their place among the files' problems.
        found = Problems()
        sources.extend(
            _FileSource(each, names.get(each), keep_provenance=keep_provenance)
            for each in files_in(path, found, name=names.get(path))
        )
        if found:
            sources.append(_Noted(found))
    return _store(
        session,
        sources,
        Problems(),
        owner,
        origin=origin,
        channel=channel,
        actor=actor,
        progress=progress,
        checking=checking,
    )


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
    problems = Problems()
    if not items:
        problems.add("articles", None, "the list holds no articles")
    sources = [_ItemsSource(items, source, keep_provenance=owner.origin == Origin.GOLD.value)]
    return _store(
        session, sources, problems, owner, origin=origin, channel="api", actor=actor, gold_source=source
    )


def clean_up(session: Session) -> list[import_batches.Abandoned]:
    """Delete what crashed imports left behind; return their batches."""
    return import_batches.clean_up_crashed(session)


def _store(
    session: Session,
    sources: list[_Source],
    problems: Problems,
    owner: SpanOwner,
    *,
    origin: str,
    channel: str,
    actor: User | None,
    progress: Callable[[int, int], None] | None = None,
    gold_source: str | None = None,
    checking: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Check every record, then write them into a new batch and commit it; or raise, leaving nothing."""
    # First, so that a crashed import's articles neither clash with these nor count as stored.
    import_batches.clean_up_crashed(session)
    checked = _check(session, sources, owner, problems, gold_source=gold_source, checking=checking)
    if problems:
        session.rollback()
        raise problems.error()
    files = [source.name for source in sources if source.name is not None]
    summary = ImportSummary(
        files=len(files), records=checked.records, tallies_ignored=checked.tallies_ignored
    )
    if progress:
        progress(0, checked.records)
    running = import_batches.start(
        session, channel=channel, origin=origin, files=files, user_id=actor.id if actor is not None else None
    )
    summary.batch_id = running.id
    finished = False
    try:
        _checkpoint("started", running.id, 0)
        with tempfile.TemporaryFile(prefix="annotator-import-") as staged:
            writer = _Writer(session, checked, owner, summary, running, staged, gold_source, progress)
            writer.write(sources)
            _checkpoint("committing", running.id, writer.chunks)
            writer.commit(channel=channel, origin=origin, files=files, actor=actor)
        finished = True
    except IntegrityError as error:
        # Checking passed, so another import stored one of these ids meanwhile.
        raise BadImport(
            files[0] if files else "articles",
            None,
            "another import stored some of these articles meanwhile; run this one again",
        ) from error
    except import_batches.BatchLost as error:
        raise BadImport(
            files[0] if files else "articles",
            None,
            f"{error}, which took it for crashed (it wrote nothing for {_minutes(import_batches.LEASE)}); "
            "run it again",
        ) from error
    finally:
        if not finished:
            _give_up(session, running)
        running.release()
    return summary


def _give_up(session: Session, running: import_batches.RunningBatch) -> None:
    """Delete what a failed import wrote; if the database will not let us, the next import will."""
    try:
        session.rollback()
        import_batches.discard(session, running.id)
    except SQLAlchemyError:
        session.rollback()
        logger.warning("import %s failed and could not clean up; the next import will", running.id)


def problem_lines(error: BadImport) -> list[str]:
    """Return a failed import's problems, one ``file:line: problem`` each (as many as the error lists)."""
    return str(error).split("\n")
