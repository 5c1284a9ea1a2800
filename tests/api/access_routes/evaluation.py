"""API routes of evaluation and agreement: who may call them (see tests/api/test_api_access.py)."""

from tests.api.test_api_access import REVIEWERS

ROUTES = {
    ("api.evaluate", "POST"): ("/api/v1/evaluate", {"gold": "model", "pred": "model"}, REVIEWERS),
    ("api.agreement", "GET"): ("/api/v1/agreement", None, REVIEWERS),
}
