"""Attribution against randomized worlds: Hypothesis draws small Trackly logs and TUNE conversions at
adversarial times (before and after each conversion, ties to the microsecond, the clock-skew limit,
the window edge and the lookup horizon one microsecond either side, on DST change days), repeated
click and message ids, empty, 8-character and long sub ids, per-offer windows and run windows of any
reach; the real SQL (`attribute_window`) runs on them in DuckDB, and every conversion's method,
click, message, creative and reason must be what the written rule says (sandbox/attribution_oracle.py).

Shrunk failures found while building this are kept as regular tests at the end of the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trackly_pipeline.sandbox import attribution_oracle as oracle
from trackly_pipeline.warehouse.database import Warehouse
from trackly_pipeline.warehouse.transforms import attribute_window

UTC = UTC
US = timedelta(microseconds=1)
# Conversion days: ordinary ones and America/New_York's and Europe/Berlin's DST change days (the
# rule counts 24-hour days, in UTC, so a change of the network's offset must not matter).
DAYS = [
    datetime(2026, 3, 8, tzinfo=UTC),
    datetime(2026, 3, 29, tzinfo=UTC),
    datetime(2026, 10, 25, tzinfo=UTC),
    datetime(2026, 11, 1, tzinfo=UTC),
    datetime(2026, 6, 15, tzinfo=UTC),
]
CLICK_IDS = ["k1", "k2", "k3", "CLICK008", "a-click-id-of-thirty-characters"]  # CLICK008: 8 characters
MESSAGE_IDS = ["MSG00001", "MSG00002", "MSG00003", "MSG00004"]
SUB_IDS = [None, "", "test", "UNKNOWN8", "x" * 40, "Ωμέγα123", *CLICK_IDS, *MESSAGE_IDS]
OFFERS = [7, 8, 9]
NETWORK_ID = "acmenet"  # the conversions' network; clicks may be logged for another, or for none
FILES = ["clicks-a.parquet", "clicks-b.parquet"]


@dataclass(frozen=True)
class Config:
    window_days: int
    offer_windows: dict[int, int]
    skew_s: int

    def horizon_days(self, offer_id: int) -> int:
        return oracle.horizon_days(self.window_of(offer_id))

    def window_of(self, offer_id: int) -> int:
        return self.offer_windows.get(offer_id, self.window_days)


configs = st.builds(
    Config,
    window_days=st.sampled_from([1, 7, 30, 45]),
    offer_windows=st.dictionaries(st.sampled_from(OFFERS), st.sampled_from([1, 3, 7, 40]), max_size=2),
    skew_s=st.sampled_from([0, 1, 300]),
)


@st.composite
def worlds(draw):
    """A config, conversions, and log rows placed at adversarial offsets from the conversions."""
    config = draw(configs)
    day = draw(st.sampled_from(DAYS))
    conversions = []
    for number in range(draw(st.integers(1, 5))):
        converted_at = day + timedelta(
            hours=draw(st.integers(0, 47)), microseconds=draw(st.sampled_from([0, 1, 999_999]))
        )
        conversions.append(
            {
                "conversion_id": number + 1,
                "converted_at": converted_at,
                "offer_id": draw(st.sampled_from(OFFERS)),
                "ad_id": draw(st.sampled_from([None, "", "unknown-transaction", *CLICK_IDS])),
                "sub_id": draw(st.sampled_from(SUB_IDS)),
            }
        )

    def near_a_conversion() -> datetime:
        """A time relative to one of the conversions, where the rule's edges are."""
        conversion = draw(st.sampled_from(conversions))
        window = timedelta(days=config.window_of(conversion["offer_id"]))
        horizon = timedelta(days=config.horizon_days(conversion["offer_id"]))
        skew = timedelta(seconds=config.skew_s)
        edge = draw(
            st.sampled_from(
                [
                    timedelta(0),
                    skew,
                    -window,
                    -horizon,
                    -timedelta(hours=1),
                    timedelta(hours=1),
                    -timedelta(days=3),
                ]
            )
        )
        nudge = draw(st.sampled_from([timedelta(0), US, -US]))
        return conversion["converted_at"] + edge + nudge

    sends = []
    for row in range(draw(st.integers(0, 6))):
        sends.append(
            oracle.LoggedSend(
                message_id=draw(st.sampled_from(MESSAGE_IDS)),
                creative_id=draw(st.sampled_from([501, 502, None])),
                campaign_id=draw(st.sampled_from([77, 78])),
                sent_at=near_a_conversion(),
                source_file=draw(st.sampled_from(["messages-a.csv", "messages-b.csv"])),
                source_row=row,
            )
        )
    clicks = []
    for row in range(draw(st.integers(0, 10))):
        # Sometimes exactly the previous click's time: ties to the microsecond.
        tie = clicks and draw(st.booleans())
        clicks.append(
            oracle.LoggedClick(
                click_id=draw(st.sampled_from(CLICK_IDS)),
                message_id=draw(st.sampled_from([None, "", *MESSAGE_IDS])),
                clicked_at=clicks[-1].clicked_at if tie else near_a_conversion(),
                source_file=draw(st.sampled_from(FILES)),
                source_row=row,
                # A message's links go to one or two offers, of this network or another; a log may omit them.
                network_id=draw(st.sampled_from([NETWORK_ID, NETWORK_ID, "othernet", None])),
                offer_id=draw(st.sampled_from([*OFFERS, None])),
            )
        )
    # Rows reach the warehouse in any order: ties must be broken by the rule's order, not the load's.
    clicks = draw(st.permutations(clicks))
    # A run whose window starts at the earliest conversion or up to 60 days before it.
    reach = timedelta(days=draw(st.sampled_from([0, 1, 7, 45, 60])), hours=draw(st.integers(0, 23)))
    return config, conversions, sends, clicks, reach


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    with Warehouse(tmp_path_factory.mktemp("properties") / "w.duckdb").connect() as conn:
        yield conn


