"""Markup built in Python on the busiest paths: the article text's chunks (services/chunks.py), edit forms' fields.

Every page and every span edit sends chunks of the text, and a chunk holds
dozens of marks: as a Jinja template included once per chunk it was about a
quarter of an edit's CPU time. This builds the same markup directly, escaping
every value as Jinja's autoescape would. The text content of the chunks is
exactly the article text: no whitespace between tags, badges only in
attributes, and carriage returns as character references (see ``exact_text``).
"""

from __future__ import annotations

from collections.abc import Iterable

from markupsafe import Markup

from annotator.services.chunks import Chunk


def _escape(value: str) -> str:
    """Return ``value`` escaped for HTML text and attribute values, character for character as markupsafe does.

    The same five replacements as ``markupsafe.escape``, without making a Markup of
    every attribute value.
    """
    return (
        value.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


def exact_text(text: str) -> Markup:
    """Escape text for HTML so that the browser's text content is exactly ``text``.

    The HTML parser turns a raw carriage return into a line feed; as a character
    reference it survives, so character offsets into the text stay right.
    """
    return Markup(_exact(text))


def _exact(text: str) -> str:
    return _escape(text).replace("\r", "&#13;")


def _mark(span, text: str, selected: int | None) -> str:
    # Ids and offsets are ints: nothing in them to escape.
    label = _escape(span.label)
    parts = [
        f'<mark data-span-id="{int(span.id)}" data-label="{label}" '
        f'data-start="{int(span.start)}" data-end="{int(span.end)}"'
    ]
    badge = span.badge
    if badge:
        badge = _escape(badge)
        parts.append(f' data-badge="{badge}" title="{label}: {badge}"')
    else:
        parts.append(f' title="{label}"')
    if span.missing:
        parts.append(f' data-incomplete="{_escape(" ".join(span.missing))}"')
    if span.id == selected:
        parts.append(' class="selected" aria-current="true"')
    parts.append(f">{_exact(text)}</mark>")
    return "".join(parts)


def chunk_markup(chunk: Chunk, selected: int | None, *, oob: bool = False) -> str:
    """Return one chunk's ``<span>``: plain runs and ``<mark>``s, nothing else, no whitespace between tags."""
    swap = ' hx-swap-oob="true"' if oob else ""
    parts = [f'<span class="chunk" id="chunk-{int(chunk.index)}"{swap}>']
    for segment in chunk.segments:
        if segment.span:
            parts.append(_mark(segment.span, segment.text, selected))
        else:
            parts.append(_exact(segment.text))
    parts.append("</span>")
    return "".join(parts)


def chunks_markup(chunks: Iterable[Chunk], selected_span=None, *, oob: bool = False) -> Markup:
    """Return the chunks' markup, the ``selected_span`` (a span or None) marked as selected.

    ``oob`` makes each chunk an out-of-band swap, for an edit's response.
    """
    selected = selected_span.id if selected_span else None
    return Markup("".join(chunk_markup(chunk, selected, oob=oob) for chunk in chunks))


def edit_fields(ws, span=None) -> Markup:
    """Return the hidden fields of every edit form: the CSRF token, the version the edit is made on, the span.

    On every edit's answer several times over (the span panel's forms, undo), so
    built here rather than by a Jinja macro imported with its context each time.
    """
    from annotator.web import csrf_token

    fields = (
        f'<input type="hidden" name="csrf_token" value="{_escape(csrf_token())}">\n'
        f'  <input type="hidden" name="version" value="{_escape(str(ws.state.version))}">'
    )
    if span:
        fields += f'<input type="hidden" name="span" value="{_escape(str(span.id))}">'
    return Markup(fields)
