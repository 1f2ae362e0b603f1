"""One generator per category; each turns a seeded ``random.Random`` into a Draft."""
from corpus.categories import chart, decorative, emoji, icon_control, text

GENERATORS = {
    "text": text.make,
    "icon_control": icon_control.make,
    "chart": chart.make,
    "decorative": decorative.make,
    "emoji": emoji.make,
}
# The categories that draw real assets (logos, flags, other icon and emoji designs) when the corpus asks
# for them (CorpusConfig.real_assets); the others are the same either way.
REAL_ASSET_GENERATORS = {
    "icon_control": icon_control.make_with_real_assets,
    "emoji": emoji.make_with_real_assets,
}