def sql_attribution(conn, config: Config, conversions, sends, clicks, reach: timedelta) -> dict:
    """Load the world, run the real attribution over a window holding every conversion, read its rows;
    all in a transaction rolled back afterwards, so examples share one warehouse."""
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(
            "INSERT INTO ops.networks BY NAME SELECT 'acme' AS network, $id AS network_id, "
            "'aff_sub' AS message_id_field",
            {"id": NETWORK_ID},
        )
        for c in conversions:
            conn.execute(
                "INSERT INTO tune.conversions BY NAME SELECT 'acme' AS network, $id AS conversion_id, $at AS converted_at,"
                " $offer AS offer_id, $ad_id AS ad_id, $sub_id AS aff_sub, 'approved' AS status, false AS is_adjustment,"
                " 1::DECIMAL(18, 5) AS payout, 'USD' AS currency, now() AS first_seen_at, now() AS last_seen_at",
                {
                    "id": c["conversion_id"],
                    "at": c["converted_at"],
                    "offer": c["offer_id"],
                    "ad_id": c["ad_id"],
                    "sub_id": c["sub_id"],
                },
            )
        for s in sends:
            conn.execute(
                "INSERT INTO trackly.messages VALUES ($m, $creative, $campaign, 1, 1, $at, $file, $row)",
                {
                    "m": s.message_id,
                    "creative": s.creative_id,
                    "campaign": s.campaign_id,
                    "at": s.sent_at,
                    "file": s.source_file,
                    "row": s.source_row,
                },
            )
        for k in clicks:
            conn.execute(
                "INSERT INTO trackly.clicks VALUES ($id, 'l1', $m, $network, $offer, $at, NULL, NULL, $file, "
                "$row, NULL)",
                {
                    "id": k.click_id,
                    "m": k.message_id,
                    "network": k.network_id,
                    "offer": k.offer_id,
                    "at": k.clicked_at,
                    "file": k.source_file,
                    "row": k.source_row,
                },
            )
        first = min(c["converted_at"] for c in conversions)
        last = max(c["converted_at"] for c in conversions)
        attribute_window(
            conn,
            network="acme",
            message_id_field="aff_sub",
            start=first - reach,
            end=last + US,
            reporting_currency="USD",
            attributed_at=last,
            window_days=config.window_days,
            offer_window_days=config.offer_windows,
            clock_skew_s=config.skew_s,
        )
        rows = conn.execute(
            "SELECT conversion_id, attribution_method, click_id, message_id, unattributed_reason, "
            "creative_id, campaign_id FROM analytics.attributed_conversions"
        ).fetchall()
    finally:
        conn.execute("ROLLBACK")
    return {row[0]: oracle.Attribution(*row[1:]) for row in rows}


def oracle_attribution(config: Config, conversions, sends, clicks) -> dict:
    log = oracle.TracklyLog(clicks, sends)
    expected = {}
    for c in conversions:
        found = oracle.attribute(
            log,
            converted_at=c["converted_at"],
            ad_id=c["ad_id"],
            sub_id=c["sub_id"],
            window_days=config.window_of(c["offer_id"]),
            offer_id=c["offer_id"],
            network_id=NETWORK_ID,
            clock_skew=timedelta(seconds=config.skew_s),
        )
        expected[c["conversion_id"]] = oracle.with_creative(log, found)
    return expected


