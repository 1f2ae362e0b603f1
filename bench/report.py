"""Figures with their targets, printed as they come and written as JSON and Markdown."""
from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class Figure:
    """One measured number. ``target`` is the issue-8 goal in words; ``met`` is None when there is none."""

    section: str
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""

    def line(self) -> str:
        value = _fmt(self.value)
        verdict = "" if self.met is None else ("  [met]" if self.met else "  [MISSED]")
        target = f"   target {self.target}" if self.target else ""
        note = f"   ({self.note})" if self.note else ""
        return f"{self.section:>12} | {self.name}: {value} {self.unit}{target}{verdict}{note}"


def ratio_figure(section: str, name: str, slow: float, fast: float, minimum: float | None = None,
                 maximum: float | None = None, note: str = "") -> Figure:
    """``slow / fast`` as a figure, checked against a minimum or maximum ratio."""
    ratio = slow / fast if fast > 0 else float("inf")
    target, met = "", None
    if minimum is not None:
        target, met = f">= {minimum:g}x", ratio >= minimum
    if maximum is not None:
        target, met = f"<= {maximum:g}x", ratio <= maximum
    return Figure(section, name, round(ratio, 2), "x", target, met, note)


def _fmt(value) -> str:
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def environment() -> dict:
    import os

    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "platform": platform.platform(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def write(figures: list[Figure], meta: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"meta": meta, "figures": [asdict(f) for f in figures]}
    json_path = out_dir / "latest.json"
    json_path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    md_path = out_dir / "latest.md"
    md_path.write_text(markdown(figures, meta))
    return json_path, md_path


def markdown(figures: list[Figure], meta: dict) -> str:
    lines = ["# altlens benchmark (latest run)", "",
             f"Reproduce with `make bench` (`python -m bench`). Run on {meta.get('environment', {}).get('cpus')} CPUs, "
             f"{meta.get('environment', {}).get('date', '')}; total {meta.get('wall_s', 0):.0f} s.", ""]
    for key in ("model_under_test", "preset"):
        if key in meta:
            lines.append(f"- {key.replace('_', ' ')}: {meta[key]}")
    lines.append("")
    section = None
    for f in figures:
        if f.section != section:
            section = f.section
            lines += ["", f"## {section}", "", "| figure | value | target | met | note |", "|---|---|---|---|---|"]
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        note = f.note.replace("|", "/")
        lines.append(f"| {f.name} | {_fmt(f.value)} {f.unit} | {f.target} | {met} | {note} |")
    missed = [f for f in figures if f.met is False]
    lines += ["", "## Targets missed", ""]
    lines += [f"- {f.section}: {f.name} = {_fmt(f.value)} {f.unit} (target {f.target}). {f.note}" for f in missed] or ["- none"]
    return "\n".join(lines) + "\n"
