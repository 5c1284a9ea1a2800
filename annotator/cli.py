"""The ``annotator`` command line: thin wrappers over the services."""

from __future__ import annotations

import functools
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from annotator import create_app, resource_dir
from annotator.config import ConfigError, settings_help
from annotator.db import current_revision, get_engine, head_revision, session_scope, upgrade
from annotator.errors import BadImport, InvalidEdit, ModelNotFound, NotFound, UserExists
from annotator.models import Role


class _AnnotatorGroup(click.Group):
    """The command group, answering the errors a person can act on with one line, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(f"bad setting {error}") from error
        except ModelNotFound as error:
            raise click.ClickException(str(error)) from error
        except (OperationalError, DBAPIError) as error:
            app = ctx.find_object(ScriptInfo).load_app()
            reason = (str(error.orig or error).strip().splitlines() or [type(error).__name__])[0]
            raise click.ClickException(
                f"the database at {_shown_url(app.config['DATABASE_URL'])} cannot be used: {reason}"
            ) from error


def _shown_url(url: str | None = None) -> str:
    """Return the database URL with any password hidden (the app's, when none is given)."""
    return make_url(url or current_app.config["DATABASE_URL"]).render_as_string(hide_password=True)


@click.group(
    cls=_AnnotatorGroup,
    help="annotator: annotate conflict news with ACTOR, LOCATION and CASUALTY spans.\n\n"
    "Settings come from the environment (see the README):\n\n\b\n" + settings_help(),
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(package_name="annotator")
@click.pass_context
def main(ctx: click.Context) -> None:
    # Tests hand in their own app through the ScriptInfo; everyone else gets the factory's.
    if ctx.obj is None:
        ctx.obj = ScriptInfo(create_app=create_app, set_debug_flag=False, load_dotenv_defaults=False)
        ctx.call_on_close(functools.partial(_close_database, ctx.obj))
        signal.signal(signal.SIGTERM, exit_on_sigterm)


def exit_on_sigterm(signum: int, _frame) -> None:
    """Leave as on Ctrl-C when told to stop (``kill``, a scheduler's timeout, a container stopping).

    Python's default for SIGTERM ends the process on the spot. As SystemExit the
    commands' clean-up runs instead: an export removes its hidden partial file, an
    import deletes what it wrote, pre-annotation rolls back its open batch.
    """
    raise SystemExit(128 + signum)


def _close_database(info: ScriptInfo) -> None:
    """Close the pooled connections of the app a command created (ScriptInfo keeps the app it loaded)."""
    app = getattr(info, "_loaded_app", None)
    if app is not None:
        get_engine(app).dispose()


def ensure_schema(*, upgrade_any: bool = False) -> None:
    """Bring the database to the newest schema, or say in one line what to run.

    The embedded SQLite database is created or upgraded on the spot, as
    ``serve`` does; a shared server (PostgreSQL) is only upgraded by the
    commands that start the app (``upgrade_any``) or by ``annotator db upgrade``.
    """
    engine = get_engine()
    found, needed = current_revision(engine), head_revision()
    if found == needed:
        return
    if upgrade_any or engine.dialect.name == "sqlite":
        click.echo(
            "Creating the database schema…" if found is None else "Upgrading the database schema…", err=True
        )
        upgrade(engine)
        return
    state = (
        "has no annotator schema yet" if found is None else f"is at schema {found}, this code needs {needed}"
    )
    raise click.ClickException(f"the database at {_shown_url()} {state}; run `annotator db upgrade`")


def with_database(command: Callable) -> Callable:
    """Run ``command`` in the app's context on a database with the newest schema."""

    @functools.wraps(command)
    def run(*args, **kwargs):
        ensure_schema()
        return command(*args, **kwargs)

    return with_appcontext(run)


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """Yield a ``progress(done, total)`` callback that draws a bar on standard error.

    The bar starts at the first call, so whatever is shown before it (the
    import's count of records checked) ends first.
    """
    with ExitStack() as stack:
        bar = None

        def advance(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(click.progressbar(length=total, label=label, file=sys.stderr))
            bar.length = total
            bar.update(done - bar.pos)

        yield advance


class RecordCounter:
    """Count records on one line of standard error (a terminal only), ended before the next output."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.shown = False

    def __call__(self, records: int) -> None:
        if sys.stderr.isatty():
            click.echo(f"\r{self.label} {records:,} records", nl=False, err=True)
            self.shown = True

    def end(self) -> None:
        if self.shown:
            click.echo(err=True)
            self.shown = False


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
    if current_revision(get_engine()) != head_revision():
        raise click.ClickException("the database schema is behind; run `annotator db upgrade`")
    click.echo("Database schema is current.")


# --- import ------------------------------------------------------------------


@main.command("import")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--origin",
    default="gold",
    show_default=True,
    help="Origin of spans in JSONL files: gold, model or annotator:NAME.",
)
@click.option(
    "--cleanup",
    is_flag=True,
    help="Only delete what interrupted imports left behind (every import does this first).",
)
@with_database
def import_command(paths: tuple[Path, ...], origin: str, cleanup: bool) -> None:
    """Import articles from .txt files, folders of them, JSONL or CSV files.

    A .txt file's id is its file name without the extension. JSONL lines need
    `id` and `text` (other fields are kept as metadata; `spans` in the gold
    format are imported with --origin). CSV files need `id` and `text` columns.
    A text may be at most 1,000,000 characters long (spaCy's default
    max_length). Articles already imported are left as they are; nothing is
    written when any record is invalid.

    The files are read twice: once to check every record, then to write them
    in short transactions. The app sees none of the new articles until the
    last one; an import that is interrupted leaves nothing visible, and what
    it wrote is deleted by the next import (or by --cleanup).
    """
    from annotator.services.importer import clean_up, import_paths

    if cleanup:
        with session_scope(get_engine()) as session:
            found = clean_up(session)
        for batch in found:
            click.echo(f"Deleted import {batch.id} (interrupted): {batch.articles} articles it had written.")
        if not found:
            click.echo("No interrupted import found.")
        if not paths:
            return
    elif not paths:
        raise click.UsageError("Missing argument 'PATHS...'.")
    checked = RecordCounter("Checking")

    def write_progress(done: int, total: int) -> None:
        checked.end()
        advance(done, total)

    with session_scope(get_engine()) as session, progress_bar("Importing") as advance:
        try:
            summary = import_paths(
                session, list(paths), origin=origin, progress=write_progress, checking=checked
            )
        except BadImport as error:
            checked.end()
            raise click.ClickException(f"{error}\nNothing was imported.") from error
    click.echo(summary.describe())


# --- users -------------------------------------------------------------------


@main.group()
def user() -> None:
    """Add, list and change users: password, role, whether they may log in.

    A new password, a new role and deactivation end the user's sessions at
    once: they must log in again (a deactivated user cannot).
    """


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
@with_database
def user_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user; the password is prompted for unless --password-stdin.

    Passwords must have at least 10 characters, not be a common password and
    not contain the username.
    """
    from annotator.services.users import add_user

    password = _read_password(password_stdin, username=name)
    with session_scope(get_engine()) as session:
        try:
            created = add_user(session, name, password, role=role)
        except (UserExists, ValueError) as error:
            raise click.ClickException(str(error)) from error
    click.echo(f"Added {created.role} {created.username!r}.")


@user.command("list")
@with_database
def user_list() -> None:
    """List users with their roles, and which are deactivated."""
    from annotator.services.users import list_users

    with session_scope(get_engine()) as session:
        users = list_users(session)
    if not users:
        click.echo("No users yet. Add one with `annotator user add NAME`.")
    for each in users:
        click.echo(f"{each.username}\t{each.role}" + ("" if each.is_active else "\tdeactivated"))


def _read_password(from_stdin: bool, *, username: str) -> str:
    """Read a new password and check it against the policy (services/passwords)."""
    from annotator.services.passwords import WeakPassword, check_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise click.ClickException("a password cannot be empty")
    try:
        check_password(password, username=username)
    except WeakPassword as error:
        raise click.ClickException(str(error)) from error
    return password


def _ended(count: int) -> str:
    return f"ended {count} session{'s' if count != 1 else ''}"


def _change_user(change: Callable, *args):
    """Run a user change of services.users in a session; its errors become one line."""
    with session_scope(get_engine()) as session:
        try:
            return change(session, *args)
        except (NotFound, InvalidEdit, ValueError) as error:  # InvalidEdit: the last active admin
            raise click.ClickException(str(error)) from error


@user.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@with_database
def user_password(name: str, password_stdin: bool) -> None:
    """Give a user a new password and end their sessions."""
    from annotator.services.users import get_user_by_name, set_password

    # Said before the password is typed, not after.
    with session_scope(get_engine()) as session:
        if get_user_by_name(session, name) is None:
            raise click.ClickException(f"no user named {name!r}; `annotator user list` shows who there is")
    ended = _change_user(set_password, name, _read_password(password_stdin, username=name))
    click.echo(f"New password for {name!r}; {_ended(ended)}.")


@user.command("role")
@click.argument("name")
@click.argument("role", type=click.Choice([role.value for role in Role]))
@with_database
def user_role(name: str, role: str) -> None:
    """Give a user another role and end their sessions."""
    from annotator.services.users import set_role

    old, ended = _change_user(set_role, name, role)
    if old == role:
        click.echo(f"{name!r} is already {role}; nothing changed.")
    else:
        click.echo(f"{name!r} is now {role} (was {old}); {_ended(ended)}.")


@user.command("deactivate")
@click.argument("name")
@with_database
def user_deactivate(name: str) -> None:
    """Stop a user from logging in and end their sessions; their work is kept."""
    from annotator.services.users import set_active

    click.echo(f"{name!r} is deactivated; {_ended(_change_user(set_active, name, False))}.")


@user.command("activate")
@click.argument("name")
@with_database
def user_activate(name: str) -> None:
    """Let a deactivated user log in again."""
    from annotator.services.users import set_active

    _change_user(set_active, name, True)
    click.echo(f"{name!r} may log in again.")


# --- API tokens ----------------------------------------------------------------


@main.group()
def token() -> None:
    """Create, list and revoke a user's personal tokens for the JSON API.

    A token acts with its user's current role. Only its hash is stored, so
    `token create` shows it once: alone on the last line of standard output,
    so that TOKEN=$(annotator token create NAME | tail -1) keeps it.
    """


def _token_owner(session, username: str):
    from annotator.services.users import get_user_by_name

    user = get_user_by_name(session, username)
    if user is None:
        raise click.ClickException(f"no user named {username!r}; `annotator user list` shows who there is")
    return user


@token.command("create")
@click.argument("username")
@click.option("--name", default="command line", show_default=True, help="What the token is for.")
@with_database
def token_create(username: str, name: str) -> None:
    """Create a token for a user and print it, alone, on the last line of standard output."""
    from annotator.services import api_tokens

    with session_scope(get_engine()) as session:
        user = _token_owner(session, username)
        try:
            created, secret = api_tokens.issue(session, user, name)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        click.echo(
            f"Created token {created.id} {created.name!r} for {username!r}; it is shown once, below.",
            err=True,
        )
    click.echo(secret)


@token.command("list")
@click.argument("username")
@with_database
def token_list(username: str) -> None:
    """List a user's tokens: id, name, first characters, created, last used, revoked."""
    from annotator.services import api_tokens

    with session_scope(get_engine()) as session:
        tokens = api_tokens.list_tokens(session, _token_owner(session, username).id)
    if not tokens:
        click.echo(f"{username!r} has no tokens. Create one with `annotator token create {username}`.")
        return

    def when(moment) -> str:
        return moment.strftime("%Y-%m-%d %H:%M") if moment is not None else "-"

    rows = [("id", "name", "prefix", "created", "last used", "revoked")] + [
        (
            str(each.id),
            each.name,
            each.prefix,
            when(each.created_at),
            when(each.last_used_at),
            when(each.revoked_at),
        )
        for each in tokens
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@token.command("revoke")
@click.argument("username")
@click.argument("token_id", type=click.IntRange(min=1, max=2**63 - 1))
@with_database
def token_revoke(username: str, token_id: int) -> None:
    """Revoke one of a user's tokens by its id (see `annotator token list USERNAME`)."""
    from annotator.services import api_tokens

    with session_scope(get_engine()) as session:
        user = _token_owner(session, username)
        try:
            revoked = api_tokens.revoke(session, user, token_id)
        except NotFound as error:
            raise click.ClickException(
                f"{error}; `annotator token list {username}` shows their tokens"
            ) from error
        click.echo(f"Token {revoked.id} {revoked.name!r} of {username!r} is revoked.")


# --- project settings and assignments ---------------------------------------------


@main.group()
def config() -> None:
    """Show and change the project settings (annotators per article, claims, what annotators see)."""


@config.command("show")
@with_database
def config_show() -> None:
    """List every project setting with its value and what it does."""
    from annotator.services.settings import describe, load_settings

    with session_scope(get_engine()) as session:
        rows = describe(load_settings(session))
    width = max(len(name) for name, _, _ in rows)
    for name, value, help_text in rows:
        click.echo(f"{name:<{width}}  {value:<6}  {help_text}")


@config.command("set")
@click.argument("key")
@click.argument("value")
@with_database
def config_set(key: str, value: str) -> None:
    """Change a project setting, e.g. `annotator config set annotators_per_article 2`."""
    from annotator.services.settings import BadSetting, describe, load_settings, set_setting

    with session_scope(get_engine()) as session:
        try:
            set_setting(session, key, value)
        except BadSetting as error:
            raise click.ClickException(str(error)) from error
        shown = dict((name, text) for name, text, _ in describe(load_settings(session)))
    click.echo(f"{key} = {shown[key]}")


@main.command()
@click.option("--annotator", "annotator", required=True, metavar="NAME", help="Who gets the articles.")
@click.option(
    "--ids",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of article ids, one per line.",
)
@click.option("--count", type=click.IntRange(1), help="The next COUNT articles of their queue.")
@with_database
def assign(annotator: str, ids: Path | None, count: int | None) -> None:
    """Give articles to an annotator, for a calibration round: they come first in their queue.

    Assigned articles count toward the annotators an article needs, and an
    assignment may exceed that number: it says so when it does.
    """
    from annotator.services.assignment import assign as run_assign
    from annotator.services.settings import load_settings

    if (ids is None) == (count is None):
        raise click.UsageError("give either --ids FILE or --count K")
    external_ids = None
    if ids is not None:
        try:
            external_ids = ids.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError as error:
            raise click.ClickException(f"{ids}: not valid UTF-8") from error
    with session_scope(get_engine()) as session:
        settings = load_settings(session)
        try:
            result = run_assign(session, settings, annotator, external_ids=external_ids, count=count)
        except NotFound as error:
            raise click.ClickException(str(error)) from error
    click.echo(result.describe(settings))


# --- serving -----------------------------------------------------------------

DEMO_USER = "demo"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, help="Port to listen on.")
@click.option("--debug", is_flag=True, help="Reload on code changes and show tracebacks.")
@with_appcontext
def serve(host: str, port: int, debug: bool) -> None:
    """Run the development server (use gunicorn in production)."""
    ensure_schema(upgrade_any=True)
    current_app.run(host=host, port=port, debug=debug, use_reloader=debug)


@main.command()
@click.option("--port", default=5000, show_default=True, help="Port to listen on (127.0.0.1 only).")
@click.option("--no-serve", is_flag=True, help="Prepare the demo database and exit.")
@click.option(
    "--add-demo-user-anyway",
    is_flag=True,
    help="Add the demo/demo admin even though the database has other users (never on a shared server).",
)
@with_appcontext
def demo(port: int, no_serve: bool, add_demo_user_anyway: bool) -> None:
    """Load the seed articles, pre-annotate them and serve with a demo login (demo/demo).

    Meant for a database of its own: it refuses one that holds users other
    than its own `demo`, since it would add an admin with a known password.
    """
    from annotator.services.importer import import_paths
    from annotator.services.users import ensure_user, list_users

    ensure_schema(upgrade_any=True)
    with session_scope(get_engine()) as session:
        others = [each.username for each in list_users(session) if each.username != DEMO_USER]
        if others and not add_demo_user_anyway:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise click.ClickException(
                f"this database has other users ({shown}), so it is not a demo database: `demo` would add "
                f"an admin {DEMO_USER!r} with password {DEMO_USER!r}. Point ANNOTATOR_DATABASE_URL at a "
                "database of its own, or pass --add-demo-user-anyway."
            )
        summary = import_paths(session, [resource_dir("seeds")], origin="gold")
        click.echo(summary.describe())
        click.echo(_preannotate_with_progress(session, model=current_app.config.get("MODEL")).describe())
        ensure_user(session, DEMO_USER, DEMO_USER, role=Role.ADMIN.value)
    click.echo(
        "Demo mode: log in as user 'demo' with password 'demo' "
        f"at http://127.0.0.1:{port}/ (a demo account, exempt from the password policy; "
        "do not use it on a shared server)."
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
@click.option(
    "--shard",
    metavar="I/N",
    callback=lambda _ctx, _param, value: _shard(value),
    help="Run only the I-th of N disjoint shards (1/2 and 2/2 are the two halves): "
    "N processes or machines, each given another I, share one database's articles.",
)
@with_database
def preannotate(model: str | None, batch_size: int, n_process: int, force: bool, shard) -> None:
    """Propose ACTOR, LOCATION and CASUALTY spans for articles the model has not seen.

    Each batch is committed with its spans, so a run that is stopped resumes
    where it left off without duplicates. Long texts are run in pieces. An
    article the pipeline fails on is skipped and named, the others go on, and
    the command exits with status 1; the next run retries it.
    """
    model = model or current_app.config.get("MODEL")
    with session_scope(get_engine()) as session:
        summary = _preannotate_with_progress(
            session, model=model, batch_size=batch_size, n_process=n_process, force=force, shard=shard
        )
    if summary.skipped:
        click.echo(summary.describe(), err=True)
        raise SystemExit(1)
    click.echo(summary.describe())


def _shard(value: str | None):
    from annotator.services.preannotate import Shard

    if value is None:
        return None
    try:
        return Shard.parse(value)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--shard") from error


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
    help="Whose spans: gold (each article's gold), model (model:SOURCE: one source's predictions), "
    "annotator:NAME, or annotators (every accepted version, each under its annotator's name; JSONL only).",
)
@click.option(
    "--format",
    "format_",
    type=click.Choice(["spacy", "jsonl", "conll", "csv", "tally"]),
    default="jsonl",
    show_default=True,
    help="spacy: a folder of DocBin shards; jsonl: gold format with Prodigy fields and each article's tally; "
    "conll: CoNLL-2003 IOB; csv: one row per CASUALTY span; tally: CSV, one row per article with its tally.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(writable=True, path_type=Path),
    required=True,
    help="File to write ('-' for standard output); for spacy, the folder of shards; a folder with --split.",
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
@with_database
def export(origin: str, format_: str, output: Path, dev: float, seed: int, skip_misaligned: bool) -> None:
    """Export the spans of one origin as spaCy DocBin shards, JSONL, CoNLL, casualty CSV or tally CSV.

    Gold is, per article, its gold spans, else the version of the one
    annotator who accepted it; articles without gold are left out and
    counted. Nothing is written when a span does not align with spaCy's
    tokens (unless --skip-misaligned).

    A spacy export is a folder of DocBin shards (000.spacy, 001.spacy...; at
    most 10,000 documents each), which `spacy train` reads as one corpus when
    given the folder (--paths.train DIR); with --split, DIR/train and
    DIR/dev. It replaces an earlier export's folder, never a folder holding
    other files.
    """
    from annotator.services.export import ExportRefused, record_export
    from annotator.services.export import export as run_export

    if str(output) == "-" and (dev or format_ == "spacy"):
        raise click.BadParameter("write a DocBin or a --split export to a folder, not '-'", param_hint="-o")
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
        except OSError as error:
            raise click.ClickException(
                f"cannot write {error.filename or output}: {error.strerror or error}"
            ) from error
        record_export(session, None, "export.cli", summary, output=str(output), dev=dev, seed=seed)
    click.echo(summary.describe(), err=True)


def _export_to_stdout(session, origin: str, format_: str, skip_misaligned: bool):
    # Spooled first, so that a refused export prints nothing at all.
    from annotator.services.export import export_to
    from annotator.services.origins import parse_origin

    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        summary = export_to(
            session,
            parse_origin(session, origin, every_annotator=True, model_sources=True),
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
    help="The gold: a .jsonl file in the gold format, or an origin (gold, model, model:SOURCE, annotator:NAME).",
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
@with_database
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


@main.command()
@click.option(
    "--annotator",
    "annotators",
    multiple=True,
    metavar="NAME",
    help="Compare only these annotators (repeat the option; default: everyone who accepted an article "
    "someone else accepted).",
)
@click.option(
    "--labels",
    multiple=True,
    callback=_labels,
    metavar="LABEL[,LABEL]",
    help="Compare only these labels; the others count as O (default: all).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@with_database
def agreement(annotators: tuple[str, ...], labels: tuple[str, ...], as_json: bool) -> None:
    """How far annotators agree, over the articles two or more of them accepted.

    Span F1 for every pair (strict: same start, end and label; lenient:
    overlapping, same label), Cohen's kappa per pair and Krippendorff's alpha
    on spaCy tokens, CASUALTY attributes of matching spans, each annotator
    against the pre-annotator, and the articles agreed on least.
    """
    import json

    from annotator.services.agreement import agreement as compute_agreement

    with session_scope(get_engine()) as session:
        try:
            result = compute_agreement(session, annotators=annotators or None, labels=labels)
        except NotFound as error:
            raise click.ClickException(str(error)) from error
    click.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.table())


if __name__ == "__main__":  # python -m annotator.cli, as the installed `annotator` runs it
    main()
