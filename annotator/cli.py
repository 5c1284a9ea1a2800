"""The ``annotator`` command line: thin wrappers over the services."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from annotator import create_app, resource_dir
from annotator.db import get_engine, schema_is_current, session_scope, upgrade
from annotator.errors import BadImport, UserExists
from annotator.models import Role


@click.group(
    help="annotator: annotate conflict news with ACTOR, LOCATION and CASUALTY spans.\n\n"
    "Settings come from the environment: ANNOTATOR_DATABASE_URL, ANNOTATOR_SECRET_KEY "
    "and ANNOTATOR_MODEL (see the README).",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="annotator")
@click.pass_context
def main(ctx: click.Context) -> None:
    # Tests hand in their own app through the ScriptInfo; everyone else gets the factory's.
    if ctx.obj is None:
        ctx.obj = ScriptInfo(create_app=create_app, set_debug_flag=False, load_dotenv_defaults=False)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``progress(done, total)`` callback that draws a bar on standard error."""
    with click.progressbar(length=0, label=label, file=sys.stderr) as bar:

        def advance(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        yield advance


# --- database ----------------------------------------------------------------


@main.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Migrate the database to the newest schema, keeping its data."""
    upgrade(get_engine())
    click.echo("Database is at the newest schema.")


@db.command("check")
@with_appcontext
def db_check() -> None:
    """Exit non-zero when the database schema is behind the code."""
    if not schema_is_current(get_engine()):
        raise click.ClickException("the database schema is behind; run `annotator db upgrade`")
    click.echo("Database schema is current.")


# --- import ------------------------------------------------------------------


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--origin",
    default="gold",
    show_default=True,
    help="Origin of spans in JSONL files: gold, model or annotator:NAME.",
)
@with_appcontext
def import_command(paths: tuple[Path, ...], origin: str) -> None:
    """Import articles from .txt files, folders of them, JSONL or CSV files.

    A .txt file's id is its file name without the extension. JSONL lines need
    `id` and `text` (other fields are kept as metadata; `spans` in the gold
    format are imported with --origin). CSV files need `id` and `text` columns.
    A text may be at most 1,000,000 characters long (spaCy's default
    max_length). Articles already imported are left as they are; nothing is
    written when any record is invalid.
    """
    from annotator.services.importer import import_paths

    with session_scope(get_engine()) as session, progress_bar("Importing") as advance:
        try:
            summary = import_paths(session, list(paths), origin=origin, progress=advance)
        except BadImport as error:
            raise click.ClickException(f"{error}\nNothing was imported.") from error
    click.echo(summary.describe())


# --- users -------------------------------------------------------------------


@main.group()
def user() -> None:
    """Add and list users."""


@user.command("add")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    default=Role.ANNOTATOR.value,
    show_default=True,
    help="annotator: own work only; reviewer: sees everyone's; admin: everything.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is prompted for unless --password-stdin."""
    from annotator.services.users import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with session_scope(get_engine()) as session:
        try:
            created = create_user(session, name, password, role=role)
        except (UserExists, ValueError) as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"Added {created.role} {created.username!r}.")


@user.command("list")
@with_appcontext
def user_list() -> None:
    """List users with their roles."""
    from annotator.services.users import list_users

    with session_scope(get_engine()) as session:
        users = list_users(session)
    if not users:
        click.echo("No users yet. Add one with `annotator user add NAME`.")
    for each in users:
        click.echo(f"{each.username}\t{each.role}")


# --- serving -----------------------------------------------------------------


def _upgrade_if_behind() -> None:
    engine = get_engine()
    if not schema_is_current(engine):
        click.echo("Upgrading the database schema…", err=True)
        upgrade(engine)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, help="Port to listen on.")
@click.option("--debug", is_flag=True, help="Reload on code changes and show tracebacks.")
@with_appcontext
def serve(host: str, port: int, debug: bool) -> None:
    """Run the development server (use gunicorn in production)."""
    _upgrade_if_behind()
    current_app.run(host=host, port=port, debug=debug, use_reloader=debug)