def assert_agrees(conn, config, conversions, sends, clicks, reach) -> None:
    got = sql_attribution(conn, config, conversions, sends, clicks, reach)
    assert got == oracle_attribution(config, conversions, sends, clicks)


@pytest.mark.slow  # 400 randomized worlds through DuckDB: half a minute of CPU
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_sql_attribution_is_the_written_rule(warehouse, world):
    assert_agrees(warehouse, *world)


# -- Shrunk cases, kept as regular tests ----------------------------------------------------------
# Each was found by the property test above against a SQL with one part of the rule taken out, and
# shrunk; here with what the rule says spelled out, so each names the part of the rule it guards.

T = datetime(2026, 3, 8, tzinfo=UTC)  # America/New_York springs forward this day


def conversion(conversion_id: int, converted_at: datetime, ad_id: str | None = None, sub_id: str | None = None) -> dict:
    return {
        "conversion_id": conversion_id,
        "converted_at": converted_at,
        "offer_id": 7,
        "ad_id": ad_id,
        "sub_id": sub_id,
    }


def click(click_id: str, message_id: str | None, clicked_at: datetime, row: int) -> oracle.LoggedClick:
    return oracle.LoggedClick(click_id, message_id, clicked_at, "clicks-a.parquet", row)


def send(message_id: str, sent_at: datetime, row: int, creative_id: int = 501) -> oracle.LoggedSend:
    return oracle.LoggedSend(message_id, creative_id, 77, sent_at, "messages-a.csv", row)


@pytest.mark.parametrize(
    "skew_s, expected",
    [
        (0, oracle.Attribution("unattributed", None, None, "click after the conversion")),
        (1, oracle.Attribution("ad_id_click", "k2", None, None)),
    ],
    ids=["no skew allowed", "within the skew"],
)
def test_a_click_one_microsecond_after_the_conversion(warehouse, skew_s, expected):
    world = (Config(1, {}, skew_s), [conversion(1, T, ad_id="k2")], [], [click("k2", None, T + US, 0)], timedelta(0))
    assert sql_attribution(warehouse, *world) == oracle_attribution(*world[:4]) == {1: expected}


def test_a_click_one_microsecond_beyond_the_conversions_horizon_is_not_looked_at(warehouse):
    """30 days and 1 microsecond before the conversion, but inside the run's horizon (the run starts
    earlier): the conversion is judged as if the click were not logged, whatever the run's reach."""
    converted_at = T + US
    world = (
        Config(1, {}, 0),
        [conversion(1, converted_at, ad_id="k1"), conversion(2, T)],
        [],
        [click("k1", None, converted_at - timedelta(days=30) - US, 0)],
        timedelta(0),
    )
    expected = {
        1: oracle.Attribution("unattributed", None, None, "no click for the ad_id"),
        2: oracle.Attribution("unattributed", None, None, "sub-id empty"),
    }
    assert sql_attribution(warehouse, *world) == oracle_attribution(*world[:4]) == expected


def test_one_click_id_logged_twice_in_the_same_microsecond_is_its_first_row(warehouse):
    world = (
        Config(1, {}, 0),
        [conversion(1, T, ad_id="k1")],
        [send("MSG00001", T - timedelta(hours=1), 0)],
        [click("k1", None, T, 0), click("k1", "MSG00001", T, 1)],
        timedelta(0),
    )
    for clicks in (world[3], world[3][::-1]):  # loaded in either order
        got = sql_attribution(warehouse, world[0], world[1], world[2], clicks, world[4])
        assert got == oracle_attribution(*world[:4]) == {1: oracle.Attribution("ad_id_click", "k1", None, None)}


def test_the_window_runs_from_the_messages_first_click_not_the_click_named(warehouse):
    """A sub id names a click on a message first clicked one day and one microsecond before the
    conversion: with a 1-day window the re-click does not stretch it."""
    converted_at = T + US
    world = (
        Config(1, {}, 0),
        [conversion(1, converted_at, sub_id="a-click-id-of-thirty-characters")],
        [],
        [click("a-click-id-of-thirty-characters", "MSG00002", T, 0), click("k1", "MSG00002", T - timedelta(days=1), 1)],
        timedelta(0),
    )
    expected = {1: oracle.Attribution("unattributed", None, None, "click outside the attribution window")}
    assert sql_attribution(warehouse, *world) == oracle_attribution(*world[:4]) == expected
