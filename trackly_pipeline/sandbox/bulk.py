"""Big synthetic Trackly logs for benchmarks: tens of millions of clicks as day-partitioned Parquet.

Everything about click `i` (0 <= i < n_clicks) is a pure function of (seed, i): its id, time, offer,
message and link. So nothing per click is kept in memory, files are written in ~1M-row chunks with
pyarrow, and a benchmark can ask for the ids of any clicks afterwards (`BulkClicks.click_ids(idx)`) to
make conversions whose `ad_id` hits them.

Layout (same columns and types as SandboxWorld.write_trackly_logs, so the pipeline's loader and globs
take both): `<directory>/clicks/clicks-YYYY-MM-DD.bulk.parquet` and, with `messages=True`,
`<directory>/messages/messages-YYYY-MM-DD.bulk.parquet` (UTC days). Days split the clicks evenly and
each day's clicks are in time order. Ids never collide with a SandboxWorld's (those are hex; bulk ids
start with "bk", "bl", "bm").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1 << 20
CLICKS_PER_MESSAGE = 3
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_USER_AGENTS = pa.array(
    [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36",
    ],
    type=pa.large_string(),
)
CLICK_SCHEMA = pa.schema(
    [
        ("click_id", pa.large_string()),
        ("link_id", pa.large_string()),
        ("message_id", pa.large_string()),
        ("network_id", pa.large_string()),
        ("offer_id", pa.int64()),
        ("clicked_at", pa.timestamp("us", tz="UTC")),
        ("ip", pa.large_string()),
        ("user_agent", pa.large_string()),
        ("affiliate_id", pa.int64()),  # the account the link was for: each network's first (the world's log has it too)
    ]
)
MESSAGE_SCHEMA = pa.schema(
    [
        ("message_id", pa.large_string()),
        ("creative_id", pa.int64()),
        ("campaign_id", pa.int64()),
        ("contact_id", pa.int64()),
        ("sending_list_id", pa.int64()),
        ("sent_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijection on uint64 (distinct inputs give distinct outputs)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def _key(seed: int, salt: str) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.sha256(f"{seed}:{salt}".encode()).digest()[:8], "little"))


def _hex_codes(values: np.ndarray) -> np.ndarray:
    """(n,) uint64 -> (n, 16) ASCII hex digits."""
    shifts = np.arange(60, -4, -4, dtype=np.uint64)
    return _HEX[((values[:, None] >> shifts) & np.uint64(15)).astype(np.uint8)]


def _ids(prefix: bytes, values: np.ndarray) -> np.ndarray:
    """(n, len(prefix) + 16) ASCII codes of prefix + 16 hex digits."""
    head = np.broadcast_to(np.frombuffer(prefix, dtype=np.uint8), (len(values), len(prefix)))
    return np.concatenate([head, _hex_codes(values)], axis=1)


def _string_array(codes: np.ndarray) -> pa.Array:
    n, width = codes.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(codes)))


def _as_strings(codes: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(codes).view(f"S{codes.shape[1]}").ravel().astype(f"U{codes.shape[1]}")


@dataclass(frozen=True)
class BulkClicks:
    """What write_synthetic_clicks wrote; the per-click accessors recompute values from the index."""

    directory: Path
    n_clicks: int
    days: int
    start: datetime  # UTC midnight of the first day
    seed: int
    offer_network_ids: np.ndarray  # the offer pool clicks were spread over
    offer_ids: np.ndarray
    files: list[Path] = field(default_factory=list)

    def _prefix(self, letter: str) -> bytes:
        return f"b{letter}{int(_key(self.seed, 'prefix')) % 16**6:06x}".encode()

    def click_ids(self, index=None) -> np.ndarray:
        """24-character click ids (numpy str) of clicks `index` (array of ints; default all: mind memory)."""
        index = np.arange(self.n_clicks) if index is None else np.asarray(index)
        return _as_strings(self._click_codes(index.astype(np.uint64)))

    def clicked_at(self, index) -> np.ndarray:
        """UTC epoch seconds of clicks `index`."""
        return self._seconds(np.asarray(index, dtype=np.int64))

    def offers(self, index) -> tuple[np.ndarray, np.ndarray]:
        """(network_id, offer_id) of clicks `index`."""
        pick = self._offer_pick(np.asarray(index).astype(np.uint64))
        return self.offer_network_ids[pick], self.offer_ids[pick]

    def message_ids(self, index) -> np.ndarray:
        return _as_strings(self._message_codes(np.asarray(index).astype(np.uint64) // np.uint64(CLICKS_PER_MESSAGE)))

    # -- pure functions of the index ----------------------------------------------------------

    def _click_codes(self, i: np.ndarray) -> np.ndarray:
        return _ids(self._prefix("k"), _mix(i + _key(self.seed, "click")))

    def _message_codes(self, m: np.ndarray) -> np.ndarray:
        return _ids(self._prefix("m"), _mix(m + _key(self.seed, "message")))

    def _link_codes(self, m: np.ndarray) -> np.ndarray:
        return _ids(self._prefix("l"), _mix(m + _key(self.seed, "link")))

    def _offer_pick(self, i: np.ndarray) -> np.ndarray:
        return (_mix(i ^ _key(self.seed, "offer")) % np.uint64(len(self.offer_ids))).astype(np.int64)

    def day_bounds(self, day: int) -> tuple[int, int]:
        """[first, last) click indexes of day `day`."""
        return (day * self.n_clicks) // self.days, ((day + 1) * self.n_clicks) // self.days

    def _seconds(self, i: np.ndarray) -> np.ndarray:
        day = ((i + 1) * self.days - 1) // self.n_clicks  # inverse of day_bounds
        first = (day * self.n_clicks) // self.days
        size = ((day + 1) * self.n_clicks) // self.days - first
        return int(self.start.timestamp()) + day * 86_400 + ((i - first) * 86_400) // np.maximum(size, 1)


def _offer_pool(world) -> tuple[np.ndarray, np.ndarray]:
    if world is None:
        from .networks import DEFAULT_NETWORKS

        networks = np.repeat([n.network_id for n in DEFAULT_NETWORKS], 30)
        return networks.astype(object), np.tile(np.arange(1, 31, dtype=np.int64), len(DEFAULT_NETWORKS))
    pairs = [(n.network_id, o.offer_id) for n in world.networks for o in world.offers(n.network_id)]
    return np.array([p[0] for p in pairs], dtype=object), np.array([p[1] for p in pairs], dtype=np.int64)


def write_synthetic_clicks(
    directory: str | Path,
    n_clicks: int,
    days: int,
    *,
    world=None,
    start: date | datetime | None = None,
    seed: int = 0,
    messages: bool = True,
) -> BulkClicks:
    """Write `n_clicks` synthetic clicks spread evenly over `days` UTC days starting at `start`.

    world: a SandboxWorld: clicks go to its offers (all networks), messages to its creatives, the
      default start is its first history day, and its own Trackly logs (whose clicks the world's
      conversions carry as ad_id / sub ids) are written too, as the usual clicks-/messages-DAY.parquet.
    messages: also write one message per CLICKS_PER_MESSAGE clicks (sent an hour before its day).
    """
    directory = Path(directory)
    if n_clicks < 1 or days < 1:
        raise ValueError("n_clicks and days must be positive")
    if start is None:
        start = (world.anchor - timedelta(days=world.history_days)) if world is not None else date(2026, 1, 1)
    start_day = start.date() if isinstance(start, datetime) else start
    start_at = datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC)
    networks, offer_ids = _offer_pool(world)
    result = BulkClicks(directory, n_clicks, days, start_at, seed, networks, offer_ids)
    from .networks import DEFAULT_NETWORKS

    first_account = {
        n.network_id: int(n.affiliate_id) for n in (world.networks if world is not None else DEFAULT_NETWORKS)
    }
    affiliate_ids = np.array([first_account[network] for network in networks.tolist()], dtype=np.int64)

    files = list(world.write_trackly_logs(directory)) if world is not None else []
    creatives = (
        np.unique(world.messages_frame().creative_id.to_numpy(np.int64))
        if world is not None
        else np.arange(100, 400, dtype=np.int64)
    )
    network_pool = pa.array(networks.tolist(), type=pa.large_string())
    ip_pool = pa.array(
        [
            f"{a}.{b}.{c}.{d}"
            for a, b, c, d in np.random.default_rng([seed, 1]).integers(1, 255, size=(4096, 4)).tolist()
        ],
        type=pa.large_string(),
    )
    (directory / "clicks").mkdir(parents=True, exist_ok=True)
    if messages:
        (directory / "messages").mkdir(parents=True, exist_ok=True)

    for day in range(days):
        label = (start_day + timedelta(days=day)).isoformat()
        first, last = result.day_bounds(day)
        if last <= first:
            continue
        path = directory / "clicks" / f"clicks-{label}.bulk.parquet"
        with pq.ParquetWriter(path, CLICK_SCHEMA, compression="snappy") as writer:
            for lo in range(first, last, CHUNK):
                i = np.arange(lo, min(lo + CHUNK, last), dtype=np.uint64)
                message = i // np.uint64(CLICKS_PER_MESSAGE)
                pick = result._offer_pick(i)
                mixed = _mix(i ^ _key(seed, "device"))
                writer.write_table(
                    pa.table(
                        [
                            _string_array(result._click_codes(i)),
                            _string_array(result._link_codes(message)),
                            _string_array(result._message_codes(message)),
                            network_pool.take(pa.array(pick)),
                            pa.array(offer_ids[pick]),
                            pa.array(result._seconds(i.astype(np.int64)) * 1_000_000, type=pa.int64()).cast(
                                CLICK_SCHEMA.field("clicked_at").type
                            ),
                            ip_pool.take(pa.array((mixed % np.uint64(4096)).astype(np.int64))),
                            _USER_AGENTS.take(
                                pa.array(((mixed >> np.uint64(32)) % np.uint64(len(_USER_AGENTS))).astype(np.int64))
                            ),
                            pa.array(affiliate_ids[pick]),
                        ],
                        schema=CLICK_SCHEMA,
                    )
                )
        files.append(path)

    if messages:
        n_messages = (n_clicks + CLICKS_PER_MESSAGE - 1) // CLICKS_PER_MESSAGE
        first_click = np.arange(0, n_messages, dtype=np.int64) * CLICKS_PER_MESSAGE
        sent_day = ((first_click + 1) * days - 1) // n_clicks  # day of each message's first click
        for day in range(days):
            label = (start_day + timedelta(days=day - 1)).isoformat()  # sent the evening before
            rows = np.flatnonzero(sent_day == day)
            if not len(rows):
                continue
            path = directory / "messages" / f"messages-{label}.bulk.parquet"
            with pq.ParquetWriter(path, MESSAGE_SCHEMA, compression="snappy") as writer:
                for lo in range(0, len(rows), CHUNK):
                    m = rows[lo : lo + CHUNK].astype(np.uint64)
                    mixed = _mix(m ^ _key(seed, "message-attrs"))
                    sent = int(start_at.timestamp()) + day * 86_400 - 3600 - (mixed % np.uint64(3600)).astype(np.int64)
                    writer.write_table(
                        pa.table(
                            [
                                _string_array(result._message_codes(m)),
                                pa.array(creatives[(mixed % np.uint64(len(creatives))).astype(np.int64)]),
                                pa.array(((mixed >> np.uint64(20)) % np.uint64(500) + np.uint64(1)).astype(np.int64)),
                                pa.array(
                                    ((mixed >> np.uint64(8)) % np.uint64(5_000_000) + np.uint64(1)).astype(np.int64)
                                ),
                                pa.array(((mixed >> np.uint64(40)) % np.uint64(12) + np.uint64(1)).astype(np.int64)),
                                pa.array(sent * 1_000_000, type=pa.int64()).cast(MESSAGE_SCHEMA.field("sent_at").type),
                            ],
                            schema=MESSAGE_SCHEMA,
                        )
                    )
            files.append(path)
    return BulkClicks(directory, n_clicks, days, start_at, seed, networks, offer_ids, files)
