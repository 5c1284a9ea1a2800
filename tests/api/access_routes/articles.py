"""API routes of the articles: who may call them (see tests/api/test_api_access.py)."""

from tests.api.test_api_access import EVERYONE, REVIEWERS

ROUTES = {
    ("api.list_articles", "GET"): ("/api/v1/articles", None, EVERYONE),
    ("api.get_article", "GET"): ("/api/v1/articles/{article}", None, EVERYONE),
    ("api.push_predictions", "POST"): (
        "/api/v1/articles/{article}/predictions",
        {"source": "crf", "spans": [{"start": 0, "end": 5, "label": "LOCATION"}]},
        REVIEWERS,
    ),
}
