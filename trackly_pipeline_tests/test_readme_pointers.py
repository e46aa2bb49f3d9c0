"""Every pointer into the README names one of its headings, so a reader can follow it and a link can
be made of it: `(README, Heading)` or `README, "Heading"` in the package's code and messages, in
docs/ and in `./run`. A mention of the README in any other form names no heading and is refused. And
every Markdown link to a heading of a project document reaches a heading that exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

QUOTED_POINTER = re.compile(r'README[,:]? "([^"]+)"')
BARE_POINTER = re.compile(r"README, ([^\"()\[\]]+?)\)")
MENTION = re.compile(r"README(?!\.md)")
HEADING_LINK = re.compile(r"\]\(([^)#\s]*)#([^)\s]+)\)")


def pointer_sources() -> list[Path]:
    return [*sorted((ROOT / "trackly_pipeline").rglob("*.py")), *sorted((ROOT / "docs").glob("*.md")), ROOT / "run"]


def markdown_documents() -> list[Path]:
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "benchmarks").glob("*.md")),
        *sorted((ROOT / "trackly_pipeline").rglob("*.md")),
    ]


def flattened(path: Path) -> str:
    """The file's text on one line, so a pointer wrapped across lines (or across `#` comment lines)
    reads as it is meant."""
    text = path.read_text()
    if path.suffix == ".py":
        text = re.sub(r"\n[ \t]*#[ \t]*", " ", text)
    return re.sub(r"\s+", " ", text)


def headings(path: Path) -> list[str]:
    found, fenced = [], False
    for line in path.read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip())
    return found


def anchors(path: Path) -> set[str]:
    """GitHub's anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(path):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        result.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
        seen[slug] = seen.get(slug, 0) + 1
    return result


def pointers(text: str) -> list[re.Match]:
    return [*QUOTED_POINTER.finditer(text), *BARE_POINTER.finditer(text)]


def test_every_readme_pointer_names_a_readme_heading():
    readme_headings = set(headings(ROOT / "README.md"))
    found, broken = 0, []
    for path in pointer_sources():
        for pointer in pointers(flattened(path)):
            found += 1
            if pointer.group(1).strip() not in readme_headings:
                broken.append(f"{path.relative_to(ROOT)}: {pointer.group(0)!r}")
    assert found >= 10, f"only {found} README pointers found: is the pattern still the one the code uses?"
    assert not broken, (
        "README pointers naming no README heading:\n  "
        + "\n  ".join(broken)
        + "\nREADME headings: "
        + "; ".join(sorted(readme_headings))
    )


def test_every_mention_of_the_readme_is_a_pointer_to_a_heading():
    vague = []
    for path in pointer_sources():
        text = flattened(path)
        covered = [pointer.span() for pointer in pointers(text)]
        for mention in MENTION.finditer(text):
            if not any(start == mention.start() for start, _ in covered):
                vague.append(f"{path.relative_to(ROOT)}: {text[mention.start() : mention.start() + 60]!r}")
    assert not vague, (
        'README mentions that name no heading (write `(README, Heading)` or `README, "Heading"`):'
        "\n  " + "\n  ".join(vague)
    )


def test_every_link_to_a_heading_reaches_one():
    broken, checked = [], 0
    for document in markdown_documents():
        for link in HEADING_LINK.finditer(document.read_text()):
            checked += 1
            target = (document.parent / link.group(1)).resolve() if link.group(1) else document
            if target.suffix == ".md" and link.group(2) not in anchors(target):
                broken.append(f"{document.relative_to(ROOT)}: {link.group(0)}")
    assert checked >= 5, f"only {checked} links to headings found: is the pattern still the one the docs use?"
    assert not broken, "links to headings that do not exist:\n  " + "\n  ".join(broken)
