"""Access table of the admin users pages (see tests/web/test_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}
PASSWORD = "a-long-enough-password-1"

ROUTES = {
    ("admin_users.list_users", "GET"): ("/admin/users/", None, ADMINS),
    ("admin_users.add_user", "POST"): (
        "/admin/users/",
        {"username": "new-{role}", "role": "annotator", "password": PASSWORD},
        ADMINS,
    ),
    ("admin_users.show_user", "GET"): ("/admin/users/other", None, ADMINS),
    ("admin_users.change_role", "POST"): ("/admin/users/other/role", {"role": "reviewer"}, ADMINS),
    ("admin_users.reset_password", "POST"): ("/admin/users/other/password", {"password": ""}, ADMINS),
    ("admin_users.confirm_active", "GET"): ("/admin/users/other/active?active=0", None, ADMINS),
    ("admin_users.set_active", "POST"): ("/admin/users/other/active", {"active": "0"}, ADMINS),
    ("admin_users.create_token", "POST"): ("/admin/users/other/tokens", {"name": "script"}, ADMINS),
    ("admin_users.revoke_token", "POST"): ("/admin/users/other/tokens/1/revoke", {}, ADMINS),
    ("admin_users.claims", "GET"): ("/admin/users/other/claims", None, ADMINS),
    ("admin_users.confirm_reassign", "GET"): (
        "/admin/users/other/claims/{id}/reassign?to=a-annotator",
        None,
        ADMINS,
    ),
    ("admin_users.reassign", "POST"): (
        "/admin/users/other/claims/{id}/reassign",
        {"to": "a-annotator"},
        ADMINS,
    ),
}
