"""Access table of the admin settings pages (see tests/web/test_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("admin_settings.show", "GET"): ("/admin/settings/", None, ADMINS),
    ("admin_settings.change", "POST"): ("/admin/settings/merge_strategy", {"value": "majority"}, ADMINS),
}
