"""The real-web report: ``report.md`` for people, ``results.json`` for tools, ``answers.jsonl`` for
re-judging, ``realweb.png`` at a glance. Written into one folder (eval_harness/results/realweb/)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

from eval_harness.realweb.judge import GROUNDED_SHARE, INFORMATIVE_VERDICTS  # noqa: E402
from eval_harness.realweb.summary import (Judged, audit_rows, confidence_table, figures, goal_figures,  # noqa: E402
                                          grouped, level_differences)

COLOURS = {"grounded": "#1a9850", "honest": "#91bfdb", "hidden": "#fc8d59", "ungrounded": "#d73027",
           "unanswered": "#999999"}


EMPTY_ALT = '(alt="")'


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _cell(count: int, whole: int) -> str:
    return f"{count} ({_pct(count / whole)})" if whole else "–"


def _md(text: str, limit: int = 110) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summarise(rows: Sequence[Judged]) -> dict:
    levels = sorted({r.level for r in rows})
    out: dict = {"levels": {}}
    for level in levels:
        mine = [r for r in rows if r.level == level]
        out["levels"][level] = {
            "all": figures(mine),
            "by_split": grouped(mine, "split"),
            "by_set_split": grouped(mine, "set_name", "split"),
            "by_kind_test": grouped([r for r in mine if r.split == "test"], "kind"),
            "confidence": confidence_table(mine),
        }
    goal_level = "page" if "page" in levels else (levels[0] if levels else "")
    if goal_level:
        out["goals"] = {"level": goal_level, "split": "test",
                        "figures": goal_figures([r for r in rows if r.level == goal_level and r.split == "test"])}
    if {"backend", "page"} <= set(levels):
        out["level_differences"] = level_differences([r for r in rows if r.level == "backend"],
                                                     [r for r in rows if r.level == "page"])
    return out


def _verdict_table(groups: dict[str, dict], title: str) -> list[str]:
    head = ["| " + title + " | informative | grounded | honest | hidden | ungrounded | unanswered |"
            " author-decorative | decorative right | answers repeating a corpus defect |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    lines = []
    for key, f in groups.items():
        n, v = f["informative"], f["verdicts"]
        lines.append(f"| {key} | {n} | " + " | ".join(_cell(v[x], n) for x in INFORMATIVE_VERDICTS)
                     + f" | {f['author_decorative']} | {_cell(v['decorative_right'], f['author_decorative'])}"
                     f" | {_cell(f['defect_answers'], f['spoken_answers'])} |")
    return head + lines


def _checks_table(groups: dict[str, dict]) -> list[str]:
    lines = ["| group | images of text | read exactly | informative images that are a link's only content |"
             " of those grounded |", "|---|---|---|---|---|"]
    for key, f in groups.items():
        lines.append(f"| {key} | {f['images_of_text']} | {_cell(f['read_exactly'], f['images_of_text'])} | "
                     f"{f['link_only_content']} | {_cell(f['link_only_content_grounded'], f['link_only_content'])} |")
    return lines


def _goals_table(goals: dict) -> list[str]:
    lines = [f"## Goals of the open issues ({goals['split']} split, {goals['level']} level)", "",
             "The goal figures of the issues \"Honest answers\" (26) and \"The real web's graphics\" (27), "
             "measured on this report's answers (`eval_harness/realweb/summary.py` `GOALS`; kinds are the "
             "manifest's own guesses).", "",
             "| issue | figure | measured | goal | met |", "|---|---|---|---|---|"]
    for g in goals["figures"]:
        met = "–" if g["met"] is None else ("yes" if g["met"] else "**no**")
        lines.append(f"| {g['issue']} | {g['figure']} | {g['part']} of {g['whole']} ({_pct(g['share'])}) | "
                     f"{g['goal']} | {met} |")
    return lines + [""]


def _speech_section(spoken: Sequence[dict]) -> list[str]:
    """Per page, what a user hears pressing Orca's "next graphic" from the top, quoted press by press."""
    lines = ["## What Orca says, page by page", "",
             "The speech level's pages, read with Orca 43 in Chromium with the unchanged extension "
             "(`eval_harness/realweb/speech_level.py`): one line per press of \"next graphic\" (`g`) from the "
             "top until Orca wraps. Its verdicts above judge each spoken text with Orca's role words removed; an "
             "image Orca never stops on counts as decorative.", ""]
    for page in spoken:
        lines += [f"### {_md(page['title'] or '(untitled)', 100)}", "",
                  f"`{page['set']}` `{page['page']}` ({page['split']}): {page['images']} "
                  f"image{'' if page['images'] == 1 else 's'}, "
                  f"{page['not_spoken']} never spoken ({page['not_spoken_author_decorative']} of them "
                  "author-decorative).", ""]
        lines += [f"{n}. “{_md(said, 300)}”" for n, said in enumerate(page["sequence"], 1)] or ["(no stop)"]
        if page["unmatched"]:
            lines += ["", "Stops no image in the tree accounts for: "
                      + "; ".join(f"“{_md(u, 120)}”" for u in page["unmatched"])]
        lines.append("")
    return lines


