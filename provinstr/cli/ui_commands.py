"""`provinstr ui`: serve the store as a local web page (provinstr.ui)."""

from __future__ import annotations

import os
import re
import socket

import typer

from provinstr.cli.application import UsageError, app
from provinstr.cli.common import StoreOption, user_errors

TOKEN_ENV = "PROVINSTR_UI_TOKEN"
# A token travels in a URL and a cookie: letters, digits and -._~ need no quoting in either.
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{16,}")


def check_token(token: str | None, host: str) -> str | None:
    """The token to require (None: none); refuses a non-loopback host without one, or a weak one."""
    from provinstr.ui.security import is_loopback  # not at import: every command would pay for it

    if token is not None and not _TOKEN.fullmatch(token):
        raise UsageError("--token / PROVINSTR_UI_TOKEN: use 16 or more letters, digits or -._~ "
                         "(e.g. python -c 'import secrets; print(secrets.token_urlsafe())')")
    if token is None and not is_loopback(host):
        raise UsageError(
            f"--host {host} lets other machines reach this store; give a token too: "
            f"--token $(python -c 'import secrets; print(secrets.token_urlsafe())') or {TOKEN_ENV}=... "
            "(or leave --host out to serve only this machine at 127.0.0.1)"
        )
    return token


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the URL is printed (port 0: a free port)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as error:
        sock.close()
        raise UsageError(f"cannot listen on {host}:{port}: {error.strerror or error}; "
                         "choose another --port (0 picks a free one)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int, token: str | None) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


@app.command()
def ui(
    store: str | None = StoreOption,
    port: int = typer.Option(8765, "--port", "-p", help="Port to listen on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; beyond loopback needs --token."),
    token: str | None = typer.Option(None, "--token", envvar=TOKEN_ENV,
                                     help=f"Every request must carry it (also ${TOKEN_ENV})."),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a web browser."),
    allow_steer: bool = typer.Option(False, "--allow-steer",
                                     help="Let a run page change a running training's learning rate."),
) -> None:
    """Serve the store as a web page: runs, a run's curves, compare, provenance graph, SPARQL."""
    from provinstr.analysis.store import open_store

    with user_errors():
        token = check_token(token or None, host)
        opened = open_store(store)  # a missing store is one clear message here, not a page that fails later
        try:
            import uvicorn

            from provinstr.ui.app import create_app
        except ImportError as error:
            raise UsageError(f"provinstr ui needs its extra: pip install 'provinstr[ui]' ({error})") from None
        sock = _bind(host, port)
    from provinstr.ui.security import is_loopback

    remote = not is_loopback(host)
    application = create_app(opened.location, token=token, allow_steer=allow_steer, remote=remote)
    url = _url(host, sock.getsockname()[1], token)
    mode = "steering allowed" if allow_steer else "read-only"
    typer.echo(f"provinstr ui: {url}  (store {opened.location}, {mode}; Ctrl+C stops)", err=False)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    config = uvicorn.Config(application, log_level=os.environ.get("PROVINSTR_UI_LOG", "warning"),
                            access_log=False, lifespan="off", timeout_graceful_shutdown=2)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
