"""The runs page (being written)."""

from __future__ import annotations

ROUTES: list = []
