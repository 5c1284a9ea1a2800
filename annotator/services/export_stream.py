"""Send an export as a stream of bytes: every span checked first, then the file, chunk by chunk.

``prepare`` reads every document once, as ``annotator export`` does, to find
the spans that do not align and to count what will be written, left out and
waiting for adjudication: a refused export is refused before a byte is sent,
and the counts can travel ahead of the body (the web layer puts them in
response headers). ``PreparedExport.stream`` then reads the documents again
and yields the bytes: exactly those ``annotator export -o FILE`` writes, or,
for a DocBin export or a split, a tar of the folder it writes. Memory stays
flat: neither pass keeps documents, text is sent in chunks of
``CHUNK_BYTES``, and a DocBin is held one shard at a time.

Both passes read one snapshot of the database when ``prepare`` is given a
session that has not begun a transaction, so the second pass writes what the
first counted while others go on editing. Should the two passes still
differ, the stream stops with ExportChanged rather than send a body that
does not match its counts (or a broken tar).
"""

from __future__ import annotations

import re
import tarfile
import time
from collections.abc import Container, Iterator
from dataclasses import dataclass, field

from sqlmodel import Session

from annotator.errors import AnnotatorError
from annotator.services.export import (
    ALL,
    ExportSummary,
    check_request,
    export_to,
    needs_cues,
    part_of,
    read_documents,
    read_ids,
    split_ids,
)
from annotator.services.formats import SUFFIXES, WRITERS, ShardList, make_doc
from annotator.services.origins import SpanOwner, parse_origin

PARTS = ("train", "dev")
# Text is handed on in pieces of about this size.
CHUNK_BYTES = 1 << 16
TAR_BLOCK = tarfile.BLOCKSIZE
TAR_RECORD = tarfile.RECORDSIZE
MEDIA_TYPES = {
    "jsonl": "application/x-ndjson",
    "conll": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "tally": "text/csv; charset=utf-8",
}
TAR_MEDIA_TYPE = "application/x-tar"


class ExportChanged(AnnotatorError):
    """The second pass over the documents did not find what the first counted; the stream stops."""


@dataclass
class PreparedExport:
    """An export checked and counted, ready to be streamed."""

    summary: ExportSummary
    # What to save the body as: a file of the format, or a tar.
    filename: str
    media_type: str
    session: Session
    owner: SpanOwner
    dev_ids: Container[int] | None
    # The parts the body holds: "all", or "train" and/or "dev".
    parts: tuple[str, ...]
    skip_misaligned: bool
    # The folder the tar's members sit in (for a tar body).
    folder: str | None = None
    # Bytes of each part's file, for the tar headers of a split text export.
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def is_tar(self) -> bool:
        return self.folder is not None

    @property
    def written(self) -> int:
        """Documents in the body."""
        return sum(self.summary.written[part] for part in self.parts)

    def stream(self) -> Iterator[bytes]:
        """Yield the body: the file's bytes, or the tar of its folder."""
        if not self.is_tar:
            yield from self._text(self.parts[0])
            return
        total = 0
        for data in self._tar():
            total += len(data)
            yield data
        # Two zero blocks end the archive; tarfile pads it to a whole record as well.
        end = 2 * TAR_BLOCK
        yield b"\0" * (end + (-(total + end) % TAR_RECORD))

    def _tar(self) -> Iterator[bytes]:
        mtime = int(time.time())
        yield _tar_header(f"{self.folder}/", 0, mtime, directory=True)
        sharded = getattr(WRITERS[self.summary.format], "sharded", False)
        for part in self.parts:
            if sharded:
                prefix = self.folder if part == ALL else f"{self.folder}/{part}"
                if part != ALL:
                    yield _tar_header(f"{prefix}/", 0, mtime, directory=True)
                for name, data in self._shards(part):
                    yield _tar_header(f"{prefix}/{name}", len(data), mtime)
                    yield data
                    yield _tar_padding(len(data))
            else:
                size = self.sizes[part]
                yield _tar_header(f"{self.folder}/{part}{SUFFIXES[self.summary.format]}", size, mtime)
                sent = 0
                for chunk in self._text(part):
                    sent += len(chunk)
                    yield chunk
                if sent != size:
                    raise ExportChanged(f"{part}: {sent} bytes written where {size} were counted")
                yield _tar_padding(size)

    def _documents(self, part: str):
        """Yield the (document, doc) pairs of ``part``, as the first pass found them."""
        written = 0
        problems: list = []
        for document in read_documents(self.session, self.owner, cues=needs_cues(self.summary.format)):
            if part_of(document, self.dev_ids) != part:
                continue
            doc = make_doc(document, problems)
            if doc is None:
                if not self.skip_misaligned:
                    raise ExportChanged(f"{document.id}: a span no longer aligns")
                continue
            written += 1
            yield document, doc
        if written != self.summary.written[part]:
            raise ExportChanged(
                f"{part}: {written} documents where {self.summary.written[part]} were counted"
            )

    def _text(self, part: str) -> Iterator[bytes]:
        buffer = _TextBuffer()
        writer = WRITERS[self.summary.format](buffer)
        for document, doc in self._documents(part):
            writer.write(document, doc)
            if buffer.size >= CHUNK_BYTES:
                yield buffer.take()
        writer.finish()
        if buffer.size:
            yield buffer.take()

    def _shards(self, part: str) -> Iterator[tuple[str, bytes]]:
        shards = ShardList()
        writer = WRITERS[self.summary.format](shards)
        for document, doc in self._documents(part):
            writer.write(document, doc)
            yield from shards.take()
        writer.finish()
        yield from shards.take()


