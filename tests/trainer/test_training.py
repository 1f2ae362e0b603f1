"""SFT, DPO and MCM-DPO end to end on a tiny ViT + GPT-2 and the paper's sample, on CPU.

Also: the packing that keeps context tokens out of the loss, resume from a
checkpoint, LoRA with the adapter-disabled base as reference, the CLI, and a
2-process data-parallel run under ``accelerate launch``.
"""
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from trainer.batches import ComboCollator, EncodedPreferences
from trainer.config import TrainConfig
from trainer.data import load_paper
from trainer.losses import COMBINATIONS
from trainer.modeling import VisionEncoderDecoderPolicy, pack_sequences
from trainer.train import METRICS_FILE, combination_keys, compute_loss, mean_nll, score_preferences, train

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def examples(sample_dir):
    """8 Twitter pairs: few and short enough for quick steps, real format and images."""
    loaded = load_paper(sample_dir / "twitter" / "twitter_train.json")
    assert len(loaded) == 10
    return loaded.examples[:8]


def config(tiny_checkpoint, tmp_path, **changes) -> TrainConfig:
    values = dict(model_name_or_path=str(tiny_checkpoint), checkpoint_dir=str(tmp_path / "run"),
                  learning_rate=1e-3, epochs=1, batch_size=4, seed=0, device="cpu")
    values.update(changes)
    return TrainConfig(**values)


def read_metrics(cfg: TrainConfig) -> list[dict]:
    return [json.loads(line) for line in (Path(cfg.checkpoint_dir) / METRICS_FILE).read_text().splitlines()]


def test_pack_sequences_masks_exactly_the_response_targets():
    packed = pack_sequences([[1, 2, 3], [1, 2]], [[7, 8, 0], [9, 0]], pad_id=0)
    assert packed.input_ids.tolist() == [[1, 2, 3, 7, 8, 0], [1, 2, 9, 0, 0, 0]]
    # targets are input_ids[:, 1:]; only response tokens (7, 8, 0 / 9, 0) count, never prompt or padding
    assert packed.response_mask.tolist() == [[0, 0, 1, 1, 1], [0, 1, 1, 0, 0]]
    assert packed.attention_mask.tolist() == [[1] * 6, [1, 1, 1, 1, 0, 0]]


def test_batched_combinations_equal_one_by_one_scoring(tiny_checkpoint, examples):
    """Encoding each image once and batching the 8 decoder passes changes no log-prob."""
    policy = VisionEncoderDecoderPolicy.from_pretrained(tiny_checkpoint).eval()
    dataset = EncodedPreferences(examples, policy.tokenizer, policy.image_processor, seed=1)
    batch = ComboCollator(list(COMBINATIONS), policy.pad_id, policy.max_length)([dataset[0], dataset[1]])
    assert batch.pixel_values.shape[0] == 4  # 2 samples × (true, corrupted): not 16 images
    with torch.no_grad():
        together = batch.split(policy(batch.pixel_values, batch.image_index, batch.seqs))
        for key in COMBINATIONS:
            for row, item in enumerate((dataset[0], dataset[1])):
                response, image, context = key.split("_")
                pixels = item.pixels if image == "w" else item.corrupted
                seqs = pack_sequences([item.prompt if context == "w" else item.swapped_prompt],
                                      [item.chosen if response == "w" else item.rejected], policy.pad_id,
                                      policy.max_length)
                alone = policy(pixels[None], torch.tensor([0]), seqs)
                assert torch.allclose(together[key][row], alone[0], atol=1e-4), key


@pytest.mark.parametrize("objective", ["sft", "dpo"])
def test_sft_and_dpo_run_end_to_end(objective, tiny_checkpoint, examples, tmp_path):
    cfg = config(tiny_checkpoint, tmp_path, objective=objective, epochs=2)
    result = train(cfg, examples, max_steps=3, progress=False)
    assert result.steps == 3
    metrics = read_metrics(cfg)
    assert [m["step"] for m in metrics] == [1, 2, 3]
    assert all(math.isfinite(m["loss"]) for m in metrics)
    if objective == "dpo":
        assert metrics[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)  # policy == reference at step 1
        assert "rewards/accuracies" in metrics[0] and "facet_accuracies/response" in metrics[0]
    else:
        assert metrics[-1]["loss"] < metrics[0]["loss"]
    reloaded = VisionEncoderDecoderPolicy.from_pretrained(result.model_dir)
    assert reloaded.tokenizer.eos_token_id == reloaded.pad_id