def render_markdown(rows: Sequence[Judged], summary: dict, info: dict, spoken: Sequence[dict] = ()) -> str:
    lines = ["# Real-web report", "",
             "What a screen-reader user gets from altlens on real pages nobody here wrote "
             "(`../shared/data/realweb`, the authors' own alt text as the reference). "
             "Made by `python -m eval_harness.realweb` (`make eval-realweb`); the judge is "
             "`eval_harness/realweb/judge.py`.", ""]
    lines += [f"- **{k}**: {_md(v, 400)}" for k, v in info.items()]
    lines += ["", "## How to read it", "",
              f"Informative images (the author wrote an alt): *grounded* when at least {GROUNDED_SHARE:.0%} of "
              "the answer's content words are in the author's alt (for the product's \"no description\" form, the "
              "words after its kind label: \"Screenshot: 18F Content Guide\", without where a link goes: \". Link to "
              "flickr.com\" is no claim about the image); *honest* when, failing that, the answer is that form "
              "saying nothing the page (its link targets included) or the image's own text does not say; *hidden* when "
              "made decorative; *unanswered* when nothing was written (a screen reader says \"unlabeled image\"); *ungrounded* "
              "otherwise. Author-decorative images (`alt=\"\"`): *decorative right* when the answer hides them. "
              "*Backend*: each image and its page context sent to `POST /api/v1/describe` (SVG files are not sent: "
              "the backend refuses SVG bytes). *Page*: pages rebuilt from the records, the author's alt removed, "
              "read in Chromium with the unchanged extension; the answer is the image's accessible name as a "
              "screen reader gets it. *Speech*: a seeded sample of those pages read by Orca 43 pressing \"next "
              "graphic\"; the answer is what Orca said, its role words removed, and an image Orca never stops on "
              "counts as decorative. Choose on `dev`, report on `test`.", ""]
    if "goals" in summary:
        lines += _goals_table(summary["goals"])
    for level, data in summary["levels"].items():
        lines += [f"## {level.capitalize()} level", "", "### Test split, per set", ""]
        test_sets = {k: f for k, f in data["by_set_split"].items() if k.endswith("/ test")}
        lines += _verdict_table(test_sets, "set / split") + [""]
        lines += ["### Every split", ""]
        lines += _verdict_table({**data["by_set_split"], **{f"all / {k}": f for k, f in data["by_split"].items()}},
                                "set / split") + [""]
        lines += ["### Test split, per kind (the manifest's own kind guess)", ""]
        lines += _verdict_table(data["by_kind_test"], "kind") + [""]
        lines += ["### Per-kind checks", "",
                  "*Images of text*: the alt is the image's own text (a W3C \"textual\" example, or a short alt "
                  "whose words the backend's OCR found in the image); *read exactly*: the answer is that text, "
                  "case and punctuation aside.", ""]
        lines += _checks_table({**{f"{k}": f for k, f in data["by_split"].items()}}) + [""]
        conf = data["confidence"]
        if conf["per_verdict"]:
            lines += ["### Confidence against verdict (is low confidence where the nonsense is?)", "",
                      "| verdict | spoken answers | median confidence | flagged low-confidence |", "|---|---|---|---|"]
            lines += [f"| {v} | {c['answers']} | {c['median_confidence']} | {_pct(c['flagged_low_confidence'])} |"
                      for v, c in conf["per_verdict"].items()]
            lines += ["", "| confidence (informative images) | " + " | ".join(INFORMATIVE_VERDICTS) + " |",
                      "|---|" + "---|" * len(INFORMATIVE_VERDICTS)]
            lines += [f"| {b} | " + " | ".join(str(c.get(v, 0)) for v in INFORMATIVE_VERDICTS) + " |"
                      for b, c in conf["informative_by_confidence"].items()]
            lines.append("")
        defects = data["all"]["defects"]
        if defects:
            lines += [f"Answers repeating a corpus defect (all splits): {data['all']['defect_answers']} of "
                      f"{data['all']['spoken_answers']} spoken answers: "
                      + ", ".join(f"{k} {v}" for k, v in sorted(defects.items(), key=lambda x: -x[1])) + ".", ""]
    if "level_differences" in summary:
        d = summary["level_differences"]
        lines += ["## Where the levels differ, and why", "",
                  f"{d['differ']} of {d['compared']} records judged at both levels got different verdicts. "
                  "By the page level's note (the extension's own decision, or the context it collected):", "",
                  "| reason | records | e.g. (image: backend → page) |", "|---|---|---|"]
        for reason, count in d["reasons"].items():
            eg = "; ".join(f"{_md(i, 40)}: {b} → {p}" for i, b, p in d["examples"].get(reason, []))
            lines.append(f"| {_md(reason, 80)} | {count} | {eg} |")
        lines.append("")
    if spoken:
        lines += _speech_section(spoken)
    lines += ["## Audit: 20 random rows per verdict", "",
              "So a person can check the judge (seeded sample; every row is in `answers.jsonl`).", ""]
    for level in summary["levels"]:
        lines += [f"### {level.capitalize()} level", ""]
        for v, sample in audit_rows([r for r in rows if r.level == level]).items():
            if not sample:
                continue
            lines += [f"#### {v}", "", "| image | author's alt | answer | confidence |", "|---|---|---|---|"]
            lines += [f"| {_md(r.image, 50)} | {_md(r.alt or EMPTY_ALT, 90)} | "
                      f"{_md('(decorative)' if r.decorative else r.answer or '(nothing)', 110)} | "
                      f"{'' if r.confidence is None else round(r.confidence, 2)} |" for r in sample]
            lines.append("")
    return "\n".join(lines) + "\n"