@main.command()
@click.option("--port", default=5000, show_default=True, help="Port to listen on (127.0.0.1 only).")
@click.option("--no-serve", is_flag=True, help="Prepare the demo database and exit.")
@with_appcontext
def demo(port: int, no_serve: bool) -> None:
    """Load the seed articles, pre-annotate them and serve with a demo login."""
    from annotator.services.importer import import_paths
    from annotator.services.users import ensure_user

    upgrade(get_engine())
    with session_scope(get_engine()) as session:
        summary = import_paths(session, [resource_dir("seeds")], origin="gold")
        click.echo(summary.describe())
        click.echo(_preannotate_with_progress(session, model=current_app.config.get("MODEL")).describe())
        ensure_user(session, "demo", "demo", role=Role.ADMIN.value)
    click.echo(
        "Demo mode: log in as user 'demo' with password 'demo' "
        f"at http://127.0.0.1:{port}/ (a demo account; do not use it on a shared server)."
    )
    if not no_serve:
        current_app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False)


# --- pre-annotation and export -------------------------------------------------


@main.command()
@click.option(
    "--model", default=None, help="spaCy model name or path (default: ANNOTATOR_MODEL, then en_core_web_sm)."
)
@click.option(
    "--batch-size",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Articles per batch and commit.",
)
@click.option(
    "--n-process", default=1, show_default=True, type=click.IntRange(1), help="Worker processes for spaCy."
)
@click.option("--force", is_flag=True, help="Redo every article, replacing its model spans.")
@with_appcontext
def preannotate(model: str | None, batch_size: int, n_process: int, force: bool) -> None:
    """Propose ACTOR, LOCATION and CASUALTY spans for articles the model has not seen.

    Each batch is committed with its spans, so a run that is stopped resumes
    where it left off without duplicates. Long texts are run in pieces. An
    article the pipeline fails on is skipped and named, the others go on, and
    the command exits with status 1; the next run retries it.
    """
    model = model or current_app.config.get("MODEL")
    with session_scope(get_engine()) as session:
        summary = _preannotate_with_progress(
            session, model=model, batch_size=batch_size, n_process=n_process, force=force
        )
    if summary.skipped:
        click.echo(summary.describe(), err=True)
        raise SystemExit(1)
    click.echo(summary.describe())


def _preannotate_with_progress(session, **options):
    from annotator.services.preannotate import preannotate as run_preannotate

    with progress_bar("Pre-annotating") as advance:
        return run_preannotate(session, progress=advance, **options)


def _dev_fraction(_ctx, _param, value: str | None) -> float:
    """Parse --split dev=FRACTION."""
    if value is None:
        return 0.0
    name, _, fraction = value.partition("=")
    try:
        dev = float(fraction)
    except ValueError:
        dev = -1.0
    if name.strip() != "dev" or not 0 < dev < 1:
        raise click.BadParameter(f"expected dev=FRACTION with 0 < FRACTION < 1, not {value!r}")
    return dev


@main.command()
@click.option(
    "--origin",
    default="gold",
    show_default=True,
    help="Whose spans: gold (each article's gold), model or annotator:NAME.",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["spacy", "jsonl", "conll", "csv"]),
    default="jsonl",
    show_default=True,
    help="spacy: DocBin; jsonl: gold format with Prodigy fields; conll: CoNLL-2003 IOB; "
    "csv: one row per CASUALTY span.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(writable=True, path_type=Path),
    required=True,
    help="File to write ('-' for standard output); a folder with --split.",
)
@click.option(
    "--split",
    "dev",
    default=None,
    callback=_dev_fraction,
    metavar="dev=FRACTION",
    help="Write train and dev files into the --output folder, FRACTION of the articles in dev.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the shuffle that --split draws from.")