def test_mcm_dpo_preference_accuracies_rise(tiny_checkpoint, examples, tmp_path):
    cfg = config(tiny_checkpoint, tmp_path, objective="mcm_dpo", epochs=5)
    before = score_preferences(tiny_checkpoint, examples)
    result = train(cfg, examples, progress=False)
    metrics = read_metrics(cfg)
    first, last = metrics[0], metrics[-1]
    facets = [k for k in first if k.startswith("facet_accuracies/")]
    assert len(facets) == 7
    assert first["loss"] == pytest.approx(math.log(2), abs=1e-5)
    # no margin yet: the policy is the reference (up to float noise between the reference's batches and these)
    assert first["rewards/margins"] == pytest.approx(0.0, abs=1e-4)
    assert last["loss"] < first["loss"] - 0.1
    assert sum(last[k] for k in facets) / len(facets) >= 0.75
    assert last["rewards/accuracies"] >= 0.75
    after = score_preferences(result.model_dir, examples)
    assert after["margin"] > before["margin"]


def test_resume_continues_where_a_run_stopped(tiny_checkpoint, examples, tmp_path):
    straight = config(tiny_checkpoint, tmp_path / "a", objective="dpo", epochs=2)
    train(straight, examples, max_steps=3, progress=False)
    interrupted = config(tiny_checkpoint, tmp_path / "b", objective="dpo", epochs=2, save_every=1)
    train(interrupted, examples, max_steps=2, progress=False)
    resumed = interrupted.replace(resume=True)
    result = train(resumed, examples, max_steps=3, progress=False)
    assert result.steps == 3
    steps = [m["step"] for m in read_metrics(resumed)]
    assert steps == [1, 2, 3]  # the resumed run logged only step 3
    expected, got = read_metrics(straight)[-1], read_metrics(resumed)[-1]
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-4)


def test_lora_uses_the_adapter_disabled_base_as_reference(tiny_checkpoint, examples, tmp_path):
    cfg = config(tiny_checkpoint, tmp_path, objective="mcm_dpo", lora=True, lora_dropout=0.0,
                 precompute_ref_log_probs=False, epochs=2, learning_rate=1e-2)
    result = train(cfg, examples, max_steps=3, progress=False)
    metrics = read_metrics(cfg)
    assert metrics[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)
    assert metrics[-1]["loss"] < metrics[0]["loss"]
    # the saved model is plain (adapters merged): it loads without peft and differs from the start
    merged = VisionEncoderDecoderPolicy.from_pretrained(result.model_dir)
    base = VisionEncoderDecoderPolicy.from_pretrained(tiny_checkpoint)
    assert not merged.lora
    assert any(not torch.equal(a, b) for a, b in zip(merged.state_dict().values(), base.state_dict().values()))


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")


