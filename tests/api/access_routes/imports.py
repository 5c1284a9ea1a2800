"""Access table of the API's import route (see tests/api/test_api_access.py)."""

ADMINS = {"annotator": False, "reviewer": False, "admin": True}

ROUTES = {
    ("api.create_articles", "POST"): (
        "/api/v1/articles",
        {"articles": [{"id": "api-access-1", "text": "Gunmen killed 12 civilians in Kabul."}]},
        ADMINS,
    ),
}
