"""The TUNE resource, built the way the definitions build it and resolved inside a real Dagster
run, never shows its token in repr() or str(), and still hands it to the client."""

from __future__ import annotations

import dagster as dg
import yaml

from trackly_pipeline.config import load_config
from trackly_pipeline.defs.build import build_definitions
from trackly_pipeline.defs.resources import tune_resource_key

TOKEN = "s3cr3t-repr-token-4711"


def test_resource_repr_and_str_never_show_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("TUNE_REPR_ACME", TOKEN)
    path = tmp_path / "trackly.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "trackly": {"clicks": "logs/clicks/*.parquet", "messages": "logs/messages/*.parquet"},
                "postback_base_url": "https://app.example.com",
                "networks": [
                    {
                        "key": "acme",
                        "network_id": "acmenet",
                        "network_token_env": "TUNE_REPR_ACME",
                        "api_url": "http://127.0.0.1:9/Apiv3/json",
                        "base_url": "https://t.example.com",
                        "affiliate_id": "1",
                    }
                ],
            }
        )
    )
    resource = build_definitions(load_config(path)).resources[tune_resource_key("acme")]
    seen: dict = {}

    @dg.op(required_resource_keys={"tune_acme"})
    def inspect(context):
        tune = context.resources.tune_acme  # EnvVar resolved: the token is in there now
        seen.update(
            repr=repr(tune),
            str=str(tune),
            format=f"{tune!r} {tune}",
            token=tune.token,
            secrets=tune.secrets(),
            client=repr(tune.client()),
        )
        context.log.info(f"resource: {tune!r}")

    @dg.job(resource_defs={"tune_acme": resource})
    def inspect_job():
        inspect()

    instance = dg.DagsterInstance.ephemeral()
    result = inspect_job.execute_in_process(instance=instance)
    assert result.success
    assert seen["token"] == TOKEN and seen["secrets"] == [TOKEN]  # the client still gets it
    assert "network_id='acmenet'" in seen["repr"]
    for name in ("repr", "str", "format", "client"):
        assert TOKEN not in seen[name], name
    logged = [e.user_message for e in instance.all_logs(result.run_id) if "resource:" in e.user_message]
    assert logged and all(TOKEN not in message for message in logged)
    assert TOKEN not in repr(resource) and TOKEN not in str(resource)
