"""Send a prepared export to a browser or an API client: its counts in headers, its bytes as they are made.

The body is exactly what ``annotator export`` writes (or a tar of its
folder), so what the command line prints on standard error travels in
headers instead:

- ``X-Export-Written``: documents in the body (with a split, also
  ``X-Export-Written-Train`` and ``X-Export-Written-Dev``);
- ``X-Export-Left-Out``: articles without a version of the origin;
- ``X-Export-Waiting-For-Adjudication``, ``X-Export-Waiting-For-Annotators``:
  articles without gold yet, and why;
- ``X-Export-Skipped-Misaligned``: articles left out for spans that do not align;
- ``X-Export-Summary``: the command line's summary, percent-encoded UTF-8
  (``urllib.parse.unquote`` gives back its lines), cut at a line to stay
  under ``SUMMARY_LIMIT`` bytes as proxies limit headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from flask import Response, stream_with_context
from sqlmodel import Session

from annotator.db import get_engine
from annotator.services.export_stream import PreparedExport, prepare

SUMMARY_LIMIT = 2000
# Left readable in X-Export-Summary: everything else (line breaks, quotes' neighbours, non-ASCII) is encoded.
SUMMARY_SAFE = " ,.:;()[]'!?=/_-+*#@"


def header_safe(text: str, *, limit: int = SUMMARY_LIMIT) -> str:
    """Return ``text`` percent-encoded for a header, whole lines only, at most ``limit`` characters."""
    encoded = ""
    for line in text.splitlines():
        piece = quote(("\n" if encoded else "") + line, safe=SUMMARY_SAFE)
        if len(encoded) + len(piece) > limit:
            return encoded + quote("\n...", safe=SUMMARY_SAFE)
        encoded += piece
    return encoded


def export_headers(prepared: PreparedExport) -> dict[str, str]:
    """Return the download's headers: where to save it, and the counts the command line prints."""
    summary = prepared.summary
    selection = summary.selection
    headers = {
        "Content-Disposition": f'attachment; filename="{prepared.filename}"',
        "X-Export-Written": str(prepared.written),
        "X-Export-Left-Out": str(selection.left_out),
        "X-Export-Waiting-For-Adjudication": str(len(selection.waiting_for_adjudication)),
        "X-Export-Waiting-For-Annotators": str(len(selection.waiting_for_annotators)),
        "X-Export-Skipped-Misaligned": str(len(summary.skipped)),
        "X-Export-Summary": header_safe(summary.describe()),
    }
    for part in prepared.parts:
        if part != "all":
            headers[f"X-Export-Written-{part.title()}"] = str(summary.written[part])
    return headers


def prepare_in_own_session(origin: str, format_: str, **options) -> tuple[PreparedExport, Session]:
    """Check and count the export in a session of its own, which then lives until the stream ends.

    The stream must read the snapshot its check read, after the request's own
    session is gone. On any error (a refusal included) the session is closed
    and the error raised.
    """
    session = Session(get_engine(), expire_on_commit=False)
    try:
        return prepare(session, origin, format_, **options), session
    except BaseException:
        session.close()
        raise


def streamed_download(prepared: PreparedExport, session: Session) -> Response:
    """Answer with the export streamed; ``session`` (the export's own) is closed when the response is.

    The server closes a response when its body was sent, when the client went
    away, and when the body was never read (a HEAD request): a ``finally`` in
    the generator would miss the last case, as a generator never started runs
    none of its code. The generator closes it too, as soon as the last byte is
    made: a caller that reads the body and never closes the response (a test
    client, a careless WSGI middleware) must not leave the snapshot's
    transaction open, holding locks that block the next TRUNCATE or ALTER.
    """
    response = Response(
        stream_with_context(_closing_when_done(prepared.stream(), session)),
        content_type=prepared.media_type,
        headers=export_headers(prepared),
    )
    response.call_on_close(session.close)
    return response


def _closing_when_done(chunks: Iterator[bytes], session: Session) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        session.close()
