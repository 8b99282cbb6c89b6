"""Who may ask: the token (query once, then a cookie; or a Bearer header), the Host header of a
loopback server (no DNS rebinding), and the Origin of a request that changes something (no CSRF)."""

from __future__ import annotations

import hmac
import html
import ipaddress
import json
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

__all__ = ["COOKIE", "Guard", "is_loopback"]

COOKIE = "provinstr_ui_token"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Guard:
    """ASGI middleware: every request passes the checks above or gets 401/403/400 (JSON under /api/)."""

    def __init__(self, app, token: str | None, remote: bool) -> None:
        self.app = app
        self.token = token
        self.remote = remote

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope.get("path", "/")
        host = headers.get("host", "")
        if not self.remote and not is_loopback(_host_name(host)):
            return await _refuse(send, path, 400, "Wrong host",
                                 f"this provinstr ui serves only localhost, not {host!r}")
        if scope["method"] not in _SAFE_METHODS:
            origin = headers.get("origin")
            if origin and urlsplit(origin).netloc != host:
                return await _refuse(send, path, 403, "Refused",
                                     "a page from another site may not change anything here")
        if self.token is None:
            return await self.app(scope, receive, send)
        query = scope.get("query_string", b"").decode("latin-1")
        given = dict(parse_qsl(query, keep_blank_values=True)).get("token")
        if given is not None and self._valid(given):
            return await _welcome(send, scope, path, query, self.token)
        if self._valid(_bearer(headers.get("authorization", ""))) or self._valid(_cookie(headers.get("cookie", ""))):
            return await self.app(scope, receive, send)
        return await _refuse(send, path, 401, "Token needed",
                             "this provinstr ui needs its token: open the URL `provinstr ui` printed "
                             "(…/?token=…), or send Authorization: Bearer TOKEN")

    def _valid(self, given: str | None) -> bool:
        # compare_digest: no timing hint of how much of a guess was right
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1 (however written): only this machine can connect."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _host_name(host: str) -> str:
    """The Host header without its port."""
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _bearer(value: str) -> str | None:
    scheme, _, credential = value.partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


def _cookie(value: str) -> str | None:
    jar = SimpleCookie()
    try:
        jar.load(value)
    except CookieError:  # a malformed Cookie header is no token
        return None
    return jar[COOKIE].value if COOKIE in jar else None


async def _welcome(send, scope, path: str, query: str, token: str) -> None:
    """A good ?token=: set the cookie and send the browser to the same URL without it (kept out of history)."""
    rest = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "token"])
    # the path as it came (still percent-encoded), one leading slash: `//host/` would leave this site
    raw = scope.get("raw_path") or quote(path).encode("latin-1")
    location = "/" + raw.decode("latin-1").lstrip("/") + ("?" + rest if rest else "")
    cookie = f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/"
    status = 303 if scope["method"] in ("GET", "HEAD") else 307
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"location", location.encode("latin-1")), (b"set-cookie", cookie.encode("latin-1")),
                            (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _refuse(send, path: str, status: int, title: str, message: str) -> None:
    """A refusal as JSON under /api/, else as a small HTML page (no shell: the app is not reached)."""
    if path.startswith("/api/"):
        body, kind = json.dumps({"error": message}).encode(), b"application/json"
    else:
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}"
                f" · provinstr</title></head><body><h1>{html.escape(title)}</h1>"
                f"<p class=\"message\">{html.escape(message)}</p></body></html>").encode()
        kind = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
