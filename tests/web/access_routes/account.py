"""Access table of everyone's account page (see tests/web/test_access.py)."""

EVERYONE = {"annotator": True, "reviewer": True, "admin": True}
NEW_PASSWORD = "a-new-long-password-7"

ROUTES = {
    ("account.show", "GET"): ("/account/", None, EVERYONE),
    ("account.password", "GET"): ("/account/password", None, EVERYONE),
    ("account.password", "POST"): (
        "/account/password",
        {"current": "secret-pw", "new": NEW_PASSWORD, "repeat": NEW_PASSWORD},
        EVERYONE,
    ),
    ("account.create_token", "POST"): ("/account/tokens", {"name": "script"}, EVERYONE),
    # No such token: 404 for everyone, never another user's token.
    ("account.revoke_token", "POST"): ("/account/tokens/999/revoke", {}, EVERYONE),
}
