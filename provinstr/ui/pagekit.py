"""Small pieces the compare, graph and SPARQL pages share: their stylesheet link and query-string lists."""

from __future__ import annotations

import html

from starlette.requests import Request

__all__ = ["PAGES_CSS", "id_list", "stylesheet"]

PAGES_CSS = "pages.css"


def stylesheet(request: Request, name: str = PAGES_CSS) -> str:
    """A <link> to a stylesheet under /static/, versioned as the shell versions its assets (the shell
    itself links only ui.css; a body <link rel=stylesheet> is valid HTML)."""
    version = getattr(request.app.state, "asset_version", "0")
    return f'<link rel="stylesheet" href="/static/{html.escape(name)}?v={html.escape(version)}">'


def id_list(text: str | None) -> list[str]:
    """'a,b c' -> ['a', 'b', 'c']: run ids as a URL carries them (commas, or spaces from a '+')."""
    return [part for part in (text or "").replace(" ", ",").split(",") if part]
