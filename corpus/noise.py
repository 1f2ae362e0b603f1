"""Real-world alt-text defects: noisy SFT targets and rejected alternatives.

The paper's premise is that alt text written by people is noisy while
preferences between texts are cleaner, so the SFT target of a fixed share of
examples is replaced by a defect, and every example's ``rejected`` list holds
the defects plus the category's near misses (preference pairs chosen=reference).
"""
from __future__ import annotations

import random

from backend.modelinput import PageContext
from corpus.draft import Draft

# How often each applicable defect is picked for a noisy SFT target.
DEFECT_WEIGHTS = {"file_name": 2, "generic": 2, "click_here": 1, "post_copy": 2, "long_caption": 1,
                  "wrong_item": 2, "empty": 1, "described_decorative": 2}
GENERIC = ["image", "icon", "graphic", "picture", "img", "photo"]
CLICK_HERE = ["click here", "link", "button", "click", "here"]


# The rambling caption defect; eval_harness.realweb.judge recognises its fixed words in answers.
LONG_CAPTION = ("This image shows {visual} {where}. It appears next to the other content and was added to "
                "make the page look more attractive and easier to use for all of the visitors who come here.")


def _long_caption(draft: Draft, context: PageContext) -> str:
    where = f'on the page "{context.page_title}"' if context.page_title else "on this page"
    return LONG_CAPTION.format(visual=draft.visual, where=where)


def defects(draft: Draft, context: PageContext, rng: random.Random) -> dict[str, str]:
    """Every defect that fits this example, by type (an ordered dict: the order is stable)."""
    out: dict[str, str] = {"file_name": context.file_name or "image.png", "generic": rng.choice(GENERIC)}
    if context.control_role:
        out["click_here"] = rng.choice(CLICK_HERE)
    nearby = context.surrounding_text or context.caption or context.control_text
    if nearby and nearby.casefold() != draft.reference.casefold():
        out["post_copy"] = nearby
    out["long_caption"] = _long_caption(draft, context)
    if draft.decorative:
        out["described_decorative"] = draft.visual[:1].upper() + draft.visual[1:]
    else:
        out["wrong_item"] = draft.near_misses[0]
        out["empty"] = ""
    return out


def pick_defect(available: dict[str, str], rng: random.Random) -> str:
    names = list(available)
    return rng.choices(names, [DEFECT_WEIGHTS[name] for name in names])[0]


def rejected(draft: Draft, available: dict[str, str], limit: int) -> list[str]:
    """Near misses first, then defects; never the reference, no repeats, "" only for meaningful images.

    An empty string stands for alt="" (decorative), the same convention as ``reference``.
    """
    out: list[str] = []
    seen = {draft.reference.casefold()}
    for text in [*draft.near_misses, *available.values()]:
        key = text.casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(text)
    if len(out) > limit:
        # Keep "" (a wrong "decorative") whenever it applies: the most harmful mistake for a screen-reader user.
        keep_empty = "" in out
        out = [t for t in out if t != ""][: limit - keep_empty] + ([""] if keep_empty else [])
    return out
