"""What a category generator hands back before noise, splitting and writing."""
from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image


@dataclass
class Draft:
    """One example as a category generator makes it.

    ``html`` is the DOM fragment with the target ``<img>`` (the only one without
    an ``alt`` attribute) in place; ``visual`` says what the picture shows, which
    is what a sighted but purpose-blind describer would write, and feeds the
    long-caption and described-decorative defects; ``near_misses`` are wrong but
    plausible answers (another action for the same icon, a typo, a wrong chart
    maximum) and always go to ``rejected``. ``asset`` names the real asset the
    picture is drawn from where it is one the test split must not share with
    training ("brand:github", "flag:de", "emoji:twemoji:fire"); "" for the others.
    """

    category: str
    image: Image.Image
    image_format: str  # "PNG" or "GIF"
    html: str
    page_title: str
    reference: str
    decided_by: str  # "context", "image" or "both"
    visual: str
    near_misses: list[str] = field(default_factory=list)
    lang: str = "en"
    asset: str = ""

    @property
    def decorative(self) -> bool:
        return self.reference == ""
