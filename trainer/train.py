"""One training loop for SFT, DPO and MCM-DPO, read top to bottom.

The objectives differ only in which (response, image, context) combinations a
batch scores (``w_w_w`` alone for SFT, two for DPO, eight for MCM-DPO) and in
the loss applied to their log-probs (trainer/losses.py). Everything else —
device and bf16 choice, gradient accumulation, data-parallel runs under
``accelerate launch``, checkpoints and resume, seeding, progress, the JSONL
metrics log — is shared and lives here, on top of 🤗 Accelerate.

Reference log-probs are computed once, before the first update, and kept with
every checkpoint (the reference never changes; a resumed run must not score the
reference with an already-trained policy). With LoRA they come from the
adapter-disabled base, so no second copy of the model is held.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, set_seed
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from trainer.batches import ComboBatch, ComboCollator, EncodedPreferences
from trainer.config import TrainConfig
from trainer.data import PreferenceExample
from trainer.losses import CHOSEN, mcm_dpo_loss
from trainer.modeling import VisionEncoderDecoderPolicy

log = logging.getLogger(__name__)

STATE_FILE = "trainer_state.json"
REFERENCE_FILE = "reference_logps.pt"
METRICS_FILE = "metrics.jsonl"
FINAL_DIR = "final"


@dataclass
class TrainResult:
    """Where the trained model is, and what happened on the way."""

    model_dir: Path
    steps: int
    metrics: list[dict] = field(default_factory=list)


def combination_keys(cfg: TrainConfig) -> list[str]:
    """The combinations the objective scores; ablated MCM-DPO facets cost nothing."""
    return [CHOSEN] if cfg.objective == "sft" else cfg.loss_weights.required_keys()


def load_policy(cfg: TrainConfig) -> VisionEncoderDecoderPolicy:
    policy = VisionEncoderDecoderPolicy.from_pretrained(
        cfg.model_name_or_path,
        lora_rank=cfg.lora_rank if cfg.lora else 0,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        freeze_vision_encoder=cfg.freeze_vision_encoder,
    )
    if cfg.objective != "sft":
        # as trl's disable_dropout: with dropout the policy differs from the reference at step 0
        for module in policy.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0
    return policy


def make_accelerator(cfg: TrainConfig) -> Accelerator:
    """CUDA + bf16 autocast when available, CPU fp32 otherwise (``cfg.device`` overrides)."""
    device = cfg.resolved_device()
    return Accelerator(
        cpu=device.type == "cpu",
        mixed_precision="bf16" if cfg.use_bf16(device) else "no",
        gradient_accumulation_steps=cfg.grad_accumulation,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
        step_scheduler_with_optimizer=False,
    )


def compute_loss(cfg: TrainConfig, batch: ComboBatch, logps: torch.Tensor,
                 reference: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """The objective's loss and metrics from the policy's ``[K*B]`` log-probs."""
    if cfg.objective == "sft":
        tokens = batch.seqs.response_mask.sum().clamp_min(1)
        loss = -logps.sum() / tokens
        return loss, {"nll_per_token": loss.detach()}
    policy = batch.split(logps)
    ref = dict(zip(batch.keys, reference.T.unbind(0)))  # reference: [B, K]
    loss, metrics = mcm_dpo_loss(policy, ref, cfg.loss_weights, beta=cfg.beta, norm=cfg.norm,
                                 label_smoothing=cfg.label_smoothing, sample_weights=batch.weights,
                                 facet_mask=batch.facet_mask if cfg.only_wrong_negatives else None)
    if cfg.rpo_alpha:
        # rows 0..B-1 are the chosen text with the true image and context (keys start with CHOSEN)
        nll = -policy[CHOSEN].sum() / batch.seqs.response_mask[: batch.size].sum().clamp_min(1)
        loss = loss + cfg.rpo_alpha * nll
        metrics["nll_chosen_per_token"] = nll.detach()
    return loss, metrics


@torch.no_grad()
def score_reference(policy: VisionEncoderDecoderPolicy, dataset: EncodedPreferences, collator: ComboCollator,
                    batch_size: int, accelerator: Accelerator) -> torch.Tensor:
    """Reference log-probs of every example's combinations, ``[N, K]`` (in dataset order)."""
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, collate_fn=collator)
    out = torch.zeros(len(dataset), len(collator.keys))
    was_training = policy.training
    policy.eval()
    with policy.reference():
        for batch in tqdm(loader, desc="reference log-probs", disable=not accelerator.is_local_main_process):
            batch = batch.to(accelerator.device)
            with accelerator.autocast():
                logps = policy(batch.pixel_values, batch.image_index, batch.seqs)
            out[batch.indices.cpu()] = logps.float().view(len(collator.keys), batch.size).T.cpu()
    policy.train(was_training)
    return out


EpochHook = Callable[[VisionEncoderDecoderPolicy, int], bool]


