"""The API's error body, its spectree instance, and the JSON answer every error gets."""

from __future__ import annotations

import json
from typing import Any

import flask
from flask import current_app
from pydantic import BaseModel, Field
from spectree import Response, SecurityScheme, SecuritySchemeData, SpecTree
from spectree.plugins.flask_plugin import FlaskPlugin


class ErrorBody(BaseModel):
    """What every refused or failed API request answers."""

    error: str = Field(description="What went wrong, in a sentence.")
    details: list[str] = Field(
        default_factory=list,
        description="Each problem on its own line, such as 'articles.jsonl:3: text: missing'.",
    )


class StreamingFlaskPlugin(FlaskPlugin):
    """spectree's Flask plugin, except that a streamed response is passed through as it is.

    The stock plugin reads the whole body to validate it, which would hold a
    100,000-article export in memory; streamed responses are not JSON models.
    """

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        if isinstance(resp, flask.Response) and resp.is_streamed:
            return resp, None
        return super().validate_response(resp, resp_model, skip_validation, force_resp_serialize)

    def parse_path(self, route, path_parameter_descriptions):
        """spectree's, except that a parameter of the app's own converters (external_id) is a string.

        spectree knows werkzeug's converters only, and leaves others without a
        schema, which makes the document invalid.
        """
        path, parameters = super().parse_path(route, path_parameter_descriptions)
        for parameter in parameters:
            if parameter.get("schema") is None:
                parameter["schema"] = {"type": "string"}
        return path, parameters


def _problem(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


def _validation_answer(req, resp, req_validation_error, instance, model_adapter) -> None:
    """spectree's before-hook: rewrite its validation error into the API's error body."""
    if req_validation_error is None or resp is None:
        return
    problems = [_problem(error) for error in model_adapter.validation_errors(req_validation_error)]
    resp.set_data(json.dumps({"error": "The request is invalid.", "details": problems}))
    resp.mimetype = "application/json"


spec = SpecTree(
    "flask",
    backend=StreamingFlaskPlugin,
    before=_validation_answer,
    # Only the views declared with spec.validate belong to the document: the HTML pages do not.
    mode="strict",
    # spectree's own document route is not registered (web/api serves the document under /api/v1,
    # a prefix spectree would leave out of the document); this prefix is none of the app's.
    path="_spectree",
    # No documentation pages: spectree's load their scripts from a CDN.
    page_templates={},
    annotations=True,
    security_schemes=[
        SecurityScheme(
            name="bearer",
            data=SecuritySchemeData(type="http", scheme="bearer", description="A personal API token."),
        )
    ],
    security={"bearer": []},
)


def responses(**codes: Any) -> Response:
    """The declared responses of a view: ``codes`` plus the errors every API view may answer."""
    return Response(HTTP_401=ErrorBody, HTTP_403=ErrorBody, HTTP_422=ErrorBody, HTTP_429=ErrorBody, **codes)


def api_error(status: int, message: str, details: list[str] | None = None, *, headers: dict | None = None):
    """Return the API's JSON error response."""
    response = current_app.json.response({"error": message, "details": list(details or [])})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
