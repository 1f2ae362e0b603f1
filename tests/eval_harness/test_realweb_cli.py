"""``python -m eval_harness.realweb`` end to end on a small slice of every set: it runs and judges, at
every level, with the bundled model, a live backend, Chromium with the extension and (speech level,
one page) Orca (no quality thresholds: the figures are the report's, not the test's)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_harness.realweb.__main__ import main
from eval_harness.realweb.judge import VERDICTS
from eval_harness.realweb.records import DEFAULT_ROOT, load

PAPER = DEFAULT_ROOT.parent / "mcmdpo-sample" / "twitter" / "twitter_train.json"


@pytest.mark.timeout(900)
def test_a_slice_of_every_set_is_judged_at_every_level(tmp_path):
    out = tmp_path / "report"
    assert main([str(DEFAULT_ROOT), "--per-set", "1", "--speech-pages", "1", "--out", str(out),
                 "--work-dir", str(tmp_path / "work")]) == 0
    records = load([DEFAULT_ROOT], per_set=1)
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    page = {r["record_id"] for r in rows if r["level"] == "page"}
    backend = {r["record_id"] for r in rows if r["level"] == "backend"}
    assert page == {r.id for r in records}  # every record, SVG included, at the page level
    assert backend == {r.id for r in records if not r.is_svg}
    assert all(r["verdict"] in VERDICTS for r in rows)
    summary = json.loads((out / "results.json").read_text())
    assert set(summary["levels"]) == {"backend", "page", "speech"}
    spoken = summary["spoken_sequences"]
    assert len(spoken) == 1 and len({r["record_id"] for r in rows if r["level"] == "speech"}) == spoken[0]["images"]
    assert summary["info"]["records"].startswith(str(len(records)))
    report = (out / "report.md").read_text()
    assert "## Backend level" in report and "## Page level" in report and "## Audit" in report
    assert "## Speech level" in report and "## What Orca says, page by page" in report
    assert (out / "realweb.png").stat().st_size > 0


def test_the_papers_format_is_read_too(tmp_path):
    out = tmp_path / "paper"
    assert main([str(PAPER), "--levels", "backend", "--splits", "test", "--out", str(out),
                 "--work-dir", str(tmp_path / "work")]) == 0
    rows = [json.loads(line) for line in (out / "answers.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and all(r["set_name"] == "paper-twitter_train" for r in rows)


def test_a_folder_without_manifests_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
