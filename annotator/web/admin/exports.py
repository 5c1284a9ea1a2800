"""Admin: download an export (an origin's spans in any format, optionally split), streamed.

The page is a plain form; the download runs the same services as
``annotator export``. Every span is checked before a byte is sent: spans
that do not align answer 422 with their list, on the page. The counts the
command line prints travel in headers (``web.export_download``), so the
file is byte for byte the command line's.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, render_template, request

from annotator.db import get_session
from annotator.errors import NotFound
from annotator.models import Origin
from annotator.services.export import ExportRefused, record_export
from annotator.services.formats import WRITERS
from annotator.services.origins import ALL_ANNOTATORS
from annotator.services.users import list_users
from annotator.web.access import admins_only
from annotator.web.export_download import prepare_in_own_session, streamed_download

bp = Blueprint("admin_export", __name__, url_prefix="/admin/export")
bp.before_request(admins_only)

# Problems listed on the page when an export is refused; the rest are counted.
PROBLEMS_SHOWN = 500
FORMAT_HELP = {
    "jsonl": "JSONL: the gold format with Prodigy's task fields; annotator import reads it back",
    "spacy": "spaCy DocBin: a tar of a folder of .spacy shards, which spacy train reads as one corpus",
    "conll": "CoNLL-2003: token and IOB tag lines, for spacy convert and other NER tools",
    "csv": "CSV: one row per CASUALTY span, with its sentence, actors and locations",
    "tally": "Tally CSV: one row per article, how many it reports killed and wounded, per group",
}


@dataclass
class ExportForm:
    origin: str = Origin.GOLD.value
    format: str = "jsonl"
    split: bool = False
    dev: str = "0.2"
    seed: str = "0"
    skip_misaligned: bool = False


def _choices(session) -> list[tuple[str, str]]:
    """Return (origin, what it is) for the origin select."""
    return [
        (Origin.GOLD.value, "gold: each article's gold"),
        (Origin.MODEL.value, "model: the pre-annotator's spans"),
        (
            ALL_ANNOTATORS,
            "annotators: every accepted version, under its annotator's name (JSONL only, no split)",
        ),
        *((f"annotator:{user.username}", f"annotator:{user.username}") for user in list_users(session)),
    ]


def _render(form: ExportForm, status: int = 200, **context):
    return (
        render_template(
            "admin/export/page.html",
            form=form,
            choices=_choices(get_session()),
            formats=[(name, FORMAT_HELP.get(name, name)) for name in WRITERS],
            problems_shown=PROBLEMS_SHOWN,
            **context,
        ),
        status,
    )


@bp.get("/")
def show():
    """Show the export form: origin, format, split."""
    return _render(ExportForm())


def _parse(values) -> tuple[ExportForm, float, int, str | None]:
    """Read the form; return it, the dev fraction, the seed, and what is wrong with it (or None)."""
    form = ExportForm(
        origin=values.get("origin", "").strip() or Origin.GOLD.value,
        format=values.get("format", "jsonl"),
        split=values.get("split") == "dev",
        dev=values.get("dev", "0.2").strip(),
        seed=values.get("seed", "0").strip(),
        skip_misaligned=bool(values.get("skip_misaligned")),
    )
    if not form.split:
        return form, 0.0, 0, None
    try:
        dev = float(form.dev)
    except ValueError:
        dev = -1.0
    if not 0 < dev < 1:
        return (
            form,
            0.0,
            0,
            f"The dev fraction must be a number between 0 and 1 (such as 0.2), not {form.dev!r}.",
        )
    try:
        seed = int(form.seed)
    except ValueError:
        return form, dev, 0, f"The seed must be a whole number, not {form.seed!r}."
    return form, dev, seed, None


@bp.post("/download")
def download():
    """Check every span, then stream the export as a download, its counts in the headers."""
    form, dev, seed, problem = _parse(request.form)
    if problem:
        return _render(form, 422, message=problem)
    try:
        prepared, session = prepare_in_own_session(
            form.origin, form.format, dev=dev, seed=seed, skip_misaligned=form.skip_misaligned
        )
    except ExportRefused as refused:
        return _render(form, 422, refused=refused.summary)
    except (ValueError, NotFound) as error:
        return _render(form, 422, message=f"{str(error)[:1].upper()}{str(error)[1:]}.")
    record_export(
        get_session(),
        g.user,
        "export.download",
        prepared.summary,
        filename=prepared.filename,
        dev=dev,
        seed=seed,
    )
    return streamed_download(prepared, session)
