"""The OpenAPI document is generated from the code, validates, and lists every API route."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_the_openapi_document_validates_and_lists_every_route(app, client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    documented = {
        (re.sub(r"\{(\w+)\}", r"<\1>", path), method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    routes = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes and routes == documented


def test_every_operation_says_what_it_does_and_needs_a_token(client):
    document = client.get("/api/v1/openapi.json").json
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert "401" in operation["responses"], (method, path)
