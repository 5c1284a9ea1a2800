"""Access table of the admin exports pages (see tests/web/test_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("admin_export.show", "GET"): ("/admin/export/", None, ADMINS),
    ("admin_export.download", "POST"): (
        "/admin/export/download",
        {"origin": "gold", "format": "jsonl", "split": "none"},
        ADMINS,
    ),
}
