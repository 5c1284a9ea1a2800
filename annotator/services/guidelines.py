"""The annotation guidelines as HTML, from the Markdown of ``docs/GUIDELINES.md``.

A small renderer for the Markdown that file uses (headings, paragraphs, bullet
lists, pipe tables, fenced code, inline code and bold), so the page needs no
Markdown dependency. Every piece of text is escaped before any tag is added.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from markupsafe import Markup, escape

from annotator import resource_dir
from annotator.errors import NotFound

_INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*")
_HEADING = re.compile(r"(#{1,6})\s+(.*)")
_BULLET = re.compile(r"[-*]\s+(.*)")
_TABLE_RULE = re.compile(r"\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?")


def guidelines_path() -> Path:
    """Return where the guidelines live, in a checkout or an installed wheel."""
    return resource_dir("docs") / "GUIDELINES.md"


def load_guidelines(path: Path | None = None) -> Markup:
    """Return the guidelines rendered as HTML (cached until the file changes)."""
    path = path or guidelines_path()
    if not path.is_file():
        raise NotFound(f"The guidelines are missing: {path} does not exist.")
    return _render_file(path, path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _render_file(path: Path, _mtime_ns: int) -> Markup:
    return render_markdown(for_annotators(path.read_text(encoding="utf-8")))


def for_annotators(markdown: str) -> str:
    """Return the part of the guidelines meant for annotators: everything below the top comment.

    The file opens with a title and an HTML comment addressed to the project's
    developers; a file without such a comment is shown whole.
    """
    opening = markdown.find("<!--")
    closing = markdown.find("-->", opening)
    if opening == -1 or closing == -1 or markdown[:opening].strip().count("\n") > 2:
        return markdown
    return markdown[closing + len("-->") :].lstrip("\n")


def slug(text: str) -> str:
    """Return an id for a heading: lower case words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _inline(text: str) -> str:
    parts = []
    position = 0
    for match in _INLINE.finditer(text):
        parts.append(str(escape(text[position : match.start()])))
        code, bold = match.groups()
        parts.append(
            f"<code>{escape(code)}</code>" if code is not None else f"<strong>{_inline(bold)}</strong>"
        )
        position = match.end()
    parts.append(str(escape(text[position:])))
    return "".join(parts)


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def render_markdown(text: str) -> Markup:
    """Render the Markdown subset of GUIDELINES.md as HTML."""
    html: list[str] = []
    paragraph: list[str] = []
    bullets: list[str] = []
    lines = text.splitlines()

    def flush() -> None:
        if paragraph:
            html.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if bullets:
            html.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in bullets) + "</ul>")
            bullets.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        index += 1
        if stripped.startswith("```"):
            flush()
            code = []
            while index < len(lines) and not lines[index].strip().startswith("```"):
                code.append(lines[index])
                index += 1
            index += 1  # the closing fence
            html.append(f"<pre><code>{escape(chr(10).join(code))}</code></pre>")
        elif not stripped:
            flush()
        elif heading := _HEADING.fullmatch(stripped):
            flush()
            level, title = len(heading.group(1)), heading.group(2)
            html.append(f'<h{level} id="{slug(title)}">{_inline(title)}</h{level}>')
        elif stripped.startswith("|") and index < len(lines) and _TABLE_RULE.fullmatch(lines[index].strip()):
            flush()
            header = "".join(f"<th>{_inline(cell)}</th>" for cell in _cells(stripped))
            rows = []
            index += 1  # the rule under the header
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(
                    "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(lines[index])) + "</tr>"
                )
                index += 1
            html.append(f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
        elif bullet := _BULLET.fullmatch(stripped):
            if paragraph:
                flush()
            bullets.append(bullet.group(1))
        elif bullets and line.startswith((" ", "\t")):
            bullets[-1] += " " + stripped  # a wrapped bullet
        else:
            if bullets:
                flush()
            paragraph.append(stripped)
    flush()
    return Markup("\n".join(html))
