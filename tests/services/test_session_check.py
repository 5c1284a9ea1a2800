"""The session check every request starts with: the user it returns behaves as one loaded by a query."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from sqlmodel import select

from annotator.models import User
from annotator.services.sessions import check_session, start_session
from annotator.services.settings import ProjectSettings, set_setting
from tests.conftest import REPO
from tests.factories import make_user

CHECK_IN_A_FRESH_PROCESS = """
import sys
from sqlmodel import Session
from annotator.db import make_engine
from annotator.services.sessions import check_session

engine = make_engine(sys.argv[1])
with Session(engine) as session:
    user, settings = check_session(session, sys.argv[2])
    print(user.username, user.role, user.must_change_password, settings.annotators_per_article)
engine.dispose()
"""


def test_the_check_returns_the_user_in_the_session_with_nothing_to_flush(session):
    user = make_user(session, username="ann", role="reviewer")
    set_setting(session, "annotators_per_article", "2")
    token = start_session(session, user.id, lifetime=timedelta(hours=1))
    session.expunge_all()

    found, settings = check_session(session, token)

    assert (found.id, found.username, found.role, found.is_active) == (user.id, "ann", "reviewer", True)
    assert settings == ProjectSettings(annotators_per_article=2)
    assert found in session and not session.dirty and not session.new
    # The same object a query in this session finds, as for a loaded row.
    assert session.exec(select(User).where(User.id == user.id)).one() is found
    found.must_change_password = True
    session.commit()
    session.expunge_all()
    assert session.get(User, user.id).must_change_password is True


def test_the_check_refuses_an_unknown_or_ended_session(session):
    user = make_user(session, username="ann")
    token = start_session(session, user.id, lifetime=timedelta(hours=1))
    assert check_session(session, "no such token") is None
    user.is_active = False
    session.commit()
    assert check_session(session, token) is None


def test_the_check_works_as_a_processs_first_use_of_the_orm(session, database_url):
    # A web worker's first request may check a session before anything has set the mappers up.
    user = make_user(session, username="ann")
    token = start_session(session, user.id, lifetime=timedelta(hours=1))

    done = subprocess.run(
        [sys.executable, "-c", CHECK_IN_A_FRESH_PROCESS, database_url, token],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ann", "annotator", "False", "1"]
