"""Access table of the export API (see tests/api/test_api_access.py)."""

REVIEWERS = {"annotator": False, "reviewer": True, "admin": True}

ROUTES = {
    ("api.export", "GET"): ("/api/v1/export?origin=gold&format=jsonl", None, REVIEWERS),
}
