"""The committed default model answers the three checks of its issue, through the serving path's pieces.

An image of text gives its text, a spacer is decorative, and a cart icon that
is a link's only content names the cart. Run on ``models/bundled`` itself, so a
rebuilt model that loses one of these fails here, not in a user's browser.
"""
import random
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from backend.engine import AltTextEngine
from backend.modelinput import PageContext
from backend.ocr import OcrReader
from corpus import assets
from corpus.render import icon_image, post_card

BUNDLED = Path(__file__).resolve().parents[2] / "models" / "bundled"


@pytest.fixture(scope="module")
def describe():
    engine, reader = AltTextEngine(BUNDLED), OcrReader(timeout_s=60)
    assert engine.trained

    def run(image, **context):
        return engine.describe([image], [PageContext.from_mapping(context)], [reader.read(image)])[0]
    return run


def test_an_image_of_text_is_described_by_its_text(describe):
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 18)
    image = Image.new("RGB", (200, 40), (200, 30, 30))
    ImageDraw.Draw(image).text((12, 8), "Free shipping", font=font, fill="white")
    answer = describe(image, page_title="Shop", file_name="banner.png", width=200, height=40)
    assert answer.description == "Free shipping" and not answer.decorative


def test_a_spacer_gif_is_decorative(describe):
    spacer = Image.new("P", (1, 1))
    spacer.info["transparency"] = 0
    answer = describe(spacer, file_name="spacer.gif", width=1, height=1)
    assert answer.decorative and not answer.low_confidence


def test_a_cart_icon_alone_in_a_cart_link_names_the_cart(describe):
    icon = icon_image(assets.icon("cart-shopping"), "solid", 24, (40, 40, 40))
    answer = describe(icon, control_role="link", control_href="/cart", only_content=True,
                      file_name="cart.png", page_title="Shop", width=24, height=24)
    assert not answer.decorative and "cart" in answer.description.lower()


def test_a_post_screenshot_names_the_handle_it_shows(describe):
    # The model alone writes a handle it saw with this name in training ("@a.khan", "@aishakhan");
    # the served answer carries the one in the image (backend/grounding.py).
    card = post_card(random.Random(0), "Aisha Khan", "khan13", "Power cut on the whole street, send candles",
                     dark=False)
    answer = describe(card, page_title="Social", file_name="screenshot.png", surrounding_text="Same energy",
                      width=card.width, height=card.height)
    assert "@khan13" in answer.description and "Power cut on the whole street" in answer.description


def test_a_real_photograph_is_named_a_photo_and_nothing_more(describe):
    """A photograph of the real-web dev split: the model's guess is unsupported, the kind recogniser
    shipped with the model (kinds.json) is sure of the kind, so the listener hears that and no more."""
    from eval_harness.realweb.records import DEFAULT_ROOT

    photo = Image.open(DEFAULT_ROOT / "18F_18f.gsa.gov" / "images" / "assets__blog__a11yhack__a11yhack.jpg")
    answer = describe(photo.convert("RGB"), width=photo.width, height=photo.height)
    assert answer.description == "Photo, no description available" and answer.low_confidence
    captioned = describe(photo.convert("RGB"), caption="Participants at the accessibility hackathon")
    assert captioned.description == "Photo: Participants at the accessibility hackathon"
