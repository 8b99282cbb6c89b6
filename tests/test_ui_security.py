"""`provinstr ui`'s security model, against the real server: loopback unless a token is set, the token
on every request, read-only unless --allow-steer, nothing served outside its assets and API; and bad
input (a missing store, an unknown run, a store mid-write) answered with clear pages, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from logfiles import reopen_log
from ui_fixtures import http

TOKEN = "s3cret-token-for-the-tests-0123"


def no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text and "site-packages" not in text


def test_a_non_loopback_address_without_a_token_is_refused(ui_store):
    done = subprocess.run([sys.executable, "-m", "provinstr", "ui", "--store", str(ui_store.path), "--host",
                           "0.0.0.0", "--port", "0"], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PROVINSTR_UI_TOKEN": ""})
    assert done.returncode == 2
    assert "--host 0.0.0.0 lets other machines reach this store; give a token too" in done.stderr
    no_traceback(done.stderr)


def test_a_weak_token_is_refused(ui_store):
    done = subprocess.run([sys.executable, "-m", "provinstr", "ui", "--store", str(ui_store.path), "--token", "abc",
                           "--port", "0"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "16 or more" in done.stderr


def test_with_a_token_every_request_needs_it(ui_store, start_ui):
    server = start_ui(ui_store.path, "--host", "0.0.0.0", env={"PROVINSTR_UI_TOKEN": TOKEN})
    assert server.url.endswith(f"/?token={TOKEN}")
    base = server.base.replace("0.0.0.0", "127.0.0.1")
    for path in ("/", "/api/runs", f"/run/{ui_store.id('keras-plateau')}", "/static/ui.js", "/static/plotly.min.js",
                 "/nothing-here"):
        refused = http(base + path)
        assert refused.status == 401, path
        assert TOKEN not in refused.text
    assert "needs its token" in http(base + "/api/runs").json()["error"]
    assert http(base + "/?token=wrong-token-0000000000").status == 401
    assert http(base + "/api/runs", headers={"Authorization": "Bearer wrong-token-000000"}).status == 401

    # the printed URL: the token once in the query, then an HttpOnly cookie, the URL cleaned of it
    welcome = http(base + f"/?token={TOKEN}&where=lr%3E0")
    assert welcome.status == 303 and welcome.headers["location"] == "/?where=lr%3E0"
    cookie = welcome.headers["set-cookie"]
    # the way back stays on this site, the path as it was sent
    assert http(base + f"//evil.example/?token={TOKEN}").headers["location"] == "/evil.example/"
    assert http(base + f"/run/%E2%82%AC?token={TOKEN}").headers["location"] == "/run/%E2%82%AC"
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    with_cookie = http(base + "/api/runs", headers={"Cookie": cookie.split(";")[0]})
    assert with_cookie.status == 200 and with_cookie.json()["all"] == len(ui_store.runs)
    bearer = http(base + "/api/runs", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status == 200


def test_the_printed_url_with_its_token_opens_the_runs_page_in_a_browser(ui_store, start_ui, browser):
    server = start_ui(ui_store.path, "--token", TOKEN)
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url)
    assert "token" not in page.url  # the token left the address bar (and the history)
    page.wait_for_selector("#runs tbody tr")
    page.goto(server.base + "/run/" + ui_store.id("keras-plateau"))  # the cookie carries it from now on
    page.wait_for_selector("#curves .main-svg")
    context.close()
    stranger = browser.new_context()
    other = stranger.new_page()
    answer = other.goto(server.base + "/")
    assert answer.status == 401 and "needs its token" in other.inner_text("body")
    stranger.close()


def test_a_loopback_server_answers_only_to_localhost_names(ui_server):
    # a page on another site that rebinds its DNS name to 127.0.0.1 still sends its own Host header
    assert http(ui_server.base + "/api/runs", headers={"Host": "attacker.example:8765"}).status == 400
    assert http(ui_server.base + "/api/runs", headers={"Host": "localhost:8765"}).status == 200
    for name in ("127.0.0.2:8765", "[::1]:8765", "[0:0:0:0:0:0:0:1]:8765"):  # loopback however written
        assert http(ui_server.base + "/api/runs", headers={"Host": name}).status == 200, name


def test_steering_is_refused_unless_the_server_allows_it(ui_store, ui_server):
    run = ui_store.id("keras-plateau")
    answer = http(ui_server.base + f"/api/run/{run}/steer", "POST", {"Content-Type": "application/json"},
                  json.dumps({"learning_rate": 0.001}))
    assert answer.status == 403 and "--allow-steer" in answer.json()["error"]
    assert not (ui_store.path / "steer").exists()


def test_a_page_from_another_site_cannot_post_here(ui_store, start_ui):
    server = start_ui(ui_store.path, "--allow-steer")
    answer = http(server.base + f"/api/run/{ui_store.id('keras-plateau')}/steer", "POST",
                  {"Content-Type": "application/json", "Origin": "http://attacker.example"},
                  json.dumps({"learning_rate": 0.001}))
    assert answer.status == 403
    assert not (ui_store.path / "steer").exists()


def test_steering_a_finished_run_is_refused_with_a_reason(ui_store, start_ui):
    server = start_ui(ui_store.path, "--allow-steer")
    answer = http(server.base + f"/api/run/{ui_store.id('keras-plateau')}/steer", "POST",
                  {"Content-Type": "application/json"}, json.dumps({"learning_rate": 0.001}))
    assert answer.status == 409 and "it is completed and it has finished" in answer.json()["error"]
    bad = http(server.base + f"/api/run/{ui_store.id('keras-plateau')}/steer", "POST",
               {"Content-Type": "application/json"}, json.dumps({"units": 3}))
    assert bad.status == 400 and "not adjustable" in bad.json()["error"]


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/..%2f..%2f..%2fpyproject.toml",
    "/static/%2e%2e%2f%2e%2e%2fcli%2fui_commands.py", "/../../../../etc/passwd", "/static//etc/passwd",
    "/static/....//....//etc/passwd", "/run/..%2f..%2fetc%2fpasswd", "/api/run/..%2f..%2f/metrics",
    "/api/run/x/steer/..%2f..%2fstore.json", "/graph/../../etc/passwd", "/.provinstr/store.json",
])
def test_nothing_outside_the_assets_and_the_api_is_served(ui_server, path):
    answer = http(ui_server.base + path)
    assert answer.status == 404, (path, answer.status, answer.text[:300])
    assert "root:" not in answer.text and "def " not in answer.text and '"format"' not in answer.text
    no_traceback(answer.text)


def test_an_unknown_run_is_a_clear_page_and_a_clear_json_error(ui_server, page):
    answer = page.goto(ui_server.base + "/run/0000ffff")
    assert answer.status == 404
    assert page.inner_text("h1") == "No such run"
    assert "no run matches '0000ffff'" in page.inner_text(".message")
    no_traceback(page.content())
    api = http(ui_server.base + "/api/run/0000ffff/metrics")
    assert api.status == 404 and "no run matches" in api.json()["error"]


def test_a_missing_store_is_one_message_from_the_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "provinstr", "ui", "--store", str(tmp_path / "nowhere"), "--port", "0"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert f"no provinstr store at {tmp_path / 'nowhere'}" in done.stderr
    no_traceback(done.stderr)


def test_a_store_that_goes_away_is_a_clear_page(tmp_path, start_ui, page):
    store = tmp_path / "store"
    (store / "runs").mkdir(parents=True)
    server = start_ui(store)
    shutil.rmtree(store)
    answer = page.goto(server.base + "/")
    assert answer.status == 503
    assert page.inner_text("h1") == "Store unavailable"
    assert f"no provinstr store at {store}" in page.inner_text(".message")
    no_traceback(page.content())
    assert http(server.base + "/api/runs").json()["error"].startswith("no provinstr store at")


def test_a_store_mid_write_still_shows_its_runs(ui_store, tmp_path, start_ui, page):
    store = tmp_path / "copy"
    shutil.copytree(ui_store.path, store, ignore=shutil.ignore_patterns("index", "index.lock", "catalog.sqlite*"))
    run = ui_store.id("keras-plateau")
    log = reopen_log(store, run)
    with open(log, "ab") as handle:  # a writer is half-way through a line
        handle.write(b'<https://w3id.org/provinstr/run/' + run.encode() + b'/training/1/epoch/6/metric/loss> <http://www.w3.org/ns/prov#val')
    server = start_ui(store)
    page.goto(server.base + "/")
    page.wait_for_selector(f"#runs tr[data-id='{run}']")
    assert page.locator("#runs tbody tr").count() == len(ui_store.runs)
    page.goto(server.base + f"/run/{run}")
    page.wait_for_selector("#curves .main-svg")
    assert page.inner_text("#live").startswith("6 epochs")
    no_traceback(page.content())
