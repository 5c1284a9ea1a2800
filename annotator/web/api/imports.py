"""API: imports (being built)."""

from __future__ import annotations
