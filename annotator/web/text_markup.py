"""The article text's markup: its chunks (services/chunks.py) with a ``<mark>`` per span, built in Python.

Every page and every span edit sends chunks of the text, and a chunk holds
dozens of marks: as a Jinja template included once per chunk it was about a
quarter of an edit's CPU time. This builds the same markup directly, escaping
every value as Jinja's autoescape would. The text content of the chunks is
exactly the article text: no whitespace between tags, badges only in
attributes, and carriage returns as character references (see ``exact_text``).
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup, escape

from annotator.services.chunks import Chunk


def exact_text(text: str) -> Markup:
    """Escape text for HTML so that the browser's text content is exactly ``text``.

    The HTML parser turns a raw carriage return into a line feed; as a character
    reference it survives, so character offsets into the text stay right.
    """
    return Markup(str(escape(text)).replace("\r", "&#13;"))


def _mark(span, text: str, selected: int | None) -> str:
    label = escape(span.label)
    parts = [
        f'<mark data-span-id="{escape(span.id)}" data-label="{label}" '
        f'data-start="{escape(span.start)}" data-end="{escape(span.end)}"'
    ]
    badge = span.badge
    if badge:
        badge = escape(badge)
        parts.append(f' data-badge="{badge}" title="{label}: {badge}"')
    else:
        parts.append(f' title="{label}"')
    if span.missing:
        parts.append(f' data-incomplete="{escape(" ".join(span.missing))}"')
    if span.id == selected:
        parts.append(' class="selected" aria-current="true"')
    parts.append(f">{exact_text(text)}</mark>")
    return "".join(parts)


def chunk_markup(chunk: Chunk, selected: int | None, *, oob: bool = False) -> str:
    """Return one chunk's ``<span>``: plain runs and ``<mark>``s, nothing else, no whitespace between tags."""
    swap = ' hx-swap-oob="true"' if oob else ""
    parts = [f'<span class="chunk" id="chunk-{escape(chunk.index)}"{swap}>']
    for segment in chunk.segments:
        if segment.span:
            parts.append(_mark(segment.span, segment.text, selected))
        else:
            parts.append(exact_text(segment.text))
    parts.append("</span>")
    return "".join(parts)


def chunks_markup(chunks: Iterable[Chunk], selected_span=None, *, oob: bool = False) -> Markup:
    """Return the chunks' markup, the ``selected_span`` (a span or None) marked as selected.

    ``oob`` makes each chunk an out-of-band swap, for an edit's response.
    """
    selected = selected_span.id if selected_span else None
    return Markup("".join(chunk_markup(chunk, selected, oob=oob) for chunk in chunks))
