"""ConversionsMobile.affiliate_unique1..5 are in TUNE's current docs only: a network's sweep asks for
them only when Trackly's message id travels in one of them, so a TUNE that lacks them still syncs."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pandas as pd
import pytest

from trackly_pipeline.sandbox import DEFAULT_NETWORKS, SandboxWorld

from .conftest import ANCHOR, make_project
from .test_faults import assert_matches_ground_truth

pytestmark = pytest.mark.slow

UNIQUE_COLUMNS = [f"affiliate_unique{n}" for n in range(1, 6)]


def stored_uniques(project, network_key: str) -> dict[int, tuple]:
    return {
        row[0]: row[1:]
        for row in project.query(
            f"SELECT conversion_id, {', '.join(UNIQUE_COLUMNS)} FROM tune.conversions WHERE network = $network",
            {"network": network_key},
        )
    }


def truth_uniques(project, network_id: str) -> dict[int, tuple]:
    end = pd.Timestamp(project.world.clock.now().replace(minute=0, second=0, microsecond=0))
    truth = project.world.ground_truth_conversions(network_id)
    truth = truth[(truth.converted_at >= end - timedelta(days=7)) & (truth.converted_at < end)]
    return {
        int(row[0]): tuple(None if pd.isna(v) else v for v in row[1:])
        for row in truth[["conversion_id", *UNIQUE_COLUMNS]].itertuples(index=False)
    }


def test_only_networks_with_the_message_id_in_affiliate_unique_ask_for_it(tmp_path, monkeypatch):
    acme, bolt, cobalt = DEFAULT_NETWORKS  # message ids in aff_sub, aff_sub3, affiliate_unique1
    lacking = replace(acme, mobile_report_fields=False)  # its TUNE refuses ConversionsMobile.* fields
    world = SandboxWorld.generate(
        seed=11, anchor=ANCHOR, history_days=20, conversions_per_network=800, networks=(lacking, bolt, cobalt)
    )
    server, project = make_project(world, tmp_path, monkeypatch)
    try:
        assert project.sync("acme").success
        assert_matches_ground_truth(project, "acme")
        acme_truth = truth_uniques(project, "acmenet")
        assert any(any(values) for values in acme_truth.values())  # TUNE holds values it cannot report here
        assert stored_uniques(project, "acme") == dict.fromkeys(acme_truth, (None,) * 5)

        assert project.sync("cobalt").success
        assert_matches_ground_truth(project, "cobalt")  # attributed through affiliate_unique1
        assert stored_uniques(project, "cobalt") == truth_uniques(project, "cobaltads")
        by_sub_id = project.query(
            "SELECT count(*) FROM analytics.attributed_conversions WHERE network = 'cobalt' "
            "AND attribution_method IN ('sub_id_click', 'sub_id_message')"
        )[0][0]
        assert by_sub_id > 0
    finally:
        server.stop()
