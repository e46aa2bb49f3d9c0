"""Hostile replies that quote the token (raw, percent-encoded in either case, JSON-escaped, and
placed so that a cut of any length splits it at every offset) through real Dagster runs and the
CLI: no 8-character piece of the token, in any of those forms, reaches any sink: the warehouse and
the analysts' copy (every table, every column as text), Dagster's storage (run config, event log,
compute logs, every file), Python logging, the CLI's output, or exception text."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode

import dagster as dg
import duckdb
import pytest
import yaml

from trackly_pipeline.cli import main as trackly_main
from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.sandbox import FaultRule
from trackly_pipeline.warehouse.database import Warehouse

pytestmark = pytest.mark.slow  # every hostile form through real runs and the CLI

# 40 characters, with some that a URL or JSON text carries encoded ('/', '+', '=', a space, 'é', "'").
TOKEN = "Q7xLk2Pz/9WvRt4N+mYb8Hc3=JdFg 6Ks5é'Tq0Wn"
PIECE = 8  # any run of this many characters of the token, in any form, is a leak
RETRIES = 30  # per call: one run reads many hostile replies (backoff stays far under a second)


def lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


# How a reply can carry the token: as sent in the URL (form-encoded), in lower-case hex, as
# itself, and as PHP's json_encode writes it (slashes and non-ASCII escaped).
FORMS = {
    "raw": TOKEN,
    "url": quote_plus(TOKEN),
    "url, lower-case hex": lower_hex(quote_plus(TOKEN)),
    "json": json.dumps(TOKEN)[1:-1].replace("/", "\\/"),
}
NEEDLES = sorted({form[i : i + PIECE] for form in FORMS.values() for i in range(len(form) - PIECE + 1)})


def split_everywhere(form: str) -> list[str]:
    """Non-JSON replies holding `form` over and over, one period apart, each shifted one more
    character: wherever a reply is cut, one of them is cut through the token at each offset."""
    period = form + " "
    repeats = period * (600 // len(period) + 2)
    return [f"{'x' * shift}{repeats}" for shift in range(len(period))]


def request_url(api_url: str, target: str, method: str) -> str:
    return f"{api_url}?" + urlencode(
        {"NetworkId": "acmenet", "NetworkToken": TOKEN, "Target": target, "Method": method}
    )


def quoting_the_url(api_url: str) -> list[str]:
    """Replies quoting the whole request URL: a proxy's error page, the URL itself percent-encoded
    (as in a redirect's `next=`), and TUNE envelopes whose `request` and errors echo the token."""
    url = request_url(api_url, "Report", "getConversions")
    echo = {"NetworkId": "acmenet", "NetworkToken": TOKEN, "Target": "Report", "Method": "getConversions"}
    no_response = json.dumps({"request": echo, "error": f"no route for {url}"}).replace("/", "\\/")
    return [
        f"<html><body><h1>502 Bad Gateway</h1><p>upstream failed for GET {url}</p></body></html>",
        f"Moved: /login?next={quote(url, safe='')} ({lower_hex(quote(url, safe=''))})",
        no_response,
        json.dumps(
            {
                "request": echo,
                "response": {
                    "status": -1,
                    "data": "",
                    "errorMessage": f"API key {TOKEN} is not valid for {url}",
                    "errors": [
                        {"publicMessage": f"Invalid NetworkToken {quote_plus(TOKEN)}", "err_msg": f"echo {url}"},
                        {"publicMessage": f"token {lower_hex(quote_plus(TOKEN))} refused"},
                    ],
                },
            }
        ),
        json.dumps({"request": echo, "response": {"errors": {"publicMessage": f"Network id is not valid ({url})"}}}),
    ]


def serve_in_turn(server, bodies: list[str], method: str | None = None) -> None:
    """Each body once, in order, to the matching requests."""
    for turn, body in enumerate(bodies):
        server.add_fault(FaultRule("reply", times=1, skip=turn, method=method, body=body))


def patient_acme(project) -> None:
    """acme reads many replies per run: retries without waiting, no client rate limit to wait on."""
    path = project.root / "trackly.yaml"
    config = yaml.safe_load(path.read_text())
    for network in config["networks"]:
        if network["key"] == "acme":
            network.update(max_retries=RETRIES, backoff_base_s=1e-9, rate_limit_calls=10_000, rate_limit_window_s=1)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    project.settings = load_config(path)
    project.defs = build_definitions(project.settings)


def duckdb_text(path: Path) -> str:
    """Every value of every table and view of a DuckDB file, as text."""
    if not path.exists():
        return ""
    with duckdb.connect(str(path), read_only=True) as conn:
        names = conn.execute(
            "SELECT table_catalog, table_schema, table_name FROM information_schema.tables "
            "WHERE table_catalog = current_database()"
        ).fetchall()
        return "\n".join(
            str(row)
            for catalog, schema, table in names
            for row in conn.execute(f'SELECT * FROM "{catalog}"."{schema}"."{table}"').fetchall()
        )


def files_text(root: Path) -> str:
    return "\n".join(path.read_bytes().decode("utf-8", "replace") for path in root.rglob("*") if path.is_file())


def leaks(texts: dict[str, str]) -> dict[str, list[str]]:
    found = {where: [needle for needle in NEEDLES if needle in text] for where, text in texts.items()}
    return {where: needles for where, needles in found.items() if needles}


def in_context(text: str, needle: str) -> str:
    at = text.index(needle)
    return repr(text[max(0, at - 120) : at + 40])


def test_no_piece_of_the_token_reaches_any_sink(project, tmp_path, monkeypatch, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    real_token = project.world.token_for("acmenet")
    monkeypatch.setenv("TUNE_ACME_TOKEN", TOKEN)  # hostile replies answer every acme request: no token check
    monkeypatch.setenv("TRACKLY_CONFIG", str(project.root / "trackly.yaml"))
    patient_acme(project)
    server, errors = project.server, []
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        project.instance = instance
        # Dagster runs: the offer and conversion syncs read every reply (retried) until all are served.
        bodies = [body for form in FORMS.values() for body in split_everywhere(form)] + quoting_the_url(server.api_url)
        serve_in_turn(server, bodies)
        while len(server.injected) < len(bodies):
            served = len(server.injected)
            result = project.sync("acme", days=1)
            errors += [event.event_specific_data.error.to_string() for event in result.get_step_failure_events()]
            assert not result.success and len(server.injected) > served
        # The CLI: test-connection logs a warning quoting the first reply and prints an error quoting
        # the second (each reply twice, so every one is logged and printed), or quotes an
        # unreadable time-zone reply; `offers` says TUNE's errors.
        server.clear_faults()
        twice = [body for body in split_everywhere(TOKEN) + quoting_the_url(server.api_url) for _ in range(2)]
        zone_replies = [json.dumps({"response": {"status": 1, "data": body}}) for body in split_everywhere(TOKEN)]
        serve_in_turn(server, twice + zone_replies, method="Application::getTimezone")
        served = len(server.injected)
        while len(server.injected) < served + len(twice) + len(zone_replies):
            assert trackly_main(["test-connection", "--network", "acme"]) == 1
        api_errors = quoting_the_url(server.api_url)[3:]
        serve_in_turn(server, api_errors, method="Offer::findAll")
        for _ in api_errors:
            assert trackly_main(["offers", "acme"]) == 1
        # The next good run publishes the analysts' copy, ops.sync_log with the failures included.
        server.clear_faults()
        monkeypatch.setenv("TUNE_ACME_TOKEN", real_token)
        assert project.sync("acme", days=1).success
        run_config = "\n".join(str(run.run_config) for run in instance.get_runs())
        event_log = "\n".join(str(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id))

    captured = capfd.readouterr()
    sinks = {
        "warehouse": duckdb_text(project.settings.duckdb_path),
        "analysts' copy": duckdb_text(Warehouse(project.settings.duckdb_path).published_path),
        "DuckDB files": files_text(project.settings.duckdb_path.parent),
        "Dagster run config": run_config,
        "Dagster event log": event_log,
        "Dagster storage files (runs, events, compute logs)": files_text(tmp_path / "dagster_home"),
        "Python logging": caplog.text,
        "stdout (CLI included)": captured.out,
        "stderr (CLI included)": captured.err,
        "exception texts": "\n".join(errors),
    }
    assert len(errors) >= 2 and "FAIL" in captured.out, "the hostile replies did fail the runs and the CLI"
    assert [where for where, text in sinks.items() if not text.strip()] == [], (
        "a sink with nothing in it proves nothing"
    )
    leaked = leaks(sinks)
    assert leaked == {}, f"{len(leaked)} of {len(sinks)} sinks hold pieces of the token:\n" + "\n".join(
        f"{where}: {len(needles)} pieces, e.g. ...{in_context(sinks[where], needles[0])}..."
        for where, needles in leaked.items()
    )
