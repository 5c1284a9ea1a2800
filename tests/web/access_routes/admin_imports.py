"""Access table of the admin imports pages (see tests/web/test_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("admin_import.show", "GET"): ("/admin/import/", None, ADMINS),
}
