"""The trainer's one typed configuration (in the style of trl's ``DPOConfig``).

Every knob of SFT, DPO and MCM-DPO training lives in :class:`TrainConfig`;
its docstring says each field's default and where the default comes from.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import torch

from trainer.corruptions import CORRUPTIONS, DEFAULT_DIFFUSION_STEP, DEFAULT_DIFFUSION_STEPS, PARTNERS
from trainer.losses import DEFAULT_BETA, FacetWeights

Objective = Literal["sft", "dpo", "mcm_dpo"]
OBJECTIVES = ("sft", "dpo", "mcm_dpo")


@dataclass
class TrainConfig:
    """Configuration of one training run.

    Objective
        objective (``"mcm_dpo"``): ``"sft"`` (cross-entropy on the chosen text),
            ``"dpo"`` (plain DPO, Rafailov et al. 2023) or ``"mcm_dpo"`` (Fu et
            al., ACM MM 2025; DESIGN.md §3). The paper runs SFT first, then MCM-DPO.
        facet_weights (``FacetWeights()``: r3 1.0, r1 0.5, r2 0.5, r4..r7 0.2):
            weights of the seven MCM-DPO terms, the paper's published defaults;
            a zero weight ablates a facet. Ignored by ``sft``; ``dpo`` uses r3 only.
        beta (``0.1``): DPO temperature, the paper's value (also trl's default).
        norm (``None``): divisor of the weighted sum of terms; None means the sum
            of the enabled weights (2.8 for the defaults, the paper's value).
        label_smoothing (``0.0``): assumed probability that a preference label is
            flipped (cDPO, as trl's ``label_smoothing``); worth raising a little
            for pairs learnt from user feedback. 0 is the paper's setting.
        rpo_alpha (``0.0``): weight of a per-token NLL term on the chosen text
            (true image and context) added to the preference loss, as trl's
            ``rpo_alpha`` (Pang et al. 2024). Without it a small model trained
            at a small model's learning rate lowers the chosen text's likelihood
            along with the rejected one's until its answers break off after a
            word or two (measured on the bundled model: rewards/chosen -0.9);
            the anchor keeps the chosen text likely. 0 is the paper's setting.
        only_wrong_negatives (``False``): per example, leave out the facet
            negatives under which the chosen text is still right (a corrupted
            image where only the page context decides, a swapped context where
            only the image does), as the corpus's ``decided_by`` tells
            (``trainer.losses.wrong_under``). Examples without that field keep
            every negative. False is the paper's setting.

    Negatives (MCM-DPO)
        corruption (``"diffusion"``): how the image negative m_l is made:
            ``diffusion``, ``black``, ``crop``, ``rotate`` or ``swap`` (another
            sample's image; the paper's "random"). Diffusion is the paper's default.
        diffusion_step (``700``) / diffusion_steps (``1000``): forward-diffusion
            noise at step t of T, the paper's default.
        partners (``"any"``): whose context is the context negative c_l (and
            whose image, with ``swap``): ``any`` other sample, as in the paper,
            or ``same_category``, another sample of the same corpus category
            with a different correct answer (hard negatives;
            ``trainer.corruptions.negative_partners``).

    Optimisation
        learning_rate (``5e-7``): the paper's value for MCM-DPO on a 7B LLaVA.
            Small models (Mozilla/distilvit, tiny test models) need far larger
            rates, roughly 1e-5 to 1e-3; set it per model.
        epochs (``2``): the paper's value.
        batch_size (``8``): samples per step per process (each MCM-DPO sample
            scores up to 8 sequences).
        grad_accumulation (``1``): micro-batches per optimizer step.
        max_grad_norm (``1.0``): gradient clipping (trl/transformers default).
        weight_decay (``0.0``): AdamW weight decay (transformers default).
        seed (``42``): seeds data order, negatives and initialisation; a run is
            reproducible from its config.

    Model
        model_name_or_path (``""``): the starting checkpoint, a hub id (e.g.
            ``Mozilla/distilvit``) or a local directory (``trainer/tiny.py``).
        freeze_vision_encoder (``False``): the paper found keeping the vision
            encoder trainable best in both stages.
        lora (``False``) / lora_rank (``8``) / lora_alpha (``16``) / lora_dropout
            (``0.05``): train PEFT LoRA adapters instead of all weights (PEFT's
            usual values); the reference is then the adapter-disabled base model,
            so no second copy of the model is kept (trl's approach).
        precompute_ref_log_probs (``True``): score the reference once before
            training (it never changes), as trl's option of the same name.

    Hardware
        device (``"auto"``): ``"auto"`` picks CUDA when available, else CPU; or
            any ``torch.device`` string.
        bf16 (``"auto"``): bfloat16 autocast; ``"auto"`` enables it on CUDA
            devices that support it, never on CPU.

    Checkpoints
        checkpoint_dir (``"var/trainer/checkpoints"``): where checkpoints and
            the final model are written.
        save_every (``0``): optimizer steps between checkpoints; 0 saves only at
            the end of each epoch.
        resume (``False``): ``True`` resumes from the latest checkpoint in
            ``checkpoint_dir``; a path resumes from that checkpoint.
    """

    objective: Objective = "mcm_dpo"
    facet_weights: FacetWeights = field(default_factory=FacetWeights)
    beta: float = DEFAULT_BETA
    norm: float | None = None
    label_smoothing: float = 0.0
    rpo_alpha: float = 0.0
    only_wrong_negatives: bool = False

    corruption: str = "diffusion"
    diffusion_step: int = DEFAULT_DIFFUSION_STEP
    diffusion_steps: int = DEFAULT_DIFFUSION_STEPS
    partners: str = "any"

    learning_rate: float = 5e-7
    epochs: int = 2
    batch_size: int = 8
    grad_accumulation: int = 1
    max_grad_norm: float = 1.0
    weight_decay: float = 0.0
    seed: int = 42

    model_name_or_path: str = ""
    freeze_vision_encoder: bool = False
    lora: bool = False
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    precompute_ref_log_probs: bool = True

    device: str = "auto"
    bf16: bool | Literal["auto"] = "auto"

    checkpoint_dir: str = "var/trainer/checkpoints"
    save_every: int = 0
    resume: bool | str = False

    def __post_init__(self) -> None:
        if isinstance(self.facet_weights, Mapping):
            self.facet_weights = FacetWeights(**self.facet_weights)
        problems = []
        if self.objective not in OBJECTIVES:
            problems.append(f"objective must be one of {OBJECTIVES}, not {self.objective!r}")
        if self.corruption not in CORRUPTIONS:
            problems.append(f"corruption must be one of {CORRUPTIONS}, not {self.corruption!r}")
        if self.partners not in PARTNERS:
            problems.append(f"partners must be one of {PARTNERS}, not {self.partners!r}")
        if not 1 <= self.diffusion_step <= self.diffusion_steps:
            problems.append(f"diffusion_step must be in 1..{self.diffusion_steps}")
        if self.beta <= 0:
            problems.append("beta must be positive")
        if self.norm is not None and self.norm <= 0:
            problems.append("norm must be positive")
        if not 0 <= self.label_smoothing < 0.5:
            problems.append("label_smoothing must be in [0, 0.5)")
        if self.rpo_alpha < 0:
            problems.append("rpo_alpha must be >= 0")
        if self.learning_rate <= 0:
            problems.append("learning_rate must be positive")
        for name in ("epochs", "batch_size", "grad_accumulation", "lora_rank"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1")
        if self.save_every < 0:
            problems.append("save_every must be 0 or more")
        if self.bf16 not in (True, False, "auto"):
            problems.append("bf16 must be true, false or 'auto'")
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems))

    @property
    def loss_weights(self) -> FacetWeights:
        """The facet weights the objective actually uses (r3 only for plain DPO)."""
        return FacetWeights.dpo() if self.objective == "dpo" else self.facet_weights

    def resolved_device(self) -> torch.device:
        """CUDA when available and ``device == "auto"``, else CPU; or the device asked for."""
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def use_bf16(self, device: torch.device | None = None) -> bool:
        """Whether to autocast to bfloat16 on ``device`` (default: the resolved one)."""
        device = device or self.resolved_device()
        if self.bf16 == "auto":
            return device.type == "cuda" and torch.cuda.is_bf16_supported()
        return bool(self.bf16)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values, for checkpoints and run records."""
        data = dataclasses.asdict(self)
        data["facet_weights"] = self.facet_weights.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict`; unknown keys are an error, so typos do not pass silently."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown TrainConfig fields: {sorted(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)
