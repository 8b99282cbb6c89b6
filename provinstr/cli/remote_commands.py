"""Commands for many machines: push runs to a SPARQL server, merge stores into one."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from provinstr.cli.application import app, console, fail
from provinstr.config import store_location
from provinstr.store import StoreError
from provinstr.store.local import LocalStore


# Above this many runs push prints only its summary line (a 10,000-run sweep is not 10,000 lines).
EACH_RUN_UP_TO = 20


def _push_with_progress(store: LocalStore, endpoint, refs=()) -> list:
    """push_store with a progress bar on stderr when it is a terminal and there is much to send."""
    from provinstr.store.progress import IngestBar
    from provinstr.store.push import chosen_runs, push_runs, unsent_bytes

    chosen = chosen_runs(store, refs)
    total = unsent_bytes(store, chosen, endpoint.update_url)
    with IngestBar(total, len(chosen), title="pushing") as bar:
        return push_runs(store, endpoint, chosen, progress=bar, total_bytes=total)


@app.command()
def push(
    runs: Optional[List[str]] = typer.Argument(None, help="Run ids (or unique prefixes); default: every run."),
    to: Optional[str] = typer.Option(
        None, "--to", help="SPARQL server URL; default: the store when --store / PROVINSTR_STORE is a URL."
    ),
    store: Optional[str] = typer.Option(
        None, "--store", help="Local store folder to send from (default: ./.provinstr, or the spool)."
    ),
) -> None:
    """Send local runs (or their unsent rest) to a SPARQL server; pushing twice adds nothing."""
    from provinstr.store.remote import Endpoint, is_url, redact, spool_location  # HTTP only when pushing

    configured = store_location(store)
    target = to or (configured if is_url(configured) else None)
    if not target:
        raise fail("push needs a server: provinstr push --to http://HOST:PORT (or set PROVINSTR_STORE to its URL)")
    source = str(spool_location()) if is_url(configured) else configured
    try:
        endpoint = Endpoint(target)
        results = _push_with_progress(LocalStore(source), endpoint, runs or ())
    except StoreError as error:
        raise fail(str(error)) from None
    sent = sum(r.sent for r in results)
    if len(results) <= EACH_RUN_UP_TO:
        for r in results:
            state = f"sent {r.sent} records" if r.sent else "already on the server"
            console.print(f"{r.run_id[:12]}  {state} ({r.total} in the log)", highlight=False, soft_wrap=True)
    console.print(
        f"pushed {sum(1 for r in results if r.sent)} of {len(results)} runs ({sent} records) "
        f"from {source} to {redact(endpoint.url)}",
        highlight=False, soft_wrap=True,
    )


@app.command()
def merge(
    sources: List[Path] = typer.Argument(..., help="Store folders from other machines (copied, then merged)."),
    into: Optional[str] = typer.Option(
        None, "--into", help="Target: a store folder or a SPARQL server URL (default: --store / PROVINSTR_STORE)."
    ),
    store: Optional[str] = typer.Option(None, "--store", help="Same as --into."),
) -> None:
    """Combine the stores of several machines into one (a folder, or a server: then it pushes each)."""
    from provinstr.store.remote import Endpoint, is_url, redact
    from provinstr.store.sync import merge_stores

    target = into or store_location(store)
    try:
        if is_url(target):
            endpoint = Endpoint(target)
            total = 0
            for source in sources:
                results = _push_with_progress(LocalStore(source), endpoint)
                total += sum(r.sent for r in results)
                console.print(f"{source}: {len(results)} runs, {sum(r.sent for r in results)} records sent",
                              highlight=False, soft_wrap=True)
            console.print(f"merged {len(sources)} stores into {redact(endpoint.url)} ({total} records sent)",
                          highlight=False, soft_wrap=True)
            return
        results = merge_stores(sources, LocalStore(target, create=True))
    except StoreError as error:
        raise fail(str(error)) from None
    for r in results:
        lines = f" ({r.lines} records)" if r.lines else ""
        console.print(f"{r.source}: {r.run_id[:12]} {r.action}{lines}", highlight=False, soft_wrap=True)
    added = sum(1 for r in results if r.action in ("copied", "extended"))
    console.print(f"merged {len(sources)} stores into {target}: {added} runs added or extended, "
                  f"{len(results) - added} already there", highlight=False, soft_wrap=True)
