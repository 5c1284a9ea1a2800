"""Access table of the admin audit pages (see tests/web/test_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("admin_audit.show", "GET"): ("/admin/audit/?action=setting.", None, ADMINS),
    ("admin_audit.download", "GET"): ("/admin/audit/audit.csv", None, ADMINS),
}
