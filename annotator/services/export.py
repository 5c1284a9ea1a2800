"""Export the documents of one origin as a spaCy DocBin, Prodigy-style JSONL, CoNLL, casualty CSV or tally CSV.

A small pipeline: read documents in chunks (``gold.iter_documents``) ->
tokenize and align each (``formats.make_doc``) -> write (``formats.WRITERS``).
An export is all or nothing: when any span cannot be aligned to spaCy's
tokens the export is refused, listing every such span, and no file is left
behind; ``skip_misaligned`` leaves out whole articles holding such spans
instead (never single spans, which would teach a model that the text there
is no entity).

A ``spacy`` export is a folder of DocBin shards (``formats.DocBinShards``),
which ``spacy train`` reads as one corpus; the other formats are one file.
``export_stream`` sends the same bytes over HTTP.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from array import array
from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from itertools import groupby, islice
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session

from annotator.errors import AnnotatorError
from annotator.models import User
from annotator.services import audit
from annotator.services.formats import SUFFIXES, WRITERS, SpanProblem, make_doc
from annotator.services.gold import CHUNK_SIZE, Document, Selection, document_ids, iter_documents
from annotator.services.origins import ALL_ANNOTATORS, SpanOwner, parse_origin

ALL = "all"  # the one part of an export without a split
# Articles an export reads per round (tests make it small to see that no query reads more).
READ_CHUNK = CHUNK_SIZE
MAX_LISTED = 50  # problems listed in a message; the rest are counted


@dataclass
class ExportSummary:
    origin: str
    format: str
    selection: Selection
    # Part ("all", or "train" and "dev") -> documents written to it.
    written: dict[str, int] = field(default_factory=dict)
    spans: int = 0
    paths: dict[str, str] = field(default_factory=dict)
    problems: list[SpanProblem] = field(default_factory=list)
    # Articles left out for their problem spans (with skip_misaligned).
    skipped: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Return a few lines saying what was written where, and what was left out."""
        total = _plural(sum(self.written.values()), "article")
        what = "gold" if self.origin == "gold" else f"{self.origin} spans"
        if set(self.written) == {ALL}:
            lines = [f"Wrote {total} with {what} to {self.paths.get(ALL, 'the output')}."]
        else:
            where = ", ".join(
                f"{_plural(count, 'article')} to {self.paths.get(part, part)}"
                for part, count in self.written.items()
            )
            lines = [f"Wrote {total} with {what}: {where}."]
        lines.append(self.selection.describe())
        if self.skipped:
            lines.append(f"Left out {_plural(len(self.skipped), 'article')} with spans that do not align:")
            lines.extend(_listed(self.problems))
        return "\n".join(lines)


class ExportRefused(AnnotatorError):
    """Some spans do not align with spaCy's tokens; nothing was written."""

    def __init__(self, summary: ExportSummary) -> None:
        self.summary = summary
        articles = len({problem.article for problem in summary.problems})
        lines = [
            f"Nothing was exported: {_plural(len(summary.problems), 'span')} in {_plural(articles, 'article')} "
            "cannot be written as stored. Fix them, or pass --skip-misaligned to leave those articles out:",
            *_listed(summary.problems),
        ]
        super().__init__("\n".join(lines))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _listed(problems: list[SpanProblem]) -> list[str]:
    lines = [f"  {problem}" for problem in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f"  ... and {len(problems) - MAX_LISTED} more")
    return lines


def split_ids(ids: Iterable[int], dev: float, *, seed: int = 0) -> IdSet:
    """Return the ids that go to the dev part: a seeded shuffle, ``round(len * dev)`` of them.

    With two or more ids and 0 < dev < 1, each part gets at least one, so
    that ``spacy train`` always has something to train and evaluate on. The
    ids are held as 8-byte integers while they are shuffled (8 MB for a
    million articles), and the dev part as a bitmap of the ids (125 KB for
    ids up to a million): the same parts as shuffling a list of them.
    """
    ordered = array("q", ids)
    if not ordered or dev <= 0:
        return IdSet([])
    if any(ordered[index] > ordered[index + 1] for index in range(len(ordered) - 1)):
        ordered = array("q", sorted(ordered))
    # random.shuffle swaps in place whatever the sequence: an array shuffles as a list would.
    random.Random(seed).shuffle(ordered)
    size = round(len(ordered) * dev)
    if len(ordered) >= 2:
        size = min(max(size, 1), len(ordered) - 1)
    return IdSet(ordered[:size])


