"""Access table of the admin audit pages (see tests/web/test_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("admin_audit.show", "GET"): ("/admin/audit/", None, ADMINS),
}