def train(cfg: TrainConfig, examples: Sequence[PreferenceExample], max_steps: int | None = None,
          progress: bool = True, on_epoch_end: EpochHook | None = None) -> TrainResult:
    """Train ``cfg.model_name_or_path`` on ``examples``; the result is a plain checkpoint.

    Writes under ``cfg.checkpoint_dir``: ``metrics.jsonl`` (one line per
    optimizer step), ``step-NNNNNN/`` checkpoints (every ``save_every`` steps
    and at each epoch end) and ``final/`` (model, tokenizer, image processor).
    ``on_epoch_end(policy, epoch)`` runs on the main process after each epoch
    (model selection on held-out data); returning True ends training there.
    """
    accelerator = make_accelerator(cfg)
    set_seed(cfg.seed)
    out = Path(cfg.checkpoint_dir)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.objective != "sft":
        examples = [e for e in examples if e.is_pair]
    policy = load_policy(cfg)
    dataset = EncodedPreferences(examples, policy.tokenizer, policy.image_processor, seed=cfg.seed,
                                 corruption=cfg.corruption, diffusion_step=cfg.diffusion_step,
                                 partners=cfg.partners)
    collator = ComboCollator(combination_keys(cfg), policy.pad_id, policy.max_length)
    if cfg.objective != "sft" and not cfg.precompute_ref_log_probs and not cfg.lora:
        raise ValueError("full fine-tuning keeps no reference copy: use precompute_ref_log_probs (the default)")

    resume_dir = _resume_dir(cfg)
    policy.to(accelerator.device)
    reference = None
    if cfg.objective != "sft" and cfg.precompute_ref_log_probs:
        if resume_dir is not None:
            reference = torch.load(resume_dir / REFERENCE_FILE)
        else:
            reference = score_reference(policy, dataset, collator, cfg.batch_size, accelerator)
    generator = torch.Generator().manual_seed(cfg.seed)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, collate_fn=collator,
                        generator=generator, drop_last=False)
    optimizer = torch.optim.AdamW([p for p in policy.parameters() if p.requires_grad],
                                  lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    policy, optimizer, loader = accelerator.prepare(policy, optimizer, loader)

    steps_per_epoch = math.ceil(len(loader) / cfg.grad_accumulation)
    total_steps = steps_per_epoch * cfg.epochs if max_steps is None else min(max_steps, steps_per_epoch * cfg.epochs)
    step, start_epoch, skip_batches = 0, 0, 0
    if resume_dir is not None:
        accelerator.load_state(str(resume_dir))
        state = json.loads((resume_dir / STATE_FILE).read_text())
        step, start_epoch, skip_batches = state["step"], state["epoch"], state["batches_in_epoch"]
        log.info("resumed from %s at step %d", resume_dir, step)

    metrics_path = out / METRICS_FILE
    history: list[dict] = []
    bar = tqdm(total=total_steps, initial=step, desc=cfg.objective,
               disable=not (progress and accelerator.is_local_main_process))
    pending: list[dict[str, torch.Tensor]] = []
    started = time.perf_counter()
    for epoch in range(start_epoch, cfg.epochs):
        if step >= total_steps:
            break
        loader.set_epoch(epoch)
        batches = accelerator.skip_first_batches(loader, skip_batches) if skip_batches else loader
        done_in_epoch = skip_batches
        skip_batches = 0
        policy.train()
        for batch in batches:
            done_in_epoch += 1
            with accelerator.accumulate(policy):
                with accelerator.autocast():
                    logps = policy(batch.pixel_values, batch.image_index, batch.seqs)
                ref = None
                if cfg.objective != "sft":
                    ref = reference[batch.indices.cpu()].to(logps.device) if reference is not None \
                        else _live_reference(accelerator.unwrap_model(policy), batch, accelerator)
                loss, metrics = compute_loss(cfg, batch, logps, ref)
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.max_grad_norm:
                    accelerator.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad()
            pending.append({"loss": loss.detach(), **metrics})
            if not accelerator.sync_gradients:
                continue
            step += 1
            record = _reduce(accelerator, pending)
            pending = []
            record.update(step=step, epoch=epoch, processes=accelerator.num_processes, lr=optimizer.param_groups[0]["lr"],
                          elapsed_s=round(time.perf_counter() - started, 3))
            history.append(record)
            if accelerator.is_main_process:
                with metrics_path.open("a") as handle:
                    handle.write(json.dumps(record) + "\n")
            bar.update(1)
            bar.set_postfix(loss=f"{record['loss']:.4f}")
            epoch_end = done_in_epoch == len(loader)
            if (cfg.save_every and step % cfg.save_every == 0) or epoch_end:
                _save_checkpoint(accelerator, out, step, epoch + int(epoch_end),
                                 0 if epoch_end else done_in_epoch, reference)
            if step >= total_steps:
                break
        if on_epoch_end is not None and _epoch_hook(accelerator, policy, on_epoch_end, epoch):
            break
    bar.close()

    final = out / FINAL_DIR
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        accelerator.unwrap_model(policy).save_pretrained(final)
        (final / "altlens_training.json").write_text(json.dumps(
            {"config": cfg.to_dict(), "steps": step, "examples": len(dataset)}, indent=2))
    # Free the DDP wrapper while the process group is still registered. Its Reducer
    # holds the group and is freed holding the GIL; were it the group's last owner,
    # gloo's destructor would join worker threads that wait for the GIL to free the
    # last collective's tensors: a deadlock at exit in about 1 run in 10 (pytorch#56297).
    del policy, optimizer, loader
    accelerator.free_memory()
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(model_dir=final, steps=step, metrics=history)


def _epoch_hook(accelerator: Accelerator, policy, hook: EpochHook, epoch: int) -> bool:
    """Run the hook on the main process in eval mode; every process learns whether to stop."""
    stop = torch.tensor(0.0, device=accelerator.device)
    if accelerator.is_main_process:
        model = accelerator.unwrap_model(policy)
        model.eval()
        stop += float(bool(hook(model, epoch)))
        model.train()
    return bool(accelerator.reduce(stop, reduction="sum") > 0)


@torch.no_grad()
def mean_nll(policy: VisionEncoderDecoderPolicy, examples: Sequence[PreferenceExample],
             batch_size: int = 32) -> float:
    """Per-token NLL of each example's chosen text (true image and context): held-out model selection."""
    device = next(policy.parameters()).device
    dataset = EncodedPreferences(examples, policy.tokenizer, policy.image_processor)
    collator = ComboCollator([CHOSEN], policy.pad_id, policy.max_length)
    nll, tokens = 0.0, 0.0
    for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collator):
        batch = batch.to(device)
        nll -= float(policy(batch.pixel_values, batch.image_index, batch.seqs).sum())
        tokens += float(batch.seqs.response_mask.sum())
    return nll / max(tokens, 1.0)


