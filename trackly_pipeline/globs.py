"""Can a file glob match the same path as another glob, or as a set of names? Decided exactly for
the globs the log loader expands (`glob.glob(pattern)`, not recursive), so that the configuration
can refuse log globs that reach the warehouse's own files, or each other's files (config.py).

How `glob.glob` matches, and so how this module decides:
- a glob matches paths of exactly as many components as it has: without `recursive=True`, `**` is
  a `*` for one component, never several;
- each component is matched on its own. One without `*`, `?` or `[` is a name, matched exactly.
  Any other is an fnmatch pattern (case-sensitive on POSIX), and it matches a name starting with
  `.` only if the pattern starts with `.` itself;
- so two globs can match a common path iff they have as many components and each pair of
  components can match a common name. For two fnmatch patterns that is decided on their token
  sequences (`*`, or one character from a set), the way two automata are intersected;
- the part before the first wildcard component is resolved on disk (symlinks, `..`) first.

What this cannot see: a symlink reached through a wildcard component (`logs/*/x.parquet` with
`logs/a` a link to elsewhere). The loader checks each file's real path as well (trackly_logs.py).
"""

from __future__ import annotations

import fnmatch
import functools
import os
from dataclasses import dataclass

_MAGIC = frozenset("*?[")
# Characters a file name cannot hold.
_NOT_IN_NAMES = frozenset("/\x00")
# Lower ends of the runs of characters that the name alphabet and the hidden-file rule allow: with
# the lower ends of each token's runs, the least common character of several sets is among them.
_EDGES = frozenset("\x00\x01/0")


@dataclass(frozen=True)
class _Chars:
    """One character from a set: a literal, any (`?`) or an fnmatch class (`[...]`, as written)."""

    kind: str  # "literal" | "any" | "class"
    text: str = ""

    def __contains__(self, char: str) -> bool:
        if self.kind == "any":
            return True
        if self.kind == "literal":
            return char == self.text
        return fnmatch.fnmatchcase(char, self.text)

    @property
    def edges(self) -> set[str]:
        """Characters among which each run of this set starts: every character of its text, and the
        one after each (a negated class's runs start after what it excludes)."""
        chars = set(self.text)
        return chars | {chr(ord(char) + 1) for char in chars if ord(char) < 0x10FFFF}


def _literal(text: str) -> tuple[_Chars, ...]:
    return tuple(_Chars("literal", char) for char in text)


_STAR = None  # any run of characters, empty included
Token = _Chars | None


@dataclass(frozen=True)
class Component:
    """One path component as a set of names: tokens, and whether names starting with '.' are left
    out (a glob's wildcard component that does not start with '.')."""

    tokens: tuple[Token, ...]
    hides_dotfiles: bool

    @classmethod
    def of_glob(cls, text: str) -> Component:
        if not _MAGIC.intersection(text):
            return cls(_literal(text), False)
        return cls(_tokens(text), not text.startswith("."))

    @classmethod
    def of_pattern(cls, text: str) -> Component:
        """Names an fnmatch pattern describes, dot-files included (not a glob: a set of names)."""
        return cls(_tokens(text), False)


def _tokens(pattern: str) -> tuple[Token, ...]:
    """An fnmatch pattern's tokens, cut as `fnmatch.translate` cuts them: consecutive `*` are one;
    `[` opens a class only when a `]` closes it (a `]` right after `[` or `[!` is in the class)."""
    tokens: list[Token] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == "*":
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
        elif char == "[":
            j = i
            if j < n and pattern[j] == "!":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:
                tokens.append(_Chars("literal", "["))
            else:
                tokens.append(_Chars("class", pattern[i - 1 : j + 1]))
                i = j + 1
        elif char == "?":
            tokens.append(_Chars("any"))
        else:
            tokens.append(_Chars("literal", char))
    return tuple(tokens)


def components_meet(a: Component, b: Component) -> bool:
    """Is there a file name both components match?"""
    hide = a.hides_dotfiles or b.hides_dotfiles
    return _meet(a.tokens, b.tokens, hide)


@functools.lru_cache(maxsize=4096)
def _meet(a: tuple[Token, ...], b: tuple[Token, ...], hide: bool) -> bool:
    @functools.cache
    def step(i: int, j: int, started: bool) -> bool:
        # started: a character was matched (a name is never empty, and only its first may not be '.')
        if i == len(a) and j == len(b):
            return started
        if i < len(a) and a[i] is _STAR:
            if step(i + 1, j, started):  # the star ends here
                return True
            if j < len(b):
                if b[j] is _STAR:  # the other star ends here, or (for a name's first character) both take it
                    return step(i, j + 1, started) or (
                        not started and _common(_Chars("any"), None, hide) and step(i, j, True)
                    )
                return _common(b[j], None, hide and not started) and step(i, j + 1, True)
            return False
        if j < len(b) and b[j] is _STAR:
            if step(i, j + 1, started):
                return True
            return i < len(a) and _common(a[i], None, hide and not started) and step(i + 1, j, True)
        if i == len(a) or j == len(b):
            return False
        return _common(a[i], b[j], hide and not started) and step(i + 1, j + 1, True)

    return step(0, 0, False)


def _common(x: _Chars, y: _Chars | None, not_dot: bool) -> bool:
    """Is there a character in x (and y) that a name may hold (and that is not '.')? Each set is a
    union of runs, so the least common character, if any, starts a run of one of them: trying
    where the runs start is exact."""
    candidates = x.edges | (y.edges if y is not None else set()) | _EDGES
    return any(
        char not in _NOT_IN_NAMES and not (not_dot and char == ".") and char in x and (y is None or char in y)
        for char in candidates
    )


class GlobError(ValueError):
    """A glob this module cannot reason about soundly."""


def glob_components(pattern: str) -> tuple[Component, ...]:
    """An absolute glob as components, its wildcard-free start resolved on disk."""
    if not os.path.isabs(pattern):
        raise GlobError(f"{pattern!r} is not an absolute path")
    parts = [part for part in pattern.split(os.sep) if part not in ("", ".")]
    first_magic = next((k for k, part in enumerate(parts) if _MAGIC.intersection(part)), len(parts))
    if ".." in parts[first_magic:]:
        raise GlobError("'..' after a wildcard: which folder that is depends on what the wildcard matched")
    fixed = os.path.realpath(os.sep + os.sep.join(parts[:first_magic]))
    return (*path_components(fixed), *(Component.of_glob(part) for part in parts[first_magic:]))


def path_components(path: str) -> tuple[Component, ...]:
    """An absolute path's components, each the one name."""
    return tuple(Component(_literal(part), False) for part in path.split(os.sep) if part)


def globs_meet(a: tuple[Component, ...], b: tuple[Component, ...]) -> bool:
    """Can one path match both globs?"""
    return len(a) == len(b) and all(components_meet(x, y) for x, y in zip(a, b))


__all__ = ["Component", "GlobError", "components_meet", "glob_components", "globs_meet", "path_components"]