class IdSet:
    """A set of article ids held as a bitmap: one bit per id up to the largest."""

    def __init__(self, ids: Iterable[int]) -> None:
        ids = array("q", ids)
        self.bits = bytearray(max(ids, default=-1) // 8 + 1)
        self.size = 0
        for each in ids:
            if each < 0:
                raise ValueError(f"an article id is never negative, not {each}")
            if not self.bits[each >> 3] & (1 << (each & 7)):
                self.bits[each >> 3] |= 1 << (each & 7)
                self.size += 1

    def __contains__(self, each: object) -> bool:
        return (
            isinstance(each, int)
            and 0 <= each < len(self.bits) * 8
            and bool(self.bits[each >> 3] & (1 << (each & 7)))
        )

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[int]:
        return (each for each in range(len(self.bits) * 8) if each in self)


def read_documents(
    session: Session, owner: SpanOwner, *, selection: Selection | None = None, cues: bool = False
) -> Iterator[Document]:
    """Yield the documents of ``owner`` an export writes, in article order: the one query path of every format.

    ``gold.iter_documents`` reads ``READ_CHUNK`` articles per round, with their
    spans in a fixed number of queries, and keeps none of them: an export
    holds one chunk of rows at a time, whatever the corpus's size. With
    ``cues`` (formats that write a tally) each document carries its stored
    cues, read in one query per chunk.
    """
    documents = iter_documents(session, owner, selection=selection, chunk_size=READ_CHUNK)
    if not cues:
        return documents
    return _with_cues(session, documents)


def _with_cues(session: Session, documents: Iterable[Document]) -> Iterator[Document]:
    from annotator.services.tallies import stored_cues

    # READ_CHUNK articles a round, as they are read: every annotator's version of one article shares its cues.
    articles = ((article_id, list(group)) for article_id, group in groupby(documents, key=_article_id))
    while chunk := list(islice(articles, READ_CHUNK)):
        stored = stored_cues(session, [article_id for article_id, _ in chunk if article_id is not None])
        for article_id, versions in chunk:
            for document in versions:
                document.cues = stored.get(article_id)
                yield document


def _article_id(document: Document) -> int | None:
    return document.article_id


def needs_cues(format_: str) -> bool:
    """Return whether ``format_`` writes a tally, so its documents need their stored cues."""
    return getattr(WRITERS[format_], "needs_cues", False)


def read_ids(session: Session, owner: SpanOwner) -> list[int]:
    """Return the article ids ``read_documents`` yields (for a split), read ``READ_CHUNK`` at a time."""
    return document_ids(session, owner, chunk_size=READ_CHUNK)


def export_to(
    session: Session,
    owner: SpanOwner,
    outputs: Mapping[str, IO],
    *,
    format_: str = "jsonl",
    dev_ids: Container[int] | None = None,
    skip_misaligned: bool = False,
    origin: str | None = None,
    make_writer: Callable[[Any], Any] | None = None,
) -> ExportSummary:
    """Write the documents of ``owner`` to ``outputs`` ("all", or "train" and "dev" with ``dev_ids``).

    An output is a text or binary file, or for ``spacy`` anything with
    ``add(name, data)`` receiving the shards. ``make_writer`` replaces the
    format's writer class (``export_stream`` counts bytes with it).
    Raises ExportRefused, after reading everything, when a span cannot be
    aligned and ``skip_misaligned`` is not set; the outputs then hold part of
    the export and the caller discards them.
    """
    _check_annotators_export(owner, format_, split=dev_ids is not None)
    selection = Selection(owner.origin)
    summary = ExportSummary(origin or owner.origin, format_, selection)
    make_writer = make_writer or WRITERS[format_]
    writers = {part: make_writer(out) for part, out in outputs.items()}
    summary.written = dict.fromkeys(outputs, 0)
    refusing = False
    for document in read_documents(session, owner, selection=selection, cues=needs_cues(format_)):
        doc = make_doc(document, summary.problems)
        if doc is None:
            summary.skipped.append(document.id)
            # From the first problem on, only alignment is checked: the output will be thrown away.
            refusing = not skip_misaligned
            continue
        if refusing:
            continue
        part = part_of(document, dev_ids)
        writers[part].write(document, doc)
        summary.written[part] += 1
        summary.spans += len(doc.ents)
    if summary.problems and not skip_misaligned:
        raise ExportRefused(summary)
    for writer in writers.values():
        writer.finish()
    return summary


def part_of(document: Document, dev_ids: Container[int] | None) -> str:
    """Return the part a document is written to: "all" without a split, else "train" or "dev"."""
    if dev_ids is None:
        return ALL
    return "dev" if document.article_id in dev_ids else "train"


def check_request(format_: str, dev: float) -> None:
    """Raise ValueError for a format or dev fraction no export has."""
    if format_ not in WRITERS:
        raise ValueError(f"format must be one of {', '.join(WRITERS)}, not {format_!r}")
    if not 0 <= dev < 1:
        raise ValueError(f"the dev fraction must be at least 0 and below 1, not {dev}")


def _check_annotators_export(owner: SpanOwner, format_: str, *, split: bool) -> None:
    if owner.origin == ALL_ANNOTATORS and (format_ != "jsonl" or split):
        raise ValueError(
            "--origin annotators writes every accepted version of each article, each under its annotator's "
            "name: it exports JSONL only, without --split"
        )


def export(
    session: Session,
    origin: str,
    output: Path,
    *,
    format_: str = "jsonl",
    dev: float = 0.0,
    seed: int = 0,
    skip_misaligned: bool = False,
) -> ExportSummary:
    """Export the documents of ``origin`` (gold, model, model:SOURCE or annotator:NAME) to ``output``.

    Without ``dev``, ``output`` is the file written (its folder created if
    needed); for ``spacy`` it is the folder of DocBin shards (``000.spacy``,
    ``001.spacy``...). With ``dev`` (a fraction between 0 and 1), ``output``
    is a folder, created if needed, that receives ``train`` and ``dev`` files
    named with the format's suffix (``train.jsonl``, ``dev.jsonl``), or for
    ``spacy`` the shard folders ``train`` and ``dev``. Files and shard folders
    appear only when the whole export succeeded; a shard folder replaces an
    earlier export's, never a folder holding anything but ``.spacy`` files.
    Raises ValueError or NotFound for a bad origin, ExportRefused for spans
    that do not align.
    """
    check_request(format_, dev)
    owner = parse_origin(session, origin, every_annotator=True, model_sources=True)
    _check_annotators_export(owner, format_, split=bool(dev))
    sharded = getattr(WRITERS[format_], "sharded", False)
    suffix = "" if sharded else SUFFIXES[format_]
    if dev:
        output.mkdir(parents=True, exist_ok=True)
        paths = {part: output / f"{part}{suffix}" for part in ("train", "dev")}
        dev_ids = split_ids(read_ids(session, owner), dev, seed=seed)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        paths = {ALL: output}
        dev_ids = None
    if sharded:
        for path in paths.values():
            _check_replaceable(path)
    binary = WRITERS[format_].binary
    with ExitStack() as stack:
        outputs = {
            part: stack.enter_context(_atomic_folder(path) if sharded else _atomic(path, binary=binary))
            for part, path in paths.items()
        }
        summary = export_to(
            session,
            owner,
            outputs,
            format_=format_,
            dev_ids=dev_ids,
            skip_misaligned=skip_misaligned,
            origin=origin,
        )
    # A trailing separator says that a DocBin export is a folder.
    summary.paths = {part: str(path) + (os.sep if sharded else "") for part, path in paths.items()}
    return summary


def record_export(
    session: Session, actor: User | None, action: str, summary: ExportSummary, **details: Any
) -> None:
    """Record an export in the audit log, with what it wrote and left out, and commit.

    ``action`` is ``export.cli``, ``export.download`` or ``export.api``; ``actor`` None is the command line.
    """
    selection = summary.selection
    audit.record(
        session,
        actor,
        action,
        summary.origin,
        format=summary.format,
        written=dict(summary.written),
        spans=summary.spans,
        left_out=selection.left_out,
        waiting_for_adjudication=len(selection.waiting_for_adjudication),
        waiting_for_annotators=len(selection.waiting_for_annotators),
        skipped_misaligned=len(summary.skipped),
        **details,
    )
    session.commit()


@contextmanager
def _atomic(path: Path, *, binary: bool) -> Iterator[IO]:
    """Yield a file that replaces ``path`` only when the block succeeds."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        # newline="" keeps "\n" as written, and the CSV writer's own "\r\n" as well.
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            yield out
        # mkstemp makes the file private; an export gets the permissions of any new file.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class ShardFolder:
    """Write each DocBin shard a DocBinShards writer hands on as a file in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, name: str, data: bytes) -> None:
        (self.path / name).write_bytes(data)


def _check_replaceable(path: Path) -> None:
    """Refuse to replace a folder that holds anything but an earlier export's DocBin shards."""
    if path.is_dir() and any(
        not (each.is_file() and each.suffix == ".spacy") or each.name.startswith(".")
        for each in path.iterdir()
    ):
        raise ValueError(
            f"{path} is a folder holding other files than .spacy shards: choose a new folder for the "
            "DocBin shards (an earlier export's folder is replaced)"
        )


@contextmanager
def _atomic_folder(path: Path) -> Iterator[ShardFolder]:
    """Yield a folder for shards that replaces ``path`` (a file, or an earlier export's folder) on success."""
    temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        yield ShardFolder(temporary)
        mask = _umask()
        for each in temporary.iterdir():
            os.chmod(each, 0o666 & ~mask)
        os.chmod(temporary, 0o777 & ~mask)
        _check_replaceable(path)
        if path.is_dir():
            # A folder cannot be replaced in one rename: move the old one aside first.
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.old."))
            os.replace(path, old / path.name)
            os.replace(temporary, path)
            shutil.rmtree(old)
        else:
            if path.exists() or path.is_symlink():
                path.unlink()
            os.replace(temporary, path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
