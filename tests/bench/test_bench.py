"""Smoke tests of the benchmark code on tiny inputs: it runs and its arithmetic is right.

Behaviour only: no timing is asserted (speed goals are reported by ``make bench``).
The tiny model fixtures come from tests/conftest.py.
"""
from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from bench import __main__ as cli
from bench.config import BenchConfig
from bench.corpus_data import CorpusImage
from bench.extension import content_script_breakdown, content_script_ms, make_site
from bench.http_bench import Images, knee
from bench.models import ModelSet
from bench.report import Figure, markdown, ratio_figure, write
from bench.timing import interleaved_medians, percentile


def test_percentile_interpolates():
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0], 95) == pytest.approx(2.9)
    assert np.isnan(percentile([], 50))


def test_interleaved_medians_runs_each_function_in_turn():
    calls: list[str] = []
    interleaved_medians([lambda: calls.append("a"), lambda: calls.append("b")], repeats=3, warmup=1)
    assert calls == ["a", "b"] * 4


def test_ratio_figure_checks_its_target():
    assert ratio_figure("s", "x", 10.0, 4.0, minimum=2.0).met is True
    assert ratio_figure("s", "x", 10.0, 6.0, minimum=2.0).met is False
    assert ratio_figure("s", "x", 3.0, 1.0, maximum=2.5).met is False
    assert ratio_figure("s", "x", 3.0, 1.0).met is None


def test_write_gives_json_and_markdown_listing_missed_targets(tmp_path):
    figures = [Figure("http", "cache hit, p50", 7.5, "ms", "< 5 ms", False, note="loaded machine"),
               Figure("model", "speed-up", 3.1, "x", ">= 2x", True)]
    json_path, md_path = write(figures, {"wall_s": 1.0}, tmp_path)
    data = json.loads(json_path.read_text())
    assert [f["name"] for f in data["figures"]] == ["cache hit, p50", "speed-up"]
    missed = md_path.read_text().split("## Targets missed")[1]
    assert "cache hit, p50" in missed and "speed-up" not in missed
    assert "- none" in markdown(figures[1:], {}).split("## Targets missed")[1]


def test_knee_is_the_last_level_that_still_pays():
    assert knee([1, 4, 16], [10.0, 30.0, 31.0]) == 4
    assert knee([1, 4, 16], [10.0, 10.5, 10.6]) == 1
    assert knee([1, 4, 16], [10.0, 20.0, 40.0]) == 16


def test_images_are_distinct_for_the_caches():
    images = Images([Image.new("RGB", (16, 16), (90, 90, 90))])
    encoded = {images.next_b64() for _ in range(300)}
    assert len(encoded) == 300
    Image.open(io.BytesIO(base64.b64decode(next(iter(encoded))))).verify()


def test_content_script_time_counts_stacks_holding_an_extension_frame():
    frame = lambda url: {"url": url, "functionName": "f"}  # noqa: E731
    profile = {
        "nodes": [
            {"id": 1, "callFrame": frame(""), "children": [2, 3]},
            {"id": 2, "callFrame": frame("chrome-extension://abc/content/main.js"), "children": [4]},
            {"id": 3, "callFrame": frame("http://127.0.0.1/page.js")},
            {"id": 4, "callFrame": frame("")},  # a DOM call made by the content script
        ],
        "samples": [2, 4, 3, 1, 2],
        "timeDeltas": [0, 100, 200, 400, 800],  # µs; sample i lasts timeDeltas[i + 1]
    }
    assert content_script_ms(profile) == pytest.approx((100 + 200) / 1000)


def test_content_script_breakdown_charges_the_innermost_extension_function():
    frame = lambda url, name, line: {"url": url, "functionName": name, "lineNumber": line}  # noqa: E731
    profile = {
        "nodes": [
            {"id": 1, "callFrame": frame("", "(root)", -1), "children": [2]},
            {"id": 2, "callFrame": frame("chrome-extension://abc/content/main.js", "scan", 9), "children": [3]},
            {"id": 3, "callFrame": frame("chrome-extension://abc/content/context.js", "", 41), "children": [4]},
            {"id": 4, "callFrame": frame("", "getBoundingClientRect", -1)},  # a DOM call inside context.js
        ],
        "samples": [2, 4, 3, 1, 4],
        "timeDeltas": [0, 100, 200, 400, 800],
    }
    count, top = content_script_breakdown(profile)
    assert count == 4  # every sample but the root's
    assert top == [("(anonymous) (context.js:42)", pytest.approx(0.6)), ("scan (main.js:10)", pytest.approx(0.1))]


def test_generated_page_has_every_image_without_alt(tmp_path):
    site = make_site(tmp_path, 5)
    html = (site / "page.html").read_text()
    assert html.count('<img class="bench"') == 5 and "alt=" not in html
    assert len(list((site / "img").glob("*.png"))) == 5


