"""After full runs under every fault, no network token appears anywhere: not in stdout/stderr,
logs, Dagster's storage (event logs, run config, compute logs), the DuckDB files, or error text."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from trackly_pipeline.sandbox import FaultRule

pytestmark = pytest.mark.slow

REPORT = "Report::getConversions"
FAULTS = [
    FaultRule("rate_limit", times=2, method=REPORT),
    FaultRule("http_500", times=1, method=REPORT),
    FaultRule("http_502", times=1, method=REPORT),
    FaultRule("http_504", times=1, method=REPORT),
    FaultRule("slow", times=1, method=REPORT, delay=1.5),
    FaultRule("malformed_json", times=1, method=REPORT),
    FaultRule("trickle", times=1, method=REPORT, delay=0.05),
    FaultRule("truncated", times=1, method=REPORT),
    FaultRule("http_429", times=1, method=REPORT, retry_after="0.2"),
    FaultRule("http_500", times=None, method=REPORT, page=2),
    FaultRule("truncated", times=None, method=REPORT, page=2),
    FaultRule("short_page", times=None, method=REPORT),
    FaultRule("invalid_token", times=None),
    FaultRule("invalid_network", times=None),
]


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits += [f"{path}: {needle[:6]!r}..." for needle in needles if needle in data]
    return hits


def test_no_token_anywhere_after_every_fault(project, tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    tokens = list(project.world.token_env().values())
    project.rebuild(acme={"page_size": 20, "timeout_s": 1, "rate_limit_window_s": 0.3})
    errors = []
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as instance:
        project.instance = instance
        for rule in FAULTS:
            project.server.clear_faults()
            project.server.add_fault(rule)
            # One day of hours keeps the persistent (SQLite) event log quick; every fault still hits.
            result = project.sync("acme", days=1)
            errors += [event.event_specific_data.error.to_string() for event in result.get_step_failure_events()]
            project.world.clock.advance(timedelta(hours=1))
        project.server.clear_faults()
        for key in ("bolt", "cobalt"):
            assert project.sync(key, days=1).success
        failed_connection = project.defs.get_job_def("tune_acme_test_connection")
        project.server.add_fault(FaultRule("invalid_token", times=None))
        result = failed_connection.execute_in_process(instance=instance, raise_on_error=False)
        errors += [event.event_specific_data.error.to_string() for event in result.get_step_failure_events()]
        run_configs = [str(run.run_config) for run in instance.get_runs()]
        event_text = [str(entry) for run in instance.get_runs() for entry in instance.all_logs(run.run_id)]

    assert len(errors) >= 4, "the lasting faults and the failed connection test did fail"
    assert {kind for kind, _, _ in project.server.injected} >= {rule.kind for rule in FAULTS} - {"invalid_token"}
    captured = capfd.readouterr()
    texts = {
        "stdout": captured.out,
        "stderr": captured.err,
        "logs": caplog.text,
        "errors": "\n".join(errors),
        "run config": "\n".join(run_configs),
        "event log": "\n".join(event_text),
    }
    for token in tokens:
        for where, text in texts.items():
            assert token not in text, f"token found in {where}"
    needles = [token.encode() for token in tokens]
    assert files_containing(tmp_path / "dagster_home", needles) == []
    assert files_containing(project.settings.duckdb_path.parent, needles) == []
