"""The sparql page (helper B fills this in)."""

from __future__ import annotations

ROUTES: list = []
