"""``python -m eval_harness.compare --quick`` end to end, and the pieces that keep the comparison honest."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from eval_harness import compare
from eval_harness.metrics import Reference
from eval_harness.runner import EvalExample
from eval_harness.sensitivity import answer_in_context, swap_partners, with_context_of
from backend.modelinput import PageContext
from trainer.data import PreferenceExample


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("compare")
    # two seeds in two processes: the path `make eval` takes on 2 cores
    code = compare.main(["--quick", "--work", str(work), "--out", str(work / "out"), "--jobs", "2"])
    assert code == 0
    return work, json.loads((work / "out" / "comparison.json").read_text())


@pytest.fixture
def preference_configs(monkeypatch, tmp_path):
    """Runs ``trainer.default_model.preference`` for named method rows with training stubbed out, and
    returns the TrainConfig each would have trained with."""
    import trainer.default_model as dm

    configs = []

    class Trained:
        model_dir = tmp_path

    monkeypatch.setattr(dm, "train", lambda cfg, examples: configs.append(cfg) or Trained())

    def run(names, recipe):
        for name in names:
            dm.preference(tmp_path, [], tmp_path / "out", recipe, 0, **dataclasses.asdict(compare.METHODS[name]))
        return configs

    return run


def test_quick_run_writes_report_for_every_method_and_seed(quick_run):
    work, result = quick_run
    out = work / "out"
    assert (out / "comparison.png").stat().st_size > 1000
    md = (out / "comparison.md").read_text()
    assert f"python -m eval_harness.compare --quick --work {work}" in md  # the command that produced it
    assert "2 seeds at once" in md and result["machine"]["jobs"] == 2
    assert result["corpus_mix"]["emoji"] == 0.15 and '"emoji": 0.15' in md  # the default mix, said in the report
    methods = result["config"]["methods"]
    assert methods[0] == "SFT" and "SFT→DPO" in methods and "SFT→MCM-DPO" in methods
    assert sorted(result["seeds"]) == ["0", "1"]
    for name in methods:
        assert f"| {name} " in md or f" {name} |" in md
        for metric in ("CIDEr", "ROUGE-L", "acc[text]", "image_logp_drop"):
            stats = result["summary"][name][metric]
            if name == "SFT":  # one SFT run is the shared starting point of every seed
                assert stats["n"] == 1 and math.isfinite(stats["mean"]) and stats["std"] is None  # NaN in JSON
            else:
                assert stats["n"] == 2 and math.isfinite(stats["mean"]) and math.isfinite(stats["std"])
    for seed in result["seeds"].values():
        assert set(seed["scores"]) == set(methods)
        assert 0 <= seed["scores"]["SFT"]["CIDEr"] and 0 <= seed["scores"]["SFT"]["decorative_agreement"] <= 1


def test_the_chosen_rows_are_judged_on_real_pages_as_served(quick_run):
    from eval_harness.realweb.records import DEFAULT_ROOT

    work, result = quick_run
    realweb = result["realweb"]
    # the corpus's test split reports, so does the real-web test split; quick runs sample 2 images per set
    assert realweb["split"] == "test" and realweb["methods"] == ["SFT", "SFT→MCM-DPO"] and realweb["per_set"] == 2
    assert 0 < realweb["images"] <= 2 * len([d for d in DEFAULT_ROOT.iterdir() if d.is_dir()])
    summary = result["summary"]
    for name, runs in (("SFT", 1), ("SFT→MCM-DPO", 2)):
        assert summary[name]["realweb.images"]["mean"] == realweb["images"]
        shares = [summary[name][f"realweb.{k}_share"] for k in ("grounded", "ungrounded", "hidden", "honest")]
        assert all(s["n"] == runs and 0 <= s["mean"] <= 1 for s in shares)
        assert sum(s["mean"] for s in shares) <= 1 + 1e-9  # the rest: unanswered
    for name in ("SFT→DPO", "MCM-DPO[response+image]"):  # not chosen: not exported, no real-web figure
        assert summary[name]["realweb.grounded_share"]["n"] == 0
    assert not list(work.rglob("*-onnx"))  # each exported model is removed once judged
    md = (work / "out" / "comparison.md").read_text()
    section = md.split("## Real pages", 1)[1]
    assert f"{realweb['images']} images (2 per set, a seeded sample;" in section and "| realweb.honest_share |" in section
    assert section.split("\n\n")[2].splitlines()[0] == "| metric | SFT | SFT→MCM-DPO |"


def test_no_real_web_data_means_no_real_web_rows_and_the_report_says_so(tmp_path, caplog):
    config = compare.parse_args(["--quick", "--realweb", str(tmp_path / "missing")])
    assert compare.real_web(config, tmp_path) is None and "no real-web data" in caplog.text
    assert compare.parse_args(["--quick", "--realweb", "none"]).realweb is None
    assert compare.parse_args(["--split", "val"]).realweb_split == "dev"  # choose on dev


def test_every_preference_method_gets_the_same_budget_from_the_same_sft(quick_run):
    work, result = quick_run
    for seed, data in result["seeds"].items():
        steps = {m: s for m, s in data["steps"].items() if m != "SFT"}
        assert len(set(steps.values())) == 1 and next(iter(steps.values())) >= 1, steps
        for method in steps:
            trained = json.loads((work / f"seed-{seed}" / compare._slug(method) / "final" /
                                  "altlens_training.json").read_text())["config"]
            assert Path(trained["model_name_or_path"]) == work / "sft-start" / "sft" / "best"
            assert trained["seed"] == int(seed)


def test_evaluated_examples_were_never_trained_on(quick_run):
    work, result = quick_run
    corpus = work / "corpus"
    split_ids = {s: {json.loads(line)["id"] for line in (corpus / f"{s}.jsonl").read_text().splitlines()}
                 for s in ("train", "val", "test")}
    assert result["honesty"]["test_ids_in_train_or_val"] == 0
    for seed in result["seeds"].values():
        ids = json.loads(Path(seed["ids_file"]).read_text())
        assert ids["evaluated"] and set(ids["evaluated"]) <= split_ids["test"]
        assert set(ids["sft"]) <= split_ids["train"] and set(ids["pairs"]) <= split_ids["train"]
        assert not set(ids["evaluated"]) & (set(ids["sft"]) | set(ids["pairs"]))
    assert result["test_examples"] == len(split_ids["test"])


def test_the_validation_split_serves_to_choose_and_says_so(quick_run, tmp_path):
    work, _ = quick_run
    corpus = work / "corpus"
    val_ids = {json.loads(line)["id"] for line in (corpus / "val.jsonl").read_text().splitlines()}
    out = tmp_path / "out"
    assert compare.main(["--quick", "--corpus", str(corpus), "--work", str(tmp_path), "--out", str(out),
                         "--split", "val", "--seeds", "0", "--methods", "SFT→DPO",
                         "--sft-checkpoint", str(work / "sft-start" / "sft" / "best")]) == 0
    result = json.loads((out / "comparison.json").read_text())
    ids = json.loads(Path(result["seeds"]["0"]["ids_file"]).read_text())
    assert set(ids["evaluated"]) == val_ids and result["test_examples"] == len(val_ids)
    md = (out / "comparison.md").read_text()
    assert "(held-out val split)" in md and "the test split reports" in md
    assert result["realweb"]["split"] == "dev" and result["realweb"]["methods"] == ["SFT"]  # choose on dev


def test_own_mistake_pairs_reject_exactly_the_answers_the_model_got_wrong(quick_run, monkeypatch):
    from eval_harness.runner import CheckpointDescriber, Prediction

    work, _ = quick_run
    train = compare.load_split(work / "corpus", "train", compare.no_ocr(work / "corpus"))
    checkpoint = work / "sft-start" / "sft" / "best"
    records = compare.clean_examples(train)

    # the real model: every pair rejects what it really answered, and only where that was wrong
    pairs = compare.own_mistake_pairs(checkpoint, train)
    assert pairs and all(p.is_pair and p.meta["rejected_from"] == "model" for p in pairs)
    assert all((p.rejected, p.rejected_decorative) != (p.chosen, p.chosen_decorative) for p in pairs)

    # right answers (up to case and edge punctuation) give no pair; wrong words and wrong "decorative" do
    def answers(self, examples):
        out = []
        for i, e in enumerate(examples):
            ref = e.example.chosen
            out.append([Prediction(ref.upper() + ".", e.example.chosen_decorative),
                        Prediction("photo of " + ref, False),
                        Prediction(ref, not e.example.chosen_decorative)][i % 3])
        return out

    monkeypatch.setattr(CheckpointDescriber, "describe", answers)
    pairs = compare.own_mistake_pairs(checkpoint, train)
    expected = [r for i, r in enumerate(records) if i % 3]
    assert [p.meta["id"] for p in pairs] == [r.meta["id"] for r in expected]
    for p, r in zip(pairs, expected):
        assert (p.chosen, p.chosen_decorative, p.image_path, p.context) == (r.chosen, r.chosen_decorative,
                                                                             r.image_path, r.context)
        assert p.rejected in ("photo of " + r.chosen, r.chosen)


def test_feedback_pairs_come_from_the_sft_model_as_the_engine_serves_it(quick_run, tmp_path):
    work, _ = quick_run
    config = dataclasses.replace(compare.quick_config(tmp_path, tmp_path / "out"), pref_records=30, seeds=(0, 1))
    train = compare.load_split(work / "corpus", "train", compare.no_ocr(work / "corpus"))
    pairs, summary = compare.simulated_feedback_pairs(config, work / "sft-start" / "sft" / "best", train)
    assert (tmp_path / "sft-onnx" / "altlens.json").is_file()  # exported and parity-checked, then served
    seeds_records = {e.meta["id"] for s in (0, 1) for e in compare._subset(train, 30, s)}
    assert summary["records"] == len(seeds_records) and summary["pairs"] == len(pairs) <= len(seeds_records)
    assert summary["chosen_is_reference"] + summary["chosen_is_not_reference"] == len(pairs)
    written = [json.loads(line) for line in (tmp_path / "feedback-pairs.jsonl").read_text().splitlines()]
    assert [(w["id"], w["chosen"], w["rejected"]) for w in written] == [(p.meta["id"], p.chosen, p.rejected)
                                                                        for p in pairs]
    for p in pairs:  # the API's rules: thumbs-up pairs weigh half, picks in full
        assert p.meta["id"] in seeds_records and (p.chosen, p.chosen_decorative) != (p.rejected, p.rejected_decorative)
        assert p.weight == {"rate": 0.5, "pick": 1.0}[p.meta["feedback"]]


def test_each_seed_trains_on_the_feedback_pairs_of_its_own_records(quick_run, monkeypatch, tmp_path):
    work, _ = quick_run
    train = compare.load_split(work / "corpus", "train", compare.no_ocr(work / "corpus"))
    feedback = [dataclasses.replace(e, chosen="picked " + e.meta["reference"], rejected="answer",
                                    meta={**e.meta, "feedback": "pick"}) for e in compare.clean_examples(train)][::2]
    trained = {}

    def fake_preference(start, examples, out, recipe, seed, **method):
        trained[(seed, method["objective"])] = examples
        out.mkdir(parents=True)
        (out / "altlens_training.json").write_text(json.dumps({"steps": len(examples)}))
        return out

    monkeypatch.setattr(compare, "preference", fake_preference)
    config = dataclasses.replace(compare.quick_config(tmp_path, tmp_path / "out"), pref_records=30,
                                 methods=("SFT", "SFT→chosen NLL", "SFT→DPO"))
    for seed in (0, 1):
        compare.train_preferences(config, work / "sft-start" / "sft" / "best", train, seed, feedback)
        ids = {e.meta["id"] for e in compare._subset(train, 30, seed)}
        expected = [e for e in feedback if e.meta["id"] in ids]
        assert expected and trained[(seed, "chosen_nll")] == trained[(seed, "dpo")] == expected
    config = compare.parse_args(["--pairs", "feedback", "--pref-records", "500"])
    assert (config.pairs, config.pref_records) == ("feedback", 500)
    assert compare.parse_args([]).pairs == "corpus"


def test_a_reused_sft_checkpoint_must_match_the_recipe(quick_run, tmp_path):
    work, result = quick_run
    config = compare.quick_config(work, tmp_path)
    checkpoint = work / "sft-start" / "sft" / "best"
    ocr = compare.no_ocr(work / "corpus")
    train_split = compare.load_split(work / "corpus", "train", ocr)
    sft_data = compare.sft_examples(train_split)
    reused = dataclasses.replace(config, sft_checkpoint=checkpoint)
    assert compare._checked_sft_checkpoint(reused, sft_data) == checkpoint
    other_recipe = dataclasses.replace(reused, recipe=dataclasses.replace(config.recipe, sft_lr=3e-4))
    with pytest.raises(SystemExit, match="learning_rate"):
        compare._checked_sft_checkpoint(other_recipe, sft_data)
    with pytest.raises(SystemExit, match="examples"):
        compare._checked_sft_checkpoint(reused, sft_data[:-1])
    other_tokens = dataclasses.replace(reused, recipe=dataclasses.replace(config.recipe,
                                                                          pointers=not config.recipe.pointers))
    with pytest.raises(SystemExit, match="pointers"):  # its answers are encoded another way
        compare._checked_sft_checkpoint(other_tokens, sft_data)
    redrawn = dataclasses.replace(reused, recipe=dataclasses.replace(config.recipe, training_seed=5))
    with pytest.raises(SystemExit, match="seed"):  # same corpus, other weights
        compare._checked_sft_checkpoint(redrawn, sft_data)


def _write_split(folder: Path, split: str, records: list[dict]) -> None:
    (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_honesty_checks_refuse_a_leaking_split(tmp_path):
    record = {"id": "s0-1", "image_path": "images/a.png", "context": {"heading": "Menu"}}
    other = {"id": "s0-2", "image_path": "images/b.png", "context": {"heading": "Menu"}}
    _write_split(tmp_path, "train", [record])
    _write_split(tmp_path, "val", [])
    _write_split(tmp_path, "test", [other])
    assert compare.honesty_checks(tmp_path)["test_ids_in_train_or_val"] == 0
    _write_split(tmp_path, "test", [other, dict(record, id="s0-3")])  # same image and context as a train record
    with pytest.raises(SystemExit, match="leaks"):
        compare.honesty_checks(tmp_path)
    _write_split(tmp_path, "test", [record])
    with pytest.raises(SystemExit, match="leaks"):
        compare.honesty_checks(tmp_path)


def test_prepare_corpus_never_overwrites_another_corpus(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"seed": 0, "size": 4000}))
    config = compare.quick_config(tmp_path, tmp_path / "out")
    config = compare.dataclasses.replace(config, corpus_dir=tmp_path)
    with pytest.raises(SystemExit, match="another --corpus"):
        compare.prepare_corpus(config)
    assert json.loads((tmp_path / "manifest.json").read_text())["size"] == 4000


def test_prepare_corpus_makes_the_asked_mix_and_never_reuses_another(tmp_path):
    config = compare.parse_args(["--quick", "--work", str(tmp_path), "--corpus", str(tmp_path / "mixed"),
                                 "--category-weights", "emoji=2.85"])
    assert config.category_weights["emoji"] == 2.85 and config.category_weights["text"] == 0.28
    manifest = json.loads((compare.prepare_corpus(config) / "manifest.json").read_text())
    assert manifest["category_weights"] == config.category_weights
    assert sum(v["categories"]["emoji"] for v in manifest["splits"].values()) >= 70  # of 100; the default gives 15
    assert compare.prepare_corpus(config) == tmp_path / "mixed"  # the same mix is reused
    default_mix = compare.dataclasses.replace(config, category_weights=None)
    with pytest.raises(SystemExit, match="another --corpus"):
        compare.prepare_corpus(default_mix)


def test_corpus_seed_draws_another_corpus_and_keeps_the_training_seed(tmp_path):
    config = compare.parse_args(["--quick", "--work", str(tmp_path), "--corpus", str(tmp_path / "other"),
                                 "--corpus-seed", "7"])
    assert config.recipe.seed == 7
    assert config.recipe.train_seed == compare.parse_args(["--quick"]).recipe.train_seed
    drawn = json.loads((compare.prepare_corpus(config) / "manifest.json").read_text())
    first = json.loads((compare.prepare_corpus(compare.dataclasses.replace(
        config, corpus_dir=tmp_path / "seed0", recipe=compare.parse_args(["--quick"]).recipe)) / "manifest.json").read_text())
    assert drawn["seed"] == 7 and first["seed"] == 0
    assert (tmp_path / "other" / "train.jsonl").read_text() != (tmp_path / "seed0" / "train.jsonl").read_text()
    with pytest.raises(SystemExit, match="another --corpus"):  # a folder holds one draw
        compare.prepare_corpus(compare.dataclasses.replace(config, corpus_dir=tmp_path / "seed0"))


def test_summary_is_mean_and_sample_std_over_seeds():
    per_seed = {str(s): {"scores": {"SFT": {"CIDEr": 0.9}, "SFT→DPO": {"CIDEr": v, "ROUGE-L": 0.5}}}
                for s, v in enumerate([0.1, 0.2, 0.6])}
    both = compare.summarize(per_seed, ["SFT", "SFT→DPO"])
    assert both["SFT"]["CIDEr"]["n"] == 1  # the shared SFT run counts once, not once per seed
    summary = both["SFT→DPO"]
    assert summary["CIDEr"]["mean"] == pytest.approx(0.3)
    assert summary["CIDEr"]["std"] == pytest.approx(math.sqrt(((0.2) ** 2 + 0.1 ** 2 + 0.3 ** 2) / 2))
    assert summary["ROUGE-L"] == {"mean": 0.5, "std": 0.0, "n": 3}
    assert summary["BLEU-4"]["n"] == 0  # never measured: not silently zero


def _example(i: int, category: str, reference: str, **context) -> EvalExample:
    ctx = PageContext.from_mapping(context)
    pe = PreferenceExample(context=ctx, chosen=reference, meta={"id": f"s0-{i}"})
    return EvalExample(f"test:s0-{i}", pe, Reference([reference], reference == "", category))


def test_swap_partners_pick_same_category_with_another_answer():
    examples = [_example(0, "icon_control", "Search"), _example(1, "icon_control", "Search"),
                _example(2, "icon_control", "Zoom in"), _example(3, "text", "Our Menu"),
                _example(4, "text", "Sale")]
    partners = swap_partners(examples, seed=0)
    assert partners[0] == 2 and partners[1] == 2 and partners[2] in (0, 1)
    assert partners[3] == 4 and partners[4] == 3
    swapped = with_context_of(examples[3], _example(9, "text", "x", heading="Other page"))
    assert swapped.context.heading == "Other page" and swapped.reference.texts == ["Our Menu"]
    assert swap_partners([_example(0, "text", "a")]) == [-1]


def test_answer_in_context_needs_every_word_of_the_alt():
    assert answer_in_context(_example(0, "icon_control", "Account", control_href="/account"))
    assert answer_in_context(_example(1, "text", "Our menu!", heading="OUR MENU"))
    assert not answer_in_context(_example(2, "text", "Our menu", heading="Menu"))
    assert not answer_in_context(_example(3, "decorative", "", heading="Menu"))


def test_pointed_sets_the_comparisons_pointer_recipe(tmp_path):
    shipped = compare.parse_args(["--work", str(tmp_path)])
    assert shipped.recipe == compare.Recipe()  # the comparison trains what `make model` ships
    none = compare.parse_args(["--work", str(tmp_path), "--pointed", "none"])
    assert not none.recipe.pointers and none.recipe.pointed_categories is None
    every = compare.parse_args(["--work", str(tmp_path), "--pointed", "all"])
    assert every.recipe.pointers and every.recipe.pointed_categories is None
    charts = compare.parse_args(["--work", str(tmp_path), "--pointed", "text", "chart"])
    assert charts.recipe.pointers and charts.recipe.pointed_categories == ("text", "chart")
    assert dataclasses.replace(charts.recipe, pointed_categories=None) == every.recipe


def test_a_methods_norm_reaches_the_mcm_dpo_loss_and_only_it(preference_configs):
    import trainer.default_model as dm

    recipe = dm.Recipe(norm=None)
    configs = preference_configs(("SFT→MCM-DPO", "MCM-DPO[norm 1]", "MCM-DPO[same-category, norm 1]", "SFT→DPO"),
                                 recipe)
    assert [c.norm for c in configs] == [None, 1.0, 1.0, None]  # None: the paper's sum of the weights
    assert [c.partners for c in configs] == ["any", "any", "same_category", recipe.partners]


def test_the_anchor_only_row_trains_nll_on_the_chosen_texts_and_other_rows_change_one_knob(preference_configs):
    import trainer.default_model as dm

    recipe = dm.Recipe()
    names = ("SFT→chosen NLL", "SFT→DPO", "SFT→DPO[beta 1]", "MCM-DPO[same-category, beta 1]",
             "SFT→DPO[anchor 0.1]", "MCM-DPO[same-category, anchor 0.1]")
    configs = preference_configs(names, recipe)
    assert [c.objective for c in configs] == ["sft", "dpo", "dpo", "mcm_dpo", "dpo", "mcm_dpo"]
    assert [c.beta for c in configs] == [recipe.beta, recipe.beta, 1.0, 1.0, recipe.beta, recipe.beta]
    assert [c.rpo_alpha for c in configs] == [recipe.rpo_alpha] * 4 + [0.1, 0.1]
    assert len({(c.learning_rate, c.epochs, c.batch_size, c.seed) for c in configs}) == 1  # same steps


def test_epoch_and_image_weight_rows_change_only_their_knob(preference_configs):
    import trainer.default_model as dm

    recipe = dm.Recipe()
    names = ("SFT→DPO", "SFT→DPO[2 epochs]", "MCM-DPO[same-category negatives]", "MCM-DPO[same-category, 2 epochs]",
             "MCM-DPO[same-category, swapped images, image x4]")
    configs = preference_configs(names, recipe)
    assert [c.epochs for c in configs] == [recipe.pref_epochs, 2, recipe.pref_epochs, 2, recipe.pref_epochs]
    assert [c.facet_weights.r2 for c in configs[2:]] == [0.5, 0.5, 2.0]
    assert configs[4].corruption == "swap" and configs[4].partners == "same_category"
    assert configs[2].facet_weights == configs[3].facet_weights  # only the epochs differ
    assert dataclasses.replace(configs[4].facet_weights, r2=0.5) == configs[2].facet_weights


def test_wrong_negatives_row_changes_only_which_negatives_count(preference_configs):
    import trainer.default_model as dm

    swapped, only_wrong = preference_configs(("MCM-DPO[same-category, swapped images, image x4]",
                                              "MCM-DPO[same-category, swapped images, image x4, wrong negatives only]"),
                                             dm.Recipe())
    assert (swapped.only_wrong_negatives, only_wrong.only_wrong_negatives) == (False, True)
    assert dataclasses.replace(swapped, only_wrong_negatives=True) == only_wrong


def test_response_image_row_keeps_the_shipped_rows_image_facet_and_drops_the_context_ones(preference_configs):
    import trainer.default_model as dm

    swapped, response_image = preference_configs(("MCM-DPO[same-category, swapped images, image x4]",
                                                  "MCM-DPO[same-category, swapped images, image x4, response+image]"),
                                                 dm.Recipe())
    assert response_image.facet_weights.enabled() == ["response", "image"]
    assert (response_image.facet_weights.r3, response_image.facet_weights.r2) == (1.0, 2.0)
    assert dataclasses.replace(swapped, facet_weights=response_image.facet_weights) == response_image


def test_make_model_trains_the_preference_stage_of_the_row_it_ships(preference_configs, tmp_path):
    import trainer.default_model as dm

    name = "MCM-DPO[same-category, swapped images, image x4, response+image]"
    eval_row = preference_configs((name,), dm.Recipe())[-1]
    dm.preference(tmp_path, [], tmp_path / "out", dm.BUNDLED_RECIPE, 0)  # what `make model` calls
    shipped = preference_configs((), dm.BUNDLED_RECIPE)[-1]
    assert (shipped.objective, shipped.partners, shipped.corruption) == ("mcm_dpo", "same_category", "swap")
    assert shipped.facet_weights == eval_row.facet_weights and shipped.facet_weights.r2 == 2.0
    assert shipped.facet_weights.enabled() == ["response", "image"]
    assert name in compare.DEFAULT_METHODS