@click.option(
    "--skip-misaligned",
    is_flag=True,
    help="Leave out articles with spans off spaCy's token boundaries, instead of refusing to export.",
)
@with_appcontext
def export(origin: str, format_: str, output: Path, dev: float, seed: int, skip_misaligned: bool) -> None:
    """Export the spans of one origin as a spaCy DocBin, JSONL, CoNLL or casualty CSV.

    Gold is, per article, its gold spans, else the version of the one
    annotator who accepted it; articles without gold are left out and
    counted. Nothing is written when a span does not align with spaCy's
    tokens (unless --skip-misaligned).
    """
    from annotator.errors import NotFound
    from annotator.services.export import ExportRefused
    from annotator.services.export import export as run_export

    if str(output) == "-" and (dev or format_ == "spacy"):
        raise click.BadParameter("write a DocBin or a --split export to a file, not '-'", param_hint="-o")
    with session_scope(get_engine()) as session:
        try:
            if str(output) == "-":
                summary = _export_to_stdout(session, origin, format_, skip_misaligned)
            else:
                summary = run_export(
                    session,
                    origin,
                    output,
                    format_=format_,
                    dev=dev,
                    seed=seed,
                    skip_misaligned=skip_misaligned,
                )
        except (NotFound, ValueError, ExportRefused) as error:
            raise click.ClickException(str(error)) from error
    click.echo(summary.describe(), err=True)


def _export_to_stdout(session, origin: str, format_: str, skip_misaligned: bool):
    # Spooled first, so that a refused export prints nothing at all.
    from annotator.services.export import export_to
    from annotator.services.origins import parse_origin

    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        summary = export_to(
            session,
            parse_origin(session, origin),
            {"all": spool},
            format_=format_,
            skip_misaligned=skip_misaligned,
            origin=origin,
        )
        spool.seek(0)
        while chunk := spool.read(1 << 20):
            click.echo(chunk, nl=False)
    summary.paths = {"all": "standard output"}
    return summary


# --- evaluation ------------------------------------------------------------------


def _labels(_ctx, _param, values: tuple[str, ...]) -> tuple[str, ...]:
    """Parse --labels given once with commas, or several times."""
    from annotator.labels import LABELS

    labels = tuple(label.strip().upper() for value in values for label in value.split(",") if label.strip())
    unknown = [label for label in labels if label not in LABELS]
    if unknown:
        raise click.BadParameter(f"unknown label {', '.join(unknown)} (expected {', '.join(LABELS)})")
    return labels or LABELS


@main.command()
@click.option(
    "--gold",
    default="gold",
    show_default=True,
    metavar="SOURCE",
    help="The gold: a .jsonl file in the gold format, or an origin (gold, model, annotator:NAME).",
)
@click.option(
    "--pred",
    required=True,
    metavar="SOURCE",
    help="What to score: a .jsonl file, an origin, or pipeline:NAME_OR_PATH (a spaCy pipeline run on "
    "the gold texts; pipeline: alone is the pre-annotator).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option(
    "--labels",
    multiple=True,
    callback=_labels,
    metavar="LABEL[,LABEL]",
    help="Score only these labels (default: all).",
)
@with_appcontext
def evaluate(gold: str, pred: str, as_json: bool, labels: tuple[str, ...]) -> None:
    """Score extracted spans against gold: strict, exact, partial and ent_type, and casualty attributes.

    Documents are matched by id, falling back to text. The schemes are those of
    SemEval-2013 task 9.1 as nervaluate computes them, micro-averaged and per label.
    """
    import json

    from annotator.services.evaluate import BadSource, evaluate_sources

    with session_scope(get_engine()) as session:
        try:
            evaluation = evaluate_sources(session, gold, pred, labels=labels)
        except BadSource as error:
            raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(evaluation.to_dict(), indent=2))
    else:
        click.echo(evaluation.table())
