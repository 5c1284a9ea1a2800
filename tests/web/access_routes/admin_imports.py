"""Access table of the admin import and deletion pages (see tests/web/test_access.py).

Import 1 does not exist in the test world: admins get 404 there, everyone else 403 first.
"""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("admin_import.show", "GET"): ("/admin/import/", None, ADMINS),
    ("admin_import.upload", "POST"): ("/admin/import/", {"origin": "gold"}, ADMINS),
    ("admin_import.batches", "GET"): ("/admin/import/batches", None, ADMINS),
    ("admin_import.batch", "GET"): ("/admin/import/batches/1", None, ADMINS),
    ("admin_import.confirm_batch_deletion", "GET"): ("/admin/import/batches/1/delete", None, ADMINS),
    ("admin_import.delete_batch", "POST"): ("/admin/import/batches/1/delete", {"expected": 0}, ADMINS),
    ("admin_import.delete_form", "GET"): ("/admin/import/delete", None, ADMINS),
    ("admin_import.confirm_article_deletion", "POST"): (
        "/admin/import/delete/confirm",
        {"ids": "no-such"},
        ADMINS,
    ),
    ("admin_import.delete_articles", "POST"): (
        "/admin/import/delete",
        {"ids": "no-such", "expected": 0},
        ADMINS,
    ),
}