def plot(summary: dict, path: Path) -> None:
    """Verdict shares of informative images, per set and level, on the test split."""
    bars = []
    for level, data in summary["levels"].items():
        for key, f in data["by_set_split"].items():
            if key.endswith("/ test") and f["informative"]:
                bars.append((f"{key.split(' / ')[0]}\n{level}", f))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(bars)), 4.5))
    for i, (label, f) in enumerate(bars):
        bottom = 0.0
        for v in INFORMATIVE_VERDICTS:
            value = f["verdicts"][v] / f["informative"]
            ax.bar(i, value, bottom=bottom, color=COLOURS[v], label=v if i == 0 else None)
            bottom += value
    ax.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=7)
    ax.set_ylabel("share of informative images (test split)")
    ax.set_title("What a screen-reader user gets on real pages")
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(rows: Sequence[Judged], info: dict, out: Path, spoken: Sequence[dict] = ()) -> dict[str, Path]:
    """``spoken``: the speech level's pages (speech_level.spoken_sequence), quoted in the report."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    if spoken:
        summary["spoken_sequences"] = list(spoken)
    paths = {"json": out / "results.json", "md": out / "report.md", "answers": out / "answers.jsonl",
             "png": out / "realweb.png"}
    paths["json"].write_text(json.dumps({"info": info, **summary}, indent=1, ensure_ascii=False) + "\n")
    with open(paths["answers"], "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    paths["md"].write_text(render_markdown(rows, summary, info, spoken), encoding="utf-8")
    plot(summary, paths["png"])
    return paths

