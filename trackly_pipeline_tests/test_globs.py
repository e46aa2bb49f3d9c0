"""globs.py decides whether two globs (or a glob and a set of names) can match a common path, the way
`glob.glob` matches: checked against brute force over names, and against glob.glob on a real tree."""

from __future__ import annotations

import fnmatch
import glob
import itertools
import os
import random
import re

import pytest

from trackly_pipeline.globs import Component, GlobError, components_meet, glob_components, globs_meet, path_components


def glob_matcher(pattern: str):
    """One component as glob.glob matches it: a name exactly, or fnmatch without dot-files unless the
    pattern starts with '.'."""
    if not any(char in pattern for char in "*?["):
        return lambda name: name == pattern
    regex = re.compile(fnmatch.translate(pattern))
    return lambda name: regex.match(name) is not None and not (name.startswith(".") and not pattern.startswith("."))


PIECES = [
    "a",
    "b",
    ".",
    "-",
    "*",
    "?",
    "[",
    "]",
    "!",
    "[a-c]",
    "[!a-c]",
    "[!.]",
    "[.]",
    "[b-]",
    "[]a]",
    "[!]b]",
    "[c-a]",
    "[--0]",
    "[!-/]",
]


@pytest.mark.parametrize("seed", range(2))
def test_two_components_meet_exactly_when_some_name_matches_both(seed):
    """Random pairs of small patterns (classes, ranges, negations, unclosed brackets, dots), against
    every name of up to 4 characters over the characters they mention (enough for patterns this
    small): a common name exists exactly when components_meet says so."""
    rng = random.Random(seed)
    for _ in range(400):
        a = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 3)))
        b = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 3)))
        alphabet = sorted(set(a + b + "zc.1,") - {"/"})
        names = ("".join(chars) for size in range(1, 5) for chars in itertools.product(alphabet, repeat=size))
        match_a, match_b = glob_matcher(a), glob_matcher(b)
        brute = any(match_a(name) and match_b(name) for name in names)
        assert components_meet(Component.of_glob(a), Component.of_glob(b)) == brute, (a, b)


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [
        ("*", "*", True),
        ("*", ".hidden", False),  # glob's `*` skips dot-files
        (".*", ".hidden", True),
        ("*.parquet", "2026-11.20261206T095633851974-31762.parquet", True),
        ("x*.parquet", "[0-9][0-9][0-9][0-9]-[0-9][0-9].*.parquet", False),
        ("*messages*", "trackly.messages", True),
        ("[!t]*", "trackly.messages", False),
        ("**", "warehouse.duckdb", True),  # not recursive: ** is *, for one component
    ],
)
def test_examples(a, b, meet):
    assert components_meet(Component.of_glob(a), Component.of_glob(b)) is meet


def test_a_name_set_includes_dot_files_a_glob_does_not():
    assert components_meet(Component.of_glob(".*"), Component.of_pattern(".w_analytics.duckdb.*.tmp*"))
    assert not components_meet(Component.of_glob("*"), Component.of_pattern(".w_analytics.duckdb.*.tmp*"))
    assert components_meet(Component.of_pattern("*"), Component.of_pattern(".w.tmp"))


def test_what_glob_glob_matches_on_a_real_tree_is_what_globs_meet_predicts(tmp_path):
    """The model of glob.glob (as many components as the pattern, `**` one component, dot-files only
    for a pattern starting with '.', the fixed start resolved through symlinks) against glob.glob."""
    files = [
        "data/warehouse.duckdb",
        "data/.hidden.parquet",
        "data/a.parquet",
        "data/w_analytics.parts/t.m/2026-11.1.parquet",
        "data/trackly/clicks/c1.parquet",
        "data/trackly/messages/m1.csv",
        "data/x[1].csv",
        "data/x1.csv",
        "data/.dir/z.parquet",
        "other/deep/er/f.parquet",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "data")
    root = str(tmp_path.resolve())
    patterns = [
        "data/*",
        "data/**",
        "data/*/*",
        "data/*/*/*",
        "data/*/*/*.parquet",
        "data/.*",
        "data/.*/*",
        "data/*.parquet",
        "data/x[1].csv",
        "data/x[[]1].csv",
        "data/[!a]*",
        "*/*/*/*",
        "**/*.parquet",
        "data/*/*messages*/*",
        "data/trackly/clicks/*.parquet",
        "link/*/*/*.parquet",
        "link/trackly/*/*",
    ]
    everything = [os.path.join(root, name) for name in files]
    for pattern in patterns:
        absolute = os.path.join(root, pattern)
        found = {os.path.realpath(path) for path in glob.glob(absolute) if os.path.isfile(path)}
        model = glob_components(absolute)
        predicted = {path for path in everything if globs_meet(model, path_components(path))}
        assert found == predicted, pattern


def test_a_parent_folder_after_a_wildcard_is_refused():
    with pytest.raises(GlobError, match=r"'\.\.' after a wildcard"):
        glob_components("/srv/logs/*/../clicks/*.parquet")