def test_cli_mcm_dpo_with_facet_ablation(tiny_checkpoint, sample_dir, tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run(
        [sys.executable, "-m", "trainer", "mcm-dpo", "--model", str(tiny_checkpoint),
         "--data", str(sample_dir / "twitter" / "twitter_train.json"), "--out", str(out),
         "--facets", "response", "image", "--max-steps", "1", "--batch-size", "4", "--learning-rate", "1e-3",
         "--device", "cpu", "--no-progress"],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads((out / METRICS_FILE).read_text().splitlines()[0])
    assert sorted(k for k in record if k.startswith("facet_accuracies/")) == [
        "facet_accuracies/image", "facet_accuracies/response"]
    assert (out / "final" / "config.json").is_file()


def test_two_process_data_parallel_run(tiny_checkpoint, sample_dir, tmp_path):
    """The same entry point data-parallel in 2 CPU processes (DDP over gloo).

    ``accelerate launch --cpu`` runs one process unless mpirun is installed, so
    the processes are started by torchrun, which ``accelerate launch
    --multi_gpu`` also uses on GPUs; the Accelerator reads the same env vars.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "ddp"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
         "--master_addr", "127.0.0.1", "--master_port", str(port),
         "-m", "trainer", "dpo",
         "--model", str(tiny_checkpoint), "--data", str(sample_dir / "twitter" / "twitter_train.json"),
         "--out", str(out), "--max-steps", "2", "--batch-size", "2", "--learning-rate", "1e-3",
         "--device", "cpu", "--no-progress"],
        # gloo on the loopback interface: with the machine's other interfaces it can hang at rendezvous
        cwd=REPO, env=dict(_env(), GLOO_SOCKET_IFNAME="lo"), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = [json.loads(line) for line in (out / METRICS_FILE).read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2]  # written once (main process), not twice
    assert all(m["processes"] == 2 for m in metrics)
    assert (out / "final" / "model.safetensors").is_file()


def test_rpo_anchor_adds_the_chosen_texts_nll_to_the_preference_loss(tiny_checkpoint, examples):
    policy = VisionEncoderDecoderPolicy.from_pretrained(tiny_checkpoint).eval()
    dataset = EncodedPreferences(examples, policy.tokenizer, policy.image_processor, seed=1)
    cfg = TrainConfig(objective="mcm_dpo", model_name_or_path=str(tiny_checkpoint))
    batch = ComboCollator(combination_keys(cfg), policy.pad_id, policy.max_length)([dataset[i] for i in range(3)])
    with torch.no_grad():
        logps = policy(batch.pixel_values, batch.image_index, batch.seqs)
    reference = logps.view(len(batch.keys), batch.size).T - 0.3  # any fixed reference
    plain, _ = compute_loss(cfg, batch, logps, reference)
    anchored, metrics = compute_loss(cfg.replace(rpo_alpha=0.5), batch, logps, reference)
    chosen_tokens = batch.seqs.response_mask[: batch.size].sum()
    nll = -logps[: batch.size].sum() / chosen_tokens
    assert float(metrics["nll_chosen_per_token"]) == pytest.approx(float(nll), rel=1e-6)
    assert float(anchored - plain) == pytest.approx(0.5 * float(nll), rel=1e-5)


def test_only_wrong_negatives_drops_the_image_term_where_the_context_decides(tiny_checkpoint, examples):
    import dataclasses

    from trainer.losses import FACETS, FacetWeights

    # every example decided by its page context, no text read: a corrupted image is no negative
    decided = [dataclasses.replace(e, meta={**e.meta, "decided_by": "context"}, ocr_text="") for e in examples]
    policy = VisionEncoderDecoderPolicy.from_pretrained(tiny_checkpoint).eval()
    dataset = EncodedPreferences(decided, policy.tokenizer, policy.image_processor, seed=1)
    cfg = TrainConfig(objective="mcm_dpo", model_name_or_path=str(tiny_checkpoint))
    batch = ComboCollator(combination_keys(cfg), policy.pad_id, policy.max_length)([dataset[i] for i in range(4)])
    assert batch.facet_mask["image"].tolist() == [False] * 4 and batch.facet_mask["context"].all()
    with torch.no_grad():
        logps = policy(batch.pixel_values, batch.image_index, batch.seqs)
    reference = logps.view(len(batch.keys), batch.size).T - torch.linspace(0.1, 0.8, len(batch.keys))
    masked, _ = compute_loss(cfg.replace(only_wrong_negatives=True), batch, logps, reference)
    paper, _ = compute_loss(cfg, batch, logps, reference)
    without_image = cfg.replace(facet_weights=FacetWeights().only(*(f for f in FACETS if f != "image")))
    ablated, _ = compute_loss(without_image, batch, logps, reference)
    assert float(masked) == pytest.approx(float(ablated), rel=1e-6)
    assert float(masked) != pytest.approx(float(paper), rel=1e-3)


def test_same_category_partners_reach_training_as_the_swapped_context(tiny_checkpoint, examples, tmp_path,
                                                                      monkeypatch):
    import dataclasses

    import trainer.train as train_module
    from backend.modelinput import encode_prompt, format_prompt

    categorised = [dataclasses.replace(e, meta={**e.meta, "category": "icon_control" if i % 2 else "text"})
                   for i, e in enumerate(examples)]
    datasets = []

    class Recording(EncodedPreferences):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            datasets.append(self)

    monkeypatch.setattr(train_module, "EncodedPreferences", Recording)
    train(config(tiny_checkpoint, tmp_path, objective="mcm_dpo", partners="same_category"), categorised)
    dataset = datasets[0]
    tokenizer = dataset.tokenizer
    for i, j in enumerate(dataset.partner):
        assert j != i and categorised[j].meta["category"] == categorised[i].meta["category"]
        partner = categorised[j]
        assert dataset[i].swapped_prompt == encode_prompt(tokenizer, format_prompt(partner.context, partner.ocr_text))


def test_epoch_hook_sees_each_epoch_and_can_stop_training(tiny_checkpoint, examples, tmp_path):
    cfg = config(tiny_checkpoint, tmp_path, objective="sft", epochs=5)
    seen: list[tuple[int, bool, float]] = []

    def hook(policy, epoch: int) -> bool:
        seen.append((epoch, policy.training, mean_nll(policy, examples)))
        return epoch == 1  # stop after the second epoch

    result = train(cfg, examples, progress=False, on_epoch_end=hook)
    assert [(e, training) for e, training, _ in seen] == [(0, False), (1, False)]  # evaluated in eval mode
    assert result.steps == 2 * math.ceil(len(examples) / cfg.batch_size)
    assert seen[1][2] < seen[0][2]  # SFT on the same examples lowers their NLL


def test_mean_nll_is_the_per_token_nll_of_the_chosen_text(tiny_checkpoint, examples):
    policy = VisionEncoderDecoderPolicy.from_pretrained(tiny_checkpoint).eval()
    dataset = EncodedPreferences(examples, policy.tokenizer, policy.image_processor)
    total, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(len(examples)):
            item = dataset[i]
            seqs = pack_sequences([item.prompt], [item.chosen], policy.pad_id, policy.max_length)
            total -= float(policy(item.pixels[None], torch.tensor([0]), seqs)[0])
            tokens += int(seqs.response_mask.sum())
    assert mean_nll(policy, examples, batch_size=3) == pytest.approx(total / tokens, rel=1e-4)
