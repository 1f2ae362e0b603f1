"""Word banks shared by the category generators: sites, names, image URLs.

Kept small and hand-written so that the corpus reads like real pages and a
reviewer can see every string it can produce.
"""
from __future__ import annotations

import random

SITES = {
    "shop": ["Northwind Outfitters - Tents & Camping Gear", "Bloom & Co. | Flowers delivered",
             "Pixel Parts - PC components", "Little Sprouts Baby Store", "Harbor Books: new & used books"],
    "news": ["The Daily Ledger - Latest news", "Riverside Gazette", "TechWire | Technology news",
             "Metro Evening Post", "Science Today"],
    "social": ["Home / Chirp", "Chirp - What's happening", "Circle: your feed", "Forum - General discussion"],
    "blog": ["Slow Cooking Diaries", "Trail Notes: a hiking blog", "Code & Coffee", "The Frugal Gardener"],
    "app": ["Inbox - Mailbird", "Dashboard - Ledgerly", "Docs - Writeboard", "Photos - Snapvault",
            "Maps - Wayfinder", "Player - Tunebox"],
    "local": ["Rosie's Bakery - Fresh bread daily", "Greenfield Community Pool", "Oak Street Dental Clinic",
              "The Blue Door Bistro", "Hillside Primary School"],
}
NAMES = ["Maya Patel", "Tom Becker", "Aisha Khan", "Leo Rossi", "Sofia Nguyen", "Jonas Berg",
         "Grace Okafor", "Diego Alvarez", "Hannah Lee", "Omar Haddad", "Nina Kowalski", "Sam Carter"]
LANGS = ["en", "en", "en", "en-GB", "en-US"]


def page_title(rng: random.Random, kind: str) -> str:
    return rng.choice(SITES[kind])


def handle(rng: random.Random, name: str) -> str:
    first, last = name.lower().split()
    return rng.choice([f"{first}{last}", f"{first}_{last[0]}", f"{first}.{last}", f"{last}{rng.randrange(10, 99)}"])


def slug(text: str) -> str:
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in text)
    return "-".join(part for part in out.split("-") if part)


def image_src(rng: random.Random, stem: str, ext: str) -> str:
    """A realistic image URL: descriptive, CMS upload, camera-style or hashed (uninformative)."""
    style = rng.randrange(6)
    if style == 0:
        return f"/wp-content/uploads/20{rng.randrange(15, 25)}/{rng.randrange(1, 13):02d}/IMG_{rng.randrange(1000, 9999)}.{ext}"
    if style == 1:
        return f"/media/{rng.getrandbits(40):010x}.{ext}"
    if style == 2:
        return f"https://cdn.example.com/assets/{slug(stem)}-{rng.randrange(100, 999)}.{ext}"
    return f"/static/img/{rng.choice(['', 'btn-', 'ui-', 'icon-'])}{slug(stem)}.{ext}"
