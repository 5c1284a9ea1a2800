"""Access table of the admin users pages (see tests/web/test_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("admin_users.list_users", "GET"): ("/admin/users/", None, ADMINS),
}
