"""API: articles (being built)."""

from __future__ import annotations