def test_ocr_gate_figures_on_two_images(tmp_path):
    from bench import ocr_gate

    flat = tmp_path / "flat.png"
    Image.new("RGB", (120, 40), (240, 240, 240)).save(flat)
    text = tmp_path / "text.png"
    image = Image.new("RGB", (160, 40), "white")
    ImageDraw.Draw(image).text((5, 10), "Ticket prices", fill="black")
    image.save(text)
    figures = ocr_gate.run([CorpusImage(flat, "decorative", "val"), CorpusImage(text, "text", "val")],
                           BenchConfig.quick(), reads=1)
    by_name = {f.name: f for f in figures}
    assert by_name["corpus images skipped by the OCR gate"].value == 50.0
    assert by_name["images of text wrongly skipped"].value == 0
    assert by_name["OCR read (cache miss), median"].value > 0  # the image of text was read, as the backend reads it


def test_onnx_greedy_decodes_like_pytorch(tiny_checkpoint, tiny_onnx):
    """The benchmark's batched ONNX loop must do the same work as PyTorch greedy decoding."""
    from transformers import VisionEncoderDecoderModel

    from backend.engine import CPU, OnnxModel
    from backend.modelinput import PageContext
    from bench.model_latency import onnx_greedy, sample_images, torch_greedy

    onnx = OnnxModel(tiny_onnx, providers=[CPU])
    eager = VisionEncoderDecoderModel.from_pretrained(tiny_checkpoint).eval()
    inputs = [onnx.build_input(i, PageContext(caption="x"), "") for i in sample_images(3)]
    pixels = np.stack([m.pixel_values for m in inputs])
    prompt = inputs[0].prompt_ids
    ours = onnx_greedy(onnx, pixels, prompt, 5)
    theirs = torch_greedy(eager, torch.from_numpy(pixels), prompt, 5)[:, len(prompt):].numpy()
    assert ours.shape == theirs.shape == (3, 5)
    for row_ours, row_theirs in zip(ours, theirs):  # PyTorch suppresses EOS until min_new_tokens
        stop = list(row_ours).index(onnx.eos_id) if onnx.eos_id in row_ours else len(row_ours)
        assert list(row_ours[:stop]) == list(row_theirs[:stop])


def test_cli_runs_model_and_training_sections(tiny_checkpoint, tiny_onnx, tmp_path, capsys):
    code = cli.main(["--quick", "--only", "model,training", "--out", str(tmp_path / "out"),
                     "--work", str(tmp_path / "work"), "--checkpoint", str(tiny_checkpoint),
                     "--onnx", str(tiny_onnx)])
    assert code == 0
    data = json.loads((tmp_path / "out" / "latest.json").read_text())
    names = {(f["section"], f["name"]) for f in data["figures"]}
    assert ("model", "ONNX speed-up over PyTorch, batch 1") in names
    assert ("training", "MCM-DPO step cost over DPO step") in names
    assert not [f for f in data["figures"] if f["name"] == "section failed"]
    assert "ONNX speed-up over PyTorch, batch 1" in (tmp_path / "out" / "latest.md").read_text()
    assert "target >= 2x" in capsys.readouterr().out


def test_model_set_describes_an_untrained_served_model(tmp_path):
    models = ModelSet(tmp_path, tmp_path, tmp_path, served_is_bundled=False)
    assert "UNTRAINED" in models.describe()


def test_realweb_sample_is_seeded_even_across_sets_and_without_svg():
    from bench.config import REALWEB_DATA
    from bench.realweb import sample

    first = sample(REALWEB_DATA, 9, seed=0)
    assert [r.id for r in first] == [r.id for r in sample(REALWEB_DATA, 9, seed=0)]
    assert [r.id for r in first] != [r.id for r in sample(REALWEB_DATA, 9, seed=1)]
    assert len(first) == 9 and len({r.set_name for r in first}) == 3
    assert not [r for r in first if r.is_svg]


def test_realweb_page_holds_every_image_without_alt_and_variants_are_distinct(tmp_path):
    from bench.config import REALWEB_DATA
    from bench.realweb import sample, variants, write_page

    records = sample(REALWEB_DATA, 3, seed=0)
    site = write_page(records, tmp_path / "site")
    html = (site / "page.html").read_text()
    assert html.count("<img ") == 3 and " alt=" not in html
    assert len([p for p in (site / "img").rglob("*") if p.is_file()]) == 3
    files = list(variants(records, 5))
    assert len(set(files)) == 5
    for data in files:
        Image.open(io.BytesIO(data)).verify()


def test_timed_wrapper_adds_up_the_calls_it_times():
    from bench.realweb import _Timed

    class Reader:
        enabled = True

        def read(self, image, limit=200):
            return f"text of {image}"

    timed = _Timed(Reader(), "read")
    assert timed.read("a") == "text of a" and timed.enabled is True
    assert timed.spent > 0


def test_page_figures_are_the_median_loads_with_every_load_in_the_notes():
    from bench.realweb import PageLoad, load_figures

    loads = [PageLoad(900, 9000, 1, 20, 20, (500, 900, 1), 5, 20),
             PageLoad(700, None, 1, 20, 18, (400, 700, 1), 4, 18),  # never finished: the slowest
             PageLoad(600, 7000, 1, 20, 20, (450, 600, 1), 6, 20)]
    first, every, request = load_figures(loads, BenchConfig())
    assert (first.value, every.value, request.value) == (900, 9000, 500)  # the median load: 9 s of 7, 9, unfinished
    assert first.met is False and every.met is False
    assert "each: 900, 700, 600 ms" in first.note and "each: 9000, not reached, 7000 ms" in every.note