def prepare(
    session: Session,
    origin: str,
    format_: str,
    *,
    dev: float = 0.0,
    seed: int = 0,
    part: str | None = None,
    skip_misaligned: bool = False,
) -> PreparedExport:
    """Check and count the export of ``origin`` in ``format_``, reading every document once.

    Without ``dev`` the body is the file ``annotator export`` writes; with
    ``dev`` (a fraction between 0 and 1, split with ``seed``) it is a tar of
    the folder ``--split`` writes, or with ``part`` ("train" or "dev") that
    part alone. A ``spacy`` body is always a tar: a folder of DocBin shards.
    The session must stay open until the stream ends; given one that has not
    begun a transaction, both passes read one snapshot of the database.
    Raises ValueError or NotFound for a bad request, ExportRefused for spans
    that do not align (unless ``skip_misaligned``).
    """
    check_request(format_, dev)
    if part is not None and (not dev or part not in PARTS):
        raise ValueError(f"part must be train or dev, and needs a split, not {part!r}")
    _read_one_snapshot(session)
    owner = parse_origin(session, origin, every_annotator=True, model_sources=True)
    dev_ids = split_ids(read_ids(session, owner), dev, seed=seed) if dev else None
    sharded = getattr(WRITERS[format_], "sharded", False)
    parts = (ALL,) if not dev else (part,) if part else PARTS
    is_tar = sharded or (bool(dev) and part is None)
    # Only the files of a tar need their size ahead of their bytes: count them while checking.
    counters = {each: _ByteCounter() for each in (PARTS if dev else (ALL,))}
    summary = export_to(
        session,
        owner,
        counters,
        format_=format_,
        dev_ids=dev_ids,
        skip_misaligned=skip_misaligned,
        origin=origin,
        make_writer=None if is_tar and not sharded else _NullWriter,
    )
    stem = _safe(origin)
    folder = f"{stem}-{format_}" if is_tar else None
    if sharded:
        filename = f"{folder}-{part}.tar" if part else f"{folder}.tar"
        paths = {each: f"{folder}/" if each == ALL else f"{folder}/{each}/" for each in parts}
    elif is_tar:
        filename = f"{folder}.tar"
        paths = {each: f"{folder}/{each}{SUFFIXES[format_]}" for each in parts}
    else:
        filename = f"{stem}-{part}{SUFFIXES[format_]}" if part else f"{stem}{SUFFIXES[format_]}"
        paths = {parts[0]: filename}
    # With one part of a split, the describe() of the summary still counts the other.
    summary.paths = {each: paths.get(each, f"{each} (not in this download)") for each in summary.written}
    return PreparedExport(
        summary=summary,
        filename=filename,
        media_type=TAR_MEDIA_TYPE if is_tar else MEDIA_TYPES[format_],
        session=session,
        owner=owner,
        dev_ids=dev_ids,
        parts=parts,
        skip_misaligned=skip_misaligned,
        folder=folder,
        sizes={each: counter.size for each, counter in counters.items()},
    )


def _read_one_snapshot(session: Session) -> None:
    """Make the session's reads, until its transaction ends, see the database as it is now.

    PostgreSQL gives a REPEATABLE READ transaction one snapshot. SQLite's
    driver sends no BEGIN before a SELECT, so each would read afresh: an
    explicit BEGIN holds one read transaction (in WAL mode, writers go on).
    A session already in a transaction is left as it is.
    """
    if session.in_transaction():
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    elif dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN")


def _safe(origin: str) -> str:
    """Return ``origin`` as part of a file name: ``annotator:ann`` -> ``annotator-ann``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", origin).strip("-.") or "export"


class _ByteCounter:
    """A text sink that only counts the UTF-8 bytes written to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> None:
        self.size += len(text.encode("utf-8"))


class _NullWriter:
    """A writer that writes nothing: the first pass only checks and counts."""

    def __init__(self, out) -> None:
        pass

    def write(self, document, doc) -> None:
        pass

    def finish(self) -> None:
        pass


class _TextBuffer:
    """A text sink whose contents are taken as UTF-8 bytes, a chunk at a time (newlines as written)."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text)

    def take(self) -> bytes:
        data = "".join(self.pieces).encode("utf-8")
        self.pieces, self.size = [], 0
        return data


def _tar_header(name: str, size: int, mtime: int, *, directory: bool = False) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = mtime
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.mode = 0o644
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _tar_padding(size: int) -> bytes:
    return b"\0" * (-size % TAR_BLOCK)
