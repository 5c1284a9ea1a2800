"""Pydantic models of the API's requests and answers: they validate input and make the OpenAPI document."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Me(BaseModel):
    """The token's user."""

    username: str
    role: str = Field(
        description="annotator, reviewer or admin: what the token may do, read on every request"
    )
