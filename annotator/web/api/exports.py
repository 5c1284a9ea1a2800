"""API: exports, streamed, for reviewers and admins.

The same export as ``annotator export`` and the admin page: every span is
checked first (422 with the list when some do not align), then the body is
streamed, byte for byte the command line's file, with the counts in
``X-Export-*`` headers (see ``web.export_download``).
"""

from __future__ import annotations

from flask import g

from annotator.db import get_session
from annotator.services.export import ExportRefused, record_export
from annotator.web.api import REVIEWERS, bp, require_role
from annotator.web.api.errors import ErrorBody, api_error, responses, spec
from annotator.web.api.schemas import ExportQuery
from annotator.web.export_download import prepare_in_own_session, streamed_download

# Problems listed in a refusal's details; the rest are counted in the last line.
PROBLEMS_LISTED = 1000
BODY = (
    "The export, streamed: the file `annotator export` writes (application/x-ndjson, text/plain for CoNLL, "
    "text/csv), or a tar (application/x-tar) of the folder it writes for spacy (DocBin shards) or a split. "
    "Headers: X-Export-Written, X-Export-Left-Out, X-Export-Waiting-For-Adjudication, "
    "X-Export-Waiting-For-Annotators, X-Export-Skipped-Misaligned, and X-Export-Summary "
    "(the command line's summary, percent-encoded)."
)


@bp.get("/export")
@spec.validate(
    query=ExportQuery,
    resp=responses(HTTP_200=(None, BODY), HTTP_404=ErrorBody),
    tags=["export"],
)
def export(query: ExportQuery):
    """Download an origin's spans as JSONL, spaCy DocBin shards, CoNLL or CSV.

    Every span is checked before a byte is sent: spans off spaCy's token
    boundaries refuse the export with 422, each listed in `details` (or
    pass `skip_misaligned=true` to leave those articles out). Reviewers and admins.
    """
    require_role(*REVIEWERS)
    try:
        prepared, session = prepare_in_own_session(
            query.origin,
            query.format,
            dev=query.dev,
            seed=query.seed,
            part=query.part,
            skip_misaligned=query.skip_misaligned,
        )
    except ExportRefused as refused:
        return _refusal(refused)
    except ValueError as error:
        return api_error(422, "The request is invalid.", [str(error)])
    record_export(
        get_session(),
        g.user,
        "export.api",
        prepared.summary,
        filename=prepared.filename,
        dev=query.dev,
        seed=query.seed,
        part=query.part,
    )
    return streamed_download(prepared, session)


def _refusal(refused: ExportRefused):
    problems = refused.summary.problems
    details = [str(problem) for problem in problems[:PROBLEMS_LISTED]]
    if len(problems) > PROBLEMS_LISTED:
        details.append(f"... and {len(problems) - PROBLEMS_LISTED} more")
    articles = len({problem.article for problem in problems})
    return api_error(
        422,
        f"Nothing was exported: {len(problems)} span(s) in {articles} article(s) do not align with spaCy's "
        "tokens. Fix them, or pass skip_misaligned=true to leave those articles out.",
        details,
    )
