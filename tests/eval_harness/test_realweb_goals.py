"""The issues' goal figures, measured on hand-made judged rows, and their table in the report."""
from __future__ import annotations

from eval_harness.realweb.report import render_markdown, summarise
from eval_harness.realweb.summary import Judged, goal_figures


def row(verdict: str, kind: str = "photo", alt: str = "An alt", split: str = "test", level: str = "page",
        **kw) -> Judged:
    fields = dict(level=level, set_name="s", split=split, kind=kind, record_id=f"s:{id(kw)}", image="i.png",
                  alt=alt, answer="" if verdict in ("hidden", "decorative_right") else "Some answer",
                  decorative=verdict in ("hidden", "decorative_right"), written=True, low_confidence=True,
                  confidence=0.5, note="", verdict=verdict, defect="", image_of_text=False, read_exactly=False,
                  control_only_content=False)
    fields.update(kw)
    return Judged(**fields)


def by_figure(rows):
    return {g["figure"]: g for g in goal_figures(rows)}


def test_each_goal_counts_its_own_rows_and_says_whether_it_is_met():
    rows = ([row("grounded", "screenshot")] + [row("honest", "screenshot")] * 3 + [row("ungrounded", "photo")]
            + [row("decorative_right", "decorative", alt="")] * 9 + [row("decorative_wrong", "decorative", alt="")]
            + [row("grounded", "icon", control_only_content=True)]
            + [row("honest", "other", image_of_text=True, read_exactly=True, defect="generic")])
    goals = by_figure(rows)
    assert goals["screenshots grounded"]["part"] == 1 and goals["screenshots grounded"]["whole"] == 4
    assert goals["screenshots grounded"]["met"] is False  # 25% < 50%
    assert goals["author-decorative images answered decorative"]["met"] is True  # 9 of 10 = 90%
    assert goals["photographs answered with words nothing supports"]["met"] is False  # one is one too many
    assert goals["icons that are a link's only content, grounded"]["share"] == 1.0
    assert goals["spoken answers that repeat a corpus defect template"]["part"] == 1
    assert goals["logos grounded"]["met"] is None and goals["logos grounded"]["whole"] == 0  # no logo: not judged
    assert goals["informative images grounded"]["whole"] == 7 and goals["informative images grounded"]["part"] == 2


def test_the_report_measures_the_goals_on_the_test_split_at_page_level():
    rows = [row("grounded", "logo"), row("honest", "logo", split="dev"), row("honest", "logo", level="backend")]
    summary = summarise(rows)
    assert summary["goals"]["level"] == "page"
    logos = {g["figure"]: g for g in summary["goals"]["figures"]}["logos grounded"]
    assert (logos["part"], logos["whole"], logos["met"]) == (1, 1, True)
    report = render_markdown(rows, summary, {"command": "test"})
    assert "## Goals of the open issues (test split, page level)" in report
    assert "| 27 | logos grounded | 1 of 1 (100%) | at least 70% | yes |" in report
