"""The DuckDB extensions of the DuckLake backend, loaded from their packages (the `lake` extra)."""

from __future__ import annotations

import subprocess
import sys

# In a process of its own: which binaries were checked is the process's state.
CHECKED_ONCE = """
import duckdb
from trackly_pipeline.warehouse import extensions

names = ["ducklake", "postgres_scanner"]
assert extensions.connection_config(names) == {}, "nothing is checked yet: the first LOAD checks"
first = duckdb.connect(config=extensions.connection_config(names))
extensions.load(first, "ducklake")
assert extensions.connection_config(names) == {}, "postgres_scanner is not checked yet"
extensions.load(first, "postgres_scanner")
assert extensions.connection_config(names) == {"allow_unsigned_extensions": "true"}
# A connection that loads unchecked vouches for nothing.
extensions._VERIFIED.clear()
unchecked = duckdb.connect(config={"allow_unsigned_extensions": "true"})
extensions.load(unchecked, "ducklake")
extensions.load(unchecked, "postgres_scanner")
assert extensions.connection_config(names) == {}
print("checked once")
"""


def test_a_packaged_extension_is_checked_by_its_first_load_in_a_process_only():
    done = subprocess.run([sys.executable, "-c", CHECKED_ONCE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "checked once"
