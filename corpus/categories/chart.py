"""Bar, line and pie charts drawn with matplotlib, with a concise summary as alt.

The summary names the chart type, the title and the one fact a reader wants
first (the highest bar, the trend, the largest slice), which only the pixels
give, so charts are decided by the image; when the title sits in the caption
instead of the picture, both are needed. Near misses get that fact wrong.
"""
from __future__ import annotations

import io
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from PIL import Image  # noqa: E402

from corpus import banks  # noqa: E402
from corpus.dom import esc, img_tag  # noqa: E402
from corpus.draft import Draft  # noqa: E402

TOPICS = [
    ("Sales by quarter", ["Q1", "Q2", "Q3", "Q4"]),
    ("Visitors by month", ["Jan", "Feb", "Mar", "Apr", "May", "Jun"]),
    ("Revenue by region", ["North", "South", "East", "West"]),
    ("Rainfall by month", ["Jul", "Aug", "Sep", "Oct", "Nov"]),
    ("Votes by party", ["Green", "Labour", "Liberal", "Conservative"]),
    ("Browser market share", ["Chrome", "Safari", "Edge", "Firefox"]),
    ("Sign-ups by weekday", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
    ("Energy use by source", ["Gas", "Wind", "Solar", "Nuclear", "Coal"]),
    ("Students by year group", ["Year 7", "Year 8", "Year 9", "Year 10"]),
    ("Downloads by platform", ["Windows", "macOS", "Linux", "Android"]),
]
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf"]


def _values(rng: random.Random, n: int) -> list[int]:
    """Distinct values so that the highest item is never a tie."""
    return rng.sample(range(10, 100), n)


def _summary(kind: str, title: str, labels: list[str], values: list[int]) -> tuple[str, str]:
    """(correct summary, the same summary with the key fact wrong)."""
    top = max(range(len(values)), key=values.__getitem__)
    wrong = min(range(len(values)), key=values.__getitem__)
    if kind == "bar":
        return (f"Bar chart: {title}, highest {labels[top]}", f"Bar chart: {title}, highest {labels[wrong]}")
    if kind == "pie":
        share = round(100 * values[top] / sum(values))
        return (f"Pie chart: {title}, largest share {labels[top]} ({share}%)",
                f"Pie chart: {title}, largest share {labels[wrong]} ({share}%)")
    if top == len(values) - 1:
        trend = f"rising to a high in {labels[top]}"
    elif top == 0:
        trend = f"falling from a high in {labels[top]}"
    else:
        trend = f"peaking in {labels[top]}"
    return f"Line chart: {title}, {trend}", f"Line chart: {title}, peaking in {labels[wrong]}"


def _draw(rng: random.Random, kind: str, title: str, labels: list[str], values: list[int],
          show_title: bool) -> Image.Image:
    width, height = rng.choice([(3.2, 2.4), (3.6, 2.4), (3.0, 3.0)])
    fig, ax = plt.subplots(figsize=(width, height), dpi=60)
    color = rng.choice(COLORS)
    if kind == "bar":
        ax.bar(labels, values, color=color)
    elif kind == "line":
        ax.plot(labels, values, color=color, marker="o", linewidth=2)
    else:
        ax.pie(values, labels=labels, colors=rng.sample(COLORS, len(values)), startangle=90,
               textprops={"fontsize": 8})
    if kind != "pie":
        ax.tick_params(labelsize=8)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    if show_title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def make(rng: random.Random) -> Draft:
    title, labels = rng.choice(TOPICS)
    kind = rng.choice(["bar", "bar", "line", "pie"])
    values = _values(rng, len(labels))
    show_title = rng.random() < 0.75
    image = _draw(rng, kind, title, labels, values, show_title)
    reference, wrong_fact = _summary(kind, title, labels, values)
    other_kind = {"bar": "Line chart", "line": "Bar chart", "pie": "Bar chart"}[kind]
    src = banks.image_src(rng, f"chart {title}", "png")
    caption = f"Figure {rng.randrange(1, 9)}: {title}" if not show_title or rng.random() < 0.5 else \
        rng.choice(["Source: internal figures", "Figures are provisional", "Data for the last period"])
    paragraph = rng.choice(["The figures below cover the last reporting period.", "Here is how the numbers moved.",
                            "See the chart for the breakdown.", "We compared the results across categories."])
    html = (f'<article><h2>{esc(rng.choice(["Results", "Our year in numbers", "Quarterly update", "Survey findings"]))}</h2>'
            f'<p>{esc(paragraph)}</p><figure>{img_tag(src, image.width, image.height)}'
            f'<figcaption>{esc(caption)}</figcaption></figure></article>')
    data_dump = ", ".join(f"{label} {value}" for label, value in zip(labels, values))
    near = [wrong_fact, f"{other_kind}: {reference.split(': ', 1)[1]}", f"Chart: {title}", f"{title}: {data_dump}"]
    return Draft("chart", image, "PNG", html, banks.page_title(rng, rng.choice(["news", "blog", "app"])), reference,
                 "image" if show_title else "both", f"a {kind} chart with coloured {'slices' if kind == 'pie' else 'data'}",
                 near)
