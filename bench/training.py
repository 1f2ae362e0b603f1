"""Cost of one optimizer step: MCM-DPO vs plain DPO on the same batch, and SFT throughput.

The steps are the trainer's own pieces (``trainer.train.load_policy``,
``compute_loss``, ``trainer.batches``) on one fixed batch of corpus pairs, with
reference log-probs precomputed as the trainer does, so a step is forward +
loss + backward + AdamW update. MCM-DPO scores 8 sequences per sample against
DPO's 2; the naive cost is ~4x, the batched encoder (2 images per sample, not 8)
is what should keep it at or under 2.5x.
"""
from __future__ import annotations

from pathlib import Path

import torch

from bench.config import BenchConfig
from bench.report import Figure, ratio_figure
from bench.timing import interleaved_medians, ms

SECTION = "training"


def run(checkpoint: Path, corpus_train: Path, cfg: BenchConfig) -> list[Figure]:
    from trainer.batches import ComboCollator, EncodedPreferences
    from trainer.config import TrainConfig
    from trainer.data import load_examples
    from trainer.train import combination_keys, compute_loss, load_policy

    torch.manual_seed(cfg.seed)
    base = TrainConfig(objective="mcm_dpo", model_name_or_path=str(checkpoint), device="cpu",
                       batch_size=cfg.training_batch, learning_rate=1e-5)
    policy = load_policy(base)  # dropout off, as in preference training
    pairs = [e for e in load_examples(corpus_train).examples if e.is_pair][: max(2, cfg.training_batch)]
    dataset = EncodedPreferences(pairs, policy.tokenizer, policy.image_processor, seed=cfg.seed)
    items = [dataset[i] for i in range(len(pairs))]
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad], lr=base.learning_rate)

    def stepper(objective: str):
        cfg_o = base.replace(objective=objective)
        collator = ComboCollator(combination_keys(cfg_o), policy.pad_id, policy.max_length)
        batch = collator(items)
        with torch.no_grad():
            reference = policy(batch.pixel_values, batch.image_index, batch.seqs).view(len(batch.keys), batch.size).T

        def step() -> None:
            policy.train()
            logps = policy(batch.pixel_values, batch.image_index, batch.seqs)
            loss, _ = compute_loss(cfg_o, batch, logps, None if objective == "sft" else reference)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        return step, batch

    (dpo, dpo_batch), (mcm, mcm_batch), (sft, sft_batch) = stepper("dpo"), stepper("mcm_dpo"), stepper("sft")
    t_dpo, t_mcm, t_sft = interleaved_medians([dpo, mcm, sft], cfg.training_steps)
    b = len(items)
    tokens = float(sft_batch.seqs.attention_mask.sum())
    note = f"batch of {b} corpus pairs, CPU fp32, {torch.get_num_threads()} threads, median of {cfg.training_steps} steps"
    return [
        Figure(SECTION, "DPO step", ms(t_dpo), "ms", note=f"{len(dpo_batch.keys)} sequences per sample"),
        Figure(SECTION, "MCM-DPO step", ms(t_mcm), "ms", note=f"{len(mcm_batch.keys)} sequences per sample"),
        ratio_figure(SECTION, "MCM-DPO step cost over DPO step", t_mcm, t_dpo, maximum=2.5,
                     note=note + "; naive cost ~4x"),
        Figure(SECTION, "SFT samples per second", round(b / t_sft, 1), "samples/s",
               note=f"{round(tokens / t_sft)} tokens/s (prompt+response); " + note),
        Figure(SECTION, "GPU figures", "not measured", note="this run had no GPU; tokens/s and memory on a GPU "
                                                          "need a lent device"),
    ]
