"""Admin: upload articles, list the imports, and delete articles or a whole import after a confirmation.

An upload runs the command line's importer on the files sent, saved in a
temporary folder: the same checks, all or nothing, and problems named by the
files' own names. Its size limit is the project setting ``upload_limit_mb``;
every other route keeps the app's ANNOTATOR_MAX_REQUEST_MB.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path, PurePosixPath

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from annotator.db import get_session
from annotator.errors import BadImport
from annotator.models import Role
from annotator.services import deletion
from annotator.services.importer import MAX_TEXT_LENGTH, problem_lines
from annotator.services.importer import import_paths as run_import
from annotator.services.settings import load_settings
from annotator.services.users import list_users
from annotator.web.access import admins_only, is_admin
from annotator.web.params import bounded_int

bp = Blueprint("admin_import", __name__, url_prefix="/admin/import")
bp.before_request(admins_only)

MIB = 1024 * 1024
UPLOAD_ENDPOINT = "admin_import.upload"


def upload_limit_bytes() -> int:
    """Return the largest upload accepted, from the project setting."""
    return load_settings(get_session()).upload_limit_mb * MIB


@bp.url_value_preprocessor
def _allow_uploads_up_to_the_setting(endpoint: str | None, values: dict | None) -> None:
    # Not a before_request: the app's login guard runs before any blueprint's and reads the
    # form for its CSRF token, which would refuse the body at the app-wide limit already.
    # URL value preprocessors run before every before_request. The limit is raised for an
    # admin's session only, so that nobody else can make the server read a large body.
    if endpoint != UPLOAD_ENDPOINT or request.method != "POST":
        return
    from annotator.services.sessions import user_for_token
    from annotator.web import SESSION_TOKEN

    token = session.get(SESSION_TOKEN)
    user = user_for_token(get_session(), token) if token else None
    if user is not None and user.role == Role.ADMIN.value:
        request.max_content_length = upload_limit_bytes()


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge):
    """Say what the upload limit is and how to get past it; other forms get the usual 413 page."""
    from annotator.web import is_htmx, render_error

    if request.endpoint != UPLOAD_ENDPOINT or not is_admin():
        return render_error(error)
    limit_mb = load_settings(get_session()).upload_limit_mb
    template = "admin/import/_too_large.html" if is_htmx() else "admin/import/too_large.html"
    return render_template(template, limit_mb=limit_mb), 413, {"Vary": "HX-Request"}


def _origins() -> list[tuple[str, str]]:
    """Return (value, label) of every origin an upload's spans may take."""
    choices = [("gold", "gold"), ("model", "model (the pre-annotator's spans)")]
    choices.extend(
        (f"annotator:{user.username}", f"annotator:{user.username}")
        for user in list_users(get_session())
        if user.is_active
    )
    return choices


def _page(*, status: int = 200, **result):
    from annotator.web import is_htmx

    settings = load_settings(get_session())
    if is_htmx():
        body = render_template("admin/import/_result.html", **result)
    else:
        body = render_template(
            "admin/import/show.html",
            origins=_origins(),
            chosen=request.form.get("origin", "gold"),
            limit_mb=settings.upload_limit_mb,
            max_request_mb=_max_request_mb(),
            max_text_length=MAX_TEXT_LENGTH,
            **result,
        )
    return body, status, {"Vary": "HX-Request"}


def _max_request_mb() -> float:
    from flask import current_app

    return current_app.config["MAX_CONTENT_LENGTH"] / MIB


@bp.get("/")
def show():
    """Show the upload form, with each format's rules."""
    return _page()


@bp.post("/")
def upload():
    """Import the uploaded files with the chosen origin: all of them, or nothing and the list of problems."""
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    origin = request.form.get("origin", "gold").strip() or "gold"
    if not uploads:
        return _page(status=422, errors=["Choose one or more .txt, .jsonl or .csv files to upload."])
    with tempfile.TemporaryDirectory(prefix="annotator-upload-") as folder:
        paths, names = [], {}
        for index, upload in enumerate(uploads):
            name = uploaded_name(upload.filename)
            # A folder per file: two uploads whose safe names agree must not overwrite each other.
            path = Path(folder) / str(index) / saved_name(name)
            path.parent.mkdir()
            upload.save(path)
            paths.append(path)
            names[path] = name
        try:
            summary = run_import(
                get_session(), paths, origin=origin, channel="upload", actor=g.user, names=names
            )
        except BadImport as error:
            return _page(status=422, errors=problem_lines(error))
    return _page(summary=summary, origin=origin)


