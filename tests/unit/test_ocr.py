"""OCR reads real text with rapidocr's bundled models, and skips what cannot hold text."""
from PIL import Image, ImageDraw, ImageFont

from backend.ocr import OcrReader, TextRead, likely_has_text


def text_image(text="Add to cart"):
    img = Image.new("RGB", (170, 40), "white")
    ImageDraw.Draw(img).text((8, 8), text, fill="black", font=ImageFont.load_default(size=20))
    return img


def test_reads_text_and_caches_it():
    reader = OcrReader(enabled=True, timeout_s=30)
    assert reader.read(text_image()) == "Add to cart"
    assert reader.read(text_image()) == "Add to cart"
    assert reader.stats["read"] == 1 and reader.stats["cached"] == 1


def test_skips_spacers_and_flat_images_without_running_ocr():
    reader = OcrReader(enabled=True)
    assert reader.read(Image.new("RGB", (1, 1))) == ""
    assert reader.read(Image.new("RGB", (300, 200), (200, 30, 30))) == ""
    assert reader.stats["skipped"] == 2 and reader.stats["read"] == 0
    assert likely_has_text(text_image())


def test_disabled_reader_reads_nothing():
    assert OcrReader(enabled=False).read(text_image()) == ""


def test_a_read_past_its_budget_is_abandoned():
    reader = OcrReader(enabled=True, timeout_s=0.001)
    assert reader.read(text_image("Slow text here")) == ""
    assert reader.stats["timed_out"] == 1


def test_warm_up_loads_the_models_before_the_first_read():
    reader = OcrReader(timeout_s=60)
    reader.warm_up()
    reader._pool.submit(lambda: None).result(timeout=120)  # the pool runs one job at a time: warm-up is done
    assert reader._engine is not None
    idle = OcrReader(enabled=False)
    idle.warm_up()
    assert idle._engine is None


class _Found:
    def __init__(self, texts):
        self.txts, self.scores = tuple(texts), tuple(0.9 for _ in texts)


class _ManyBoxes:
    """A stand-in rapidocr engine that detects 60 boxes (a screenshot), each read as a ten-letter word."""

    def __init__(self):
        self.recognised = 0

    def preprocess_img(self, pixels):
        return pixels, {}

    def detect_and_crop(self, pixels, record):
        return [pixels] * 60, None

    def recognize_txt(self, crops):
        self.recognised += len(crops)
        return _Found(["abcdefghij"] * len(crops))


def test_boxes_are_recognised_in_reading_order_until_the_prompt_has_its_text():
    import numpy as np

    from backend.modelinput import OCR_LIMIT
    from backend.ocr import BOX_BATCH, STAGES, read_text

    engine, seconds = _ManyBoxes(), {stage: 0.0 for stage in STAGES}
    text = read_text(engine, np.zeros((8, 8, 3), np.uint8), seconds).text
    words_needed = -(-OCR_LIMIT // len("abcdefghij "))  # the words it takes to fill the prompt's share
    batches = -(-words_needed // BOX_BATCH)
    assert engine.recognised == batches * BOX_BATCH < 60  # the rest were never recognised
    assert text.startswith("abcdefghij abcdefghij") and len(text) <= OCR_LIMIT
    assert seconds["detect"] > 0 and seconds["recognise"] > 0


def test_a_shorter_read_stops_at_the_box_that_reaches_its_limit_never_inside_a_word():
    import numpy as np

    from backend.ocr import STAGES, read_text

    engine, seconds = _ManyBoxes(), {stage: 0.0 for stage in STAGES}
    text = read_text(engine, np.zeros((8, 8, 3), np.uint8), seconds, limit=30).text
    assert engine.recognised == 3  # boxes one at a time: the third reaches 30 characters
    assert text == "abcdefghij abcdefghij abcdefghij"  # every box it read, whole


def test_the_cache_keeps_a_shorter_read_apart_from_a_full_one(monkeypatch):
    reader = OcrReader(enabled=True, timeout_s=30)
    limits = []
    monkeypatch.setattr(reader, "_recognise", lambda image, limit: limits.append(limit) or TextRead(f"read {limit}"))
    assert reader.read(text_image(), 80) == "read 80"
    assert reader.read(text_image()) == "read 200"
    assert reader.read(text_image(), 80) == "read 80" and limits == [80, 200]


class _Boxes:
    """A stand-in rapidocr engine with boxes of given heights (a page title among smaller text)."""

    def __init__(self, lines):
        self.lines = lines  # (text, height, score)

    def preprocess_img(self, pixels):
        return pixels, {}

    def detect_and_crop(self, pixels, record):
        import numpy as np

        class Detected:
            boxes = np.array([[[0, 0], [100, 0], [100, h], [0, h]] for _, h, _ in self.lines], dtype=float)
        return list(range(len(self.lines))), Detected()

    def recognize_txt(self, crops):
        found = _Found([self.lines[i][0] for i in crops])
        found.scores = tuple(self.lines[i][2] for i in crops)
        return found


def test_the_title_is_the_largest_text_read_in_reading_order():
    import numpy as np

    from backend.ocr import STAGES, read_text

    lines = [("uscis.gov", 12, 0.9), ("Welcome to myUSCIS", 30, 0.95), ("Sign in", 12, 0.9),
             ("Your account", 26, 0.9), ("blurred giant", 60, 0.3)]  # a doubtful read never sets the height
    found = read_text(_Boxes(lines), np.zeros((8, 8, 3), np.uint8), {stage: 0.0 for stage in STAGES})
    assert found.text == "uscis.gov Welcome to myUSCIS Sign in Your account"  # the model's input, as before
    assert found.title == "Welcome to myUSCIS"  # 26 px is under 90% of 30 px
    short = read_text(_Boxes(lines), np.zeros((8, 8, 3), np.uint8), {stage: 0.0 for stage in STAGES}, limit=9)
    assert short.text == "uscis.gov" and short.title == "uscis.gov"  # only the boxes read can be the title


def test_box_heights_measure_across_the_letters():
    from backend.ocr import box_heights

    slanted = [[[0, 0], [100, 10], [100, 30], [0, 20]]]
    assert box_heights(slanted, 1) == [20.0]
    assert box_heights(None, 2) == [0.0, 0.0]


def test_a_page_s_title_is_read_as_its_title():
    page = Image.new("RGB", (640, 260), "white")
    draw = ImageDraw.Draw(page)
    draw.text((20, 14), "Sign in", fill="black", font=ImageFont.load_default(size=14))
    draw.text((20, 50), "Buy a tree permit", fill="black", font=ImageFont.load_default(size=40))
    for row, line in enumerate(("Cut your own tree in a national forest", "Permits are sold online every year")):
        draw.text((20, 130 + 34 * row), line, fill="black", font=ImageFont.load_default(size=18))
    found = OcrReader(timeout_s=60).read_with_title(page)
    assert "Sign in" in found.text and "national forest" in found.text
    assert found.title == "Buy a tree permit"
