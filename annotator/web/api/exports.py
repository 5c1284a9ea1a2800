"""API: exports (being built)."""

from __future__ import annotations
