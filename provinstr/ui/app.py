"""The Starlette application: the pages' routes, the static assets, the guard and the error pages."""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from provinstr.config import store_location
from provinstr.ui.context import UISettings
from provinstr.ui.layout import error_page
from provinstr.ui.security import Guard

__all__ = ["PAGE_MODULES", "create_app"]

STATIC = Path(__file__).parent / "static"
PAGE_MODULES = ("runs", "run", "steer", "compare", "graph", "sparql")
_HTTP_TITLES = {400: "Bad request", 401: "Token needed", 403: "Refused", 404: "Not found",
                405: "Method not allowed", 503: "Store unavailable"}


class _StoreOpener:
    """Opens the store on first use and keeps it; a store that cannot be opened is tried again next time."""

    def __init__(self, location: str) -> None:
        self.location = location
        self._store = None

    def __call__(self):
        if self._store is None:
            from provinstr.analysis.store import open_store

            self._store = open_store(self.location)
        return self._store


def create_app(location: str | None, *, token: str | None = None, allow_steer: bool = False,
               remote: bool = False) -> Starlette:
    """The ui over the store at `location` (a folder or a SPARQL server URL; None: the usual default).

    With `token`, every request must carry it; `allow_steer` lets a run page change a running training;
    `remote` says the server listens beyond loopback (then any Host header is accepted).
    """
    where = store_location(location)
    routes = [Route("/static/plotly.min.js", _plotly_js)]
    for name in PAGE_MODULES:
        routes += importlib.import_module(f"provinstr.ui.pages.{name}").ROUTES
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, token=token, remote=remote)],
        exception_handlers=_exception_handlers(),
    )
    app.state.settings = UISettings(location=where, token=token, allow_steer=allow_steer, remote=remote)
    app.state.store = _StoreOpener(where)
    app.state.store_lock = threading.Lock()
    app.state.asset_version = _asset_version()
    return app


def _asset_version() -> str:
    """Changes when any asset (or plotly) changes, so browsers may cache assets for long."""
    import plotly

    stamps = [int(p.stat().st_mtime) for p in STATIC.iterdir() if p.is_file()]
    return f"{plotly.__version__}-{max(stamps, default=0):x}"


def _plotly_js_path() -> Path:
    """Plotly's own bundle, as the installed plotly package ships it (nothing from the internet)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


async def _plotly_js(request: Request) -> Response:
    return FileResponse(_plotly_js_path(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=604800, immutable"})


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _problem(request: Request, status: int, title: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return error_page(request, status, title, message)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"nothing here at {request.url.path}"
    return _problem(request, exc.status_code, _HTTP_TITLES.get(exc.status_code, "Error"), detail)


def _exception_handlers() -> dict:
    """Problems a user can act on get their message and status; anything else a short line, never a traceback."""
    from provinstr.analysis.selection import WhereError
    from provinstr.analysis.store import RunNotFound
    from provinstr.errors import QuerySyntaxError, StoreError

    def known(status: int, title: str):
        async def handler(request: Request, exc: Exception) -> Response:
            return _problem(request, status, title, str(exc))
        return handler

    return {
        HTTPException: _http_error,
        RunNotFound: known(404, "No such run"),
        WhereError: known(400, "Bad filter"),
        QuerySyntaxError: known(400, "Bad query"),
        StoreError: known(503, "Store unavailable"),
        Exception: _server_error,  # uvicorn still logs its traceback on the server's terminal
    }


async def _server_error(request: Request, exc: Exception) -> Response:
    return _problem(request, 500, "Something went wrong",
                    f"{type(exc).__name__}: {exc}. The server's terminal has the details.")