def uploaded_name(filename: str) -> str:
    """Return the name a file was uploaded under, without any folders a browser may send with it."""
    return PurePosixPath(filename.replace("\\", "/")).name or "upload"


def saved_name(name: str) -> str:
    """Return a safe file name for an upload, keeping its extension, which decides how it is read."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,10}", suffix):
        stem, suffix = name, ""
    # secure_filename drops what is not ASCII: an Arabic file name keeps only its extension.
    safe = secure_filename(stem) or "upload"
    return f"{safe}.{suffix.lower()}" if suffix else safe


# --- the imports ------------------------------------------------------------------


@bp.get("/batches")
def batches():
    """List the imports, newest first, with what each did and how many of its articles are left."""
    before = request.args.get("before", type=bounded_int)
    page = deletion.list_batches(get_session(), before=before)
    return render_template("admin/import/batches.html", page=page)


@bp.get("/batches/<int:batch_id>")
def batch(batch_id: int):
    """Show one import: where it came from, who made it, what it did."""
    row = deletion.get_batch(get_session(), batch_id)
    return render_template("admin/import/batch.html", row=row)


@bp.get("/batches/<int:batch_id>/delete")
def confirm_batch_deletion(batch_id: int):
    """Show what deleting the import's articles would take away."""
    try:
        plan = deletion.plan_batch_deletion(get_session(), batch_id)
    except deletion.DeletionRefused as error:
        return render_template("admin/import/confirm_delete.html", plan=error.plan, message=str(error)), 409
    return render_template("admin/import/confirm_delete.html", plan=plan)


@bp.post("/batches/<int:batch_id>/delete")
def delete_batch(batch_id: int):
    """Delete every article the import created, once confirmed (twice when they hold work or gold)."""
    try:
        plan = deletion.delete_batch(get_session(), batch_id, actor=g.user, **_confirmation())
    except deletion.DeletionRefused as error:
        return render_template("admin/import/confirm_delete.html", plan=error.plan, message=str(error)), 409
    flash(f"Deleted import {batch_id}: {_counted(plan)}.", "info")
    return redirect(url_for("admin_import.batches"), code=303)


@bp.get("/delete")
def delete_form():
    """Show the form that names the articles to delete, one id a line."""
    return render_template("admin/import/delete.html", ids=request.args.get("ids", ""))


@bp.post("/delete/confirm")
def confirm_article_deletion():
    """Show what deleting the named articles would take away (nothing is deleted yet)."""
    ids = deletion.parse_ids(request.form.get("ids", ""))
    if not ids:
        message = "Name at least one article id, one a line."
        return render_template("admin/import/delete.html", ids="", message=message), 422
    plan = deletion.plan_article_deletion(get_session(), ids)
    return render_template("admin/import/confirm_delete.html", plan=plan, ids="\n".join(ids))


@bp.post("/delete")
def delete_articles():
    """Delete the named articles, once confirmed (twice when they hold work or gold)."""
    ids = deletion.parse_ids(request.form.get("ids", ""))
    if not ids:
        abort(400, description="The confirmation names no articles; start again from the delete form.")
    try:
        plan = deletion.delete_articles(get_session(), ids, actor=g.user, **_confirmation())
    except deletion.DeletionRefused as error:
        page = render_template(
            "admin/import/confirm_delete.html", plan=error.plan, ids="\n".join(ids), message=str(error)
        )
        return page, 409
    flash(f"Deleted {_counted(plan)}.", "info")
    return redirect(url_for("admin_import.delete_form"), code=303)


def _confirmation() -> dict:
    expected = request.form.get("expected", type=bounded_int)
    if expected is None:
        abort(400, description="The confirmation says nothing of what it showed; open it again.")
    return {"confirm_work": request.form.get("confirm_work") == "yes", "expected": expected}


def _counted(plan: deletion.DeletionPlan) -> str:
    articles = "1 article" if plan.articles == 1 else f"{plan.articles} articles"
    spans = "1 span" if plan.spans == 1 else f"{plan.spans} spans"
    return f"{articles} and {spans}"
