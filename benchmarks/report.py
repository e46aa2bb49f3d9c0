"""The benchmark's report: one row per measurement against its bound, printed as a Markdown table
and written to results.md."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    name: str
    unit: str
    value: float
    bound_name: str
    bound: float
    target: str
    ratio: float
    met: bool | None
    notes: list[str] = field(default_factory=list)


def fmt(value: float, unit: str) -> str:
    if unit == "conversions/s":
        return f"{value:,.0f}/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def table(rows: list[Row], mode: str, repeats: int, extra: list[str]) -> str:
    lines = [
        f"Mode: {mode}; medians of {repeats} runs; machine: {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GB; Python {sys.version.split()[0]}",
        "",
        "| measurement | value | lower bound (same run) | bound | ratio | target | met |",
        "| --- | ---: | --- | ---: | ---: | --- | --- |",
    ]
    for row in rows:
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(
            f"| {row.name} | {fmt(row.value, row.unit)} | {row.bound_name} | {fmt(row.bound, row.unit)} | "
            f"{row.ratio:.2f}x | {row.target} | {met} |"
        )
    lines.append("")
    for row in rows:
        for note in row.notes:
            lines.append(f"- {row.name.split(':')[0]}: {note}")
    lines.extend(f"- {note}" for note in extra)
    return "\n".join(lines) + "\n"


def write_report(rows: list[Row], mode: str, repeats: int, extra: list[str], out: Path) -> str:
    text = table(rows, mode, repeats, extra)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return text
