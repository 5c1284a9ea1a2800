"""Users: create, list and authenticate."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from werkzeug.security import check_password_hash, generate_password_hash

from annotator.errors import UserExists
from annotator.models import Role, User

# scrypt is a memory-hard KDF; werkzeug salts and encodes the parameters in the hash.
PASSWORD_METHOD = "scrypt"


def create_user(session: Session, username: str, password: str, *, role: str = "annotator") -> User:
    """Create a user with a hashed password and commit it."""
    username = username.strip()
    if not username:
        raise ValueError("a username cannot be empty")
    if not password:
        raise ValueError("a password cannot be empty")
    role = Role(role).value
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise UserExists(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=generate_password_hash(password, method=PASSWORD_METHOD),
        role=role,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as error:  # a concurrent insert of the same name
        session.rollback()
        raise UserExists(f"user {username!r} already exists") from error
    session.refresh(user)
    return user


def ensure_user(session: Session, username: str, password: str, *, role: str = "annotator") -> User:
    """Return the user named ``username``, creating it when missing."""
    user = session.exec(select(User).where(User.username == username)).first()
    return user if user is not None else create_user(session, username, password, role=role)


def list_users(session: Session) -> list[User]:
    """Return every user, by name."""
    return list(session.exec(select(User).order_by(User.username)))


def get_user(session: Session, user_id: int) -> User | None:
    """Return the user with this id, or None."""
    return session.get(User, user_id)


def get_user_by_name(session: Session, username: str) -> User | None:
    """Return the user with this name, or None."""
    return session.exec(select(User).where(User.username == username)).first()


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the user when the password matches, else None."""
    user = get_user_by_name(session, username.strip())
    if user is None:
        # Hash anyway so a wrong name takes as long as a wrong password.
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not a real password", method=PASSWORD_METHOD)