def _live_reference(policy: VisionEncoderDecoderPolicy, batch: ComboBatch, accelerator: Accelerator) -> torch.Tensor:
    """LoRA without precomputation: the adapter-disabled base scores the batch, ``[B, K]``."""
    with torch.no_grad(), policy.reference(), accelerator.autocast():
        logps = policy(batch.pixel_values, batch.image_index, batch.seqs)
    return logps.float().view(len(batch.keys), batch.size).T


def _reduce(accelerator: Accelerator, pending: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    """Mean of each metric over the micro-batches of one step and over all processes."""
    record = {}
    for name in pending[0]:
        value = torch.stack([m[name].float() for m in pending]).mean().to(accelerator.device)
        record[name] = float(accelerator.reduce(value, reduction="mean"))
    return record


def _save_checkpoint(accelerator: Accelerator, out: Path, step: int, epoch: int, batches_in_epoch: int,
                     reference: torch.Tensor | None) -> None:
    """Model, optimizer and RNG states, the reference log-probs and the loop position."""
    directory = out / f"step-{step:06d}"
    accelerator.save_state(str(directory))
    if accelerator.is_main_process:
        if reference is not None:
            torch.save(reference, directory / REFERENCE_FILE)
        # written last: a checkpoint without it is incomplete and never resumed from
        (directory / STATE_FILE).write_text(json.dumps(
            {"step": step, "epoch": epoch, "batches_in_epoch": batches_in_epoch}))
    accelerator.wait_for_everyone()


def _resume_dir(cfg: TrainConfig) -> Path | None:
    if not cfg.resume:
        return None
    if isinstance(cfg.resume, str):
        return Path(cfg.resume)
    complete = sorted(p for p in Path(cfg.checkpoint_dir).glob("step-*") if (p / STATE_FILE).is_file())
    return complete[-1] if complete else None


@torch.no_grad()
def score_preferences(model_dir: str | Path, examples: Sequence[PreferenceExample], device: str = "cpu",
                      batch_size: int = 16) -> dict[str, float]:
    """Reference-free preference scores of a model on held-out pairs (the retraining gate).

    ``accuracy``: share of pairs where the chosen text is more likely than the
    rejected one (true image and context); ``margin``: the mean difference of
    their per-token log-probs; ``chosen_nll``: mean per-token NLL of the chosen text.
    """
    policy = VisionEncoderDecoderPolicy.from_pretrained(model_dir).to(device).eval()
    pairs = [e for e in examples if e.is_pair]
    if len(pairs) < 2:
        raise ValueError("scoring needs at least 2 held-out pairs")
    dataset = EncodedPreferences(pairs, policy.tokenizer, policy.image_processor)
    collator = ComboCollator([CHOSEN, "l_w_w"], policy.pad_id, policy.max_length)
    wins, margins, nll, tokens = 0.0, [], 0.0, 0.0
    for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collator):
        batch = batch.to(device)
        logps = batch.split(policy(batch.pixel_values, batch.image_index, batch.seqs))
        lengths = batch.seqs.response_mask.sum(-1).view(2, batch.size)
        chosen, rejected = logps[CHOSEN] / lengths[0], logps["l_w_w"] / lengths[1]
        wins += float((chosen > rejected).sum())
        margins.extend((chosen - rejected).tolist())
        nll -= float(logps[CHOSEN].sum())
        tokens += float(lengths[0].sum())
    return {"accuracy": wins / len(pairs), "margin": sum(margins) / len(margins),
            "chosen_nll": nll / tokens, "pairs": len(pairs)}
