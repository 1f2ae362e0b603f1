"""One generator per category; each turns a seeded ``random.Random`` into a Draft."""
from corpus.categories import chart, decorative, emoji, icon_control, text

GENERATORS = {
    "text": text.make,
    "icon_control": icon_control.make,
    "chart": chart.make,
    "decorative": decorative.make,
    "emoji": emoji.make,
}
