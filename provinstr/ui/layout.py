"""The HTML shell every page shares: head, nav bar, assets; and the error page."""

from __future__ import annotations

import html
from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import HTMLResponse

__all__ = ["NAV", "error_page", "page"]

# (label, path, key for `active`)
NAV = (("Runs", "/", "runs"), ("Compare", "/compare", "compare"), ("SPARQL", "/sparql", "sparql"))


def _asset(request: Request, name: str) -> str:
    """The URL of a file under /static/, versioned so browsers may cache it for long."""
    version = getattr(request.app.state, "asset_version", "0")
    return f"/static/{html.escape(name)}?v={version}"


def _nav(request: Request, active: str | None) -> str:
    current = ' class="active" aria-current="page"'
    links = "".join(f'<a href="{path}"{current if key == active else ""}>{label}</a>' for label, path, key in NAV)
    state = request.app.state
    settings = getattr(state, "settings", None)
    where = html.escape(settings.location) if settings is not None else ""
    mode = "steering allowed" if settings is not None and settings.allow_steer else "read-only"
    return (
        f'<nav class="top"><a class="brand" href="/">provinstr</a>{links}'
        f'<span class="where" title="the store this page reads">{where} · {mode}</span></nav>'
    )


def page(
    request: Request,
    title: str,
    body: str,
    *,
    scripts: Sequence[str] = (),
    plotly: bool = False,
    active: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A whole HTML page: `body` (already-escaped HTML) inside the shared shell; `scripts` are file
    names under /static/ loaded after ui.js (and plotly.min.js when `plotly`).

    The Content-Security-Policy allows no inline script: pass data to a page script in a
    `<script type="application/json">` block (jsonable.embed) or in data- attributes."""
    tags = ['<script src="' + _asset(request, "ui.js") + '"></script>']
    if plotly:
        tags.insert(0, '<script src="' + _asset(request, "plotly.min.js") + '"></script>')
    tags += ['<script src="' + _asset(request, name) + '"></script>' for name in scripts]
    text = (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · provinstr</title>"
        f'<link rel="stylesheet" href="{_asset(request, "ui.css")}">'
        f'<link rel="icon" type="image/svg+xml" href="{_asset(request, "favicon.svg")}">'
        f"</head><body>{_nav(request, active)}<main>{body}</main>{''.join(tags)}</body></html>"
    )
    return HTMLResponse(text, status_code=status_code, headers=_SECURITY_HEADERS)


def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    """A plain page saying what went wrong and what to do; never a stack trace."""
    body = (
        f'<section class="error-page"><h1>{html.escape(title)}</h1>'
        f'<p class="message">{html.escape(message)}</p>'
        '<p><a href="/">Back to the runs</a></p></section>'
    )
    return page(request, title, body, status_code=status)


# The pages load only their own assets; no framing by other sites.
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
