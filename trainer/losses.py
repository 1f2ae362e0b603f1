"""SFT/DPO/MCM-DPO losses as pure functions of sequence log-probabilities.

The losses never see a model: a training loop computes summed response
log-probs (:func:`sequence_logprobs`) for the policy and the reference and hands
them over as 1-D tensors of shape ``[B]``. That keeps the objective testable by
hand and lets any model family (ViT+GPT-2 today, a LLaVA-style model later) use
it unchanged.

Combination keys
----------------
MCM-DPO scores one response under 8 (response, image, context) combinations.
Each is keyed ``"<response>_<image>_<context>"`` with ``w`` for the true/chosen
one and ``l`` for the rejected/corrupted/swapped one, in that fixed order:

=========  ==========  ==========  ============
key        response    image       context
=========  ==========  ==========  ============
``w_w_w``  y_w         m_w         c_w
``l_w_w``  y_l         m_w         c_w
``w_l_w``  y_w         m_l         c_w
``w_w_l``  y_w         m_w         c_l
``l_w_l``  y_l         m_w         c_l
``l_l_w``  y_l         m_l         c_w
``w_l_l``  y_w         m_l         c_l
``l_l_l``  y_l         m_l         c_l
=========  ==========  ==========  ============

The objective (DESIGN.md §3, as the paper's code ``mcmdpo_loss`` computes it),
with ``D(k) = logp_policy(k) - logp_reference(k)``::

    z = sum_f r_f * [D(w_w_w) - D(negative_f)] / norm
    loss = -log sigmoid(beta * z)

where the facets ``f`` and their negatives are listed in :data:`FACETS`.
Plain DPO is the special case with only ``r3`` (:func:`dpo_loss`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

DEFAULT_BETA = 0.1  # DESIGN.md §3, the paper's scripts/mcmdpo.sh
CHOSEN = "w_w_w"
COMBINATIONS = ("w_w_w", "l_w_w", "w_l_w", "w_w_l", "l_w_l", "l_l_w", "w_l_l", "l_l_l")

# facet name -> (weight field of FacetWeights, key of the negative combination)
FACETS: dict[str, tuple[str, str]] = {
    "response": ("r3", "l_w_w"),  # plain DPO
    "image": ("r2", "w_l_w"),
    "context": ("r1", "w_w_l"),
    "context_response": ("r4", "l_w_l"),
    "image_response": ("r5", "l_l_w"),
    "image_context": ("r6", "w_l_l"),
    "all": ("r7", "l_l_l"),
}


@dataclass(frozen=True)
class FacetWeights:
    """Weight of each MCM-DPO term; a zero weight disables (ablates) that facet.

    Defaults are the paper's published ones (DESIGN.md §3): r3 1.0 (response),
    r1 0.5 (context), r2 0.5 (image), r4..r7 0.2 (combined facets); their sum,
    2.8, is the paper's ``norm``.
    """

    r1: float = 0.5  # context:            D(y_w|m_w,c_w) - D(y_w|m_w,c_l)
    r2: float = 0.5  # image:              D(y_w|m_w,c_w) - D(y_w|m_l,c_w)
    r3: float = 1.0  # response (DPO):     D(y_w|m_w,c_w) - D(y_l|m_w,c_w)
    r4: float = 0.2  # context + response: D(y_w|m_w,c_w) - D(y_l|m_w,c_l)
    r5: float = 0.2  # image + response:   D(y_w|m_w,c_w) - D(y_l|m_l,c_w)
    r6: float = 0.2  # image + context:    D(y_w|m_w,c_w) - D(y_w|m_l,c_l)
    r7: float = 0.2  # all three:          D(y_w|m_w,c_w) - D(y_l|m_l,c_l)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or value < 0 or value != value:
                raise ValueError(f"facet weight {f.name} must be a non-negative number, got {value!r}")
        if not self.enabled():
            raise ValueError("at least one facet weight must be positive")

    @classmethod
    def dpo(cls) -> "FacetWeights":
        """Plain DPO: only the response facet (r3 = 1)."""
        return cls(r1=0.0, r2=0.0, r3=1.0, r4=0.0, r5=0.0, r6=0.0, r7=0.0)

    def only(self, *facets: str) -> "FacetWeights":
        """An ablation keeping ``facets`` (names from :data:`FACETS`) at their weights, others 0."""
        unknown = set(facets) - set(FACETS)
        if unknown:
            raise ValueError(f"unknown facets {sorted(unknown)}; known: {list(FACETS)}")
        keep = {FACETS[f][0] for f in facets}
        return replace(self, **{f.name: (getattr(self, f.name) if f.name in keep else 0.0) for f in fields(self)})

    def weight(self, facet: str) -> float:
        return float(getattr(self, FACETS[facet][0]))

    def enabled(self) -> list[str]:
        """Facet names with a positive weight, in :data:`FACETS` order."""
        return [f for f in FACETS if self.weight(f) > 0]

    @property
    def norm(self) -> float:
        """Default normaliser: the sum of the enabled weights (2.8 for the defaults)."""
        return float(sum(self.weight(f) for f in self.enabled()))

    def required_keys(self) -> list[str]:
        """Combinations a training loop must score: ``w_w_w`` plus each enabled negative.

        Lets a loop skip the sequences of ablated facets (DPO needs only 2 of 8).
        """
        return [CHOSEN] + [FACETS[f][1] for f in self.enabled()]

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def wrong_under(decided_by: str | None, reads_text: bool) -> dict[str, bool]:
    """Per facet, whether its negative really makes the chosen text wrong for this example.

    MCM-DPO assumes a corrupted image or a swapped context turns the right alt into
    a wrong one. That holds only where that input decides: for an icon that only
    the page explains ("context"), the corrupted-image negative is still answered
    right by the chosen text, and training against it teaches noise; likewise the
    swapped-context negative where the image alone decides. The prompt carries the
    OCR text, so a swapped context is a real negative wherever text was read.
    ``decided_by`` is the corpus's field (image, context, both, either); unknown
    (user feedback, the paper's data) keeps every negative, as the paper does.
    Negatives with the rejected response, or with both inputs replaced, are always wrong.
    """
    known = decided_by in ("image", "context", "both", "either")
    image = not known or decided_by in ("image", "both")
    context = not known or decided_by in ("context", "both") or reads_text
    return {facet: (image if facet == "image" else context if facet == "context" else True) for facet in FACETS}


def sequence_logprobs(logits: Tensor, labels: Tensor, mask: Tensor | None = None) -> Tensor:
    """Summed log-probability of the response tokens of each sequence, shape ``[N]``.

    ``logits[:, t]`` must already be the distribution over ``labels[:, t]`` (the
    caller does the usual shift: for a decoder fed ``ids``, pass
    ``logits[:, :-1], ids[:, 1:], mask[:, 1:]``). ``mask`` is true on response
    tokens only, so prompt (context) and padding tokens never count; without a
    mask, labels equal to -100 (the Hugging Face convention) are ignored.
    Computed in float32 so that bf16 logits do not lose the small differences
    DPO depends on.
    """
    if logits.shape[:-1] != labels.shape:
        raise ValueError(f"logits {tuple(logits.shape)} do not match labels {tuple(labels.shape)}")
    mask = (labels != -100) if mask is None else mask.bool()
    if mask.shape != labels.shape:
        raise ValueError(f"mask {tuple(mask.shape)} does not match labels {tuple(labels.shape)}")
    safe_labels = torch.where(mask, labels, torch.zeros_like(labels))
    logits = logits.float()
    token_logits = torch.gather(logits, -1, safe_labels.unsqueeze(-1)).squeeze(-1)
    token_logps = token_logits - torch.logsumexp(logits, dim=-1)
    return (token_logps * mask).sum(-1)


def mcm_dpo_loss(
    policy: Mapping[str, Tensor],
    reference: Mapping[str, Tensor],
    weights: FacetWeights = FacetWeights(),
    beta: float = DEFAULT_BETA,
    norm: float | None = None,
    label_smoothing: float = 0.0,
    sample_weights: Tensor | None = None,
    facet_mask: Mapping[str, Tensor] | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """MCM-DPO loss (DESIGN.md §3) and per-step metrics.

    Args:
        policy, reference: summed response log-probs ``[B]`` keyed as in the
            module docstring; ``w_w_w`` and the negative of every enabled facet
            (:meth:`FacetWeights.required_keys`) must be present. The reference
            is detached here, so it never receives gradients.
        weights: facet weights; zero weights ablate facets.
        beta: temperature of the implicit reward (paper: 0.1).
        norm: divides the weighted sum; defaults to ``weights.norm``, the sum of
            the enabled weights (2.8 for the paper's defaults).
        label_smoothing: probability that a preference label is flipped (cDPO,
            as trl's ``sigmoid`` loss): ``-(1-ε)·logσ(βz) - ε·logσ(-βz)``.
        sample_weights: optional ``[B]`` weights (e.g. weaker thumbs-up pairs);
            the loss is their weighted mean.
        facet_mask: optional ``{facet: bool [B]}`` (:func:`wrong_under`); a facet
            whose mask is false for a sample leaves that sample's sum, and the
            default ``norm`` becomes each sample's sum of its kept weights.

    Returns:
        ``(loss, metrics)``: a scalar loss, and detached scalar tensors
        ``rewards/chosen``, ``rewards/rejected``, ``rewards/accuracies``,
        ``rewards/margins`` (trl's definitions, ``beta * (policy - reference)``
        of ``w_w_w`` vs ``l_w_w``; the last three only when ``l_w_w`` is given),
        ``logits/z`` (mean ``z``) and ``facet_accuracies/<facet>`` (share of
        samples whose facet term is > 0) for each enabled facet.
    """
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    if not 0.0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5), got {label_smoothing}")
    explicit_norm = norm
    norm = weights.norm if norm is None else float(norm)
    if norm <= 0:
        raise ValueError(f"norm must be positive, got {norm}")
    enabled = weights.enabled()
    needed = weights.required_keys()
    for name, logps in (("policy", policy), ("reference", reference)):
        missing = [k for k in needed if k not in logps]
        if missing:
            raise KeyError(f"{name} log-probs lack combinations {missing} needed by facets {enabled}")

    def delta(key: str) -> Tensor:
        return policy[key] - reference[key].detach()

    chosen = delta(CHOSEN)
    terms = {facet: chosen - delta(FACETS[facet][1]) for facet in enabled}
    if facet_mask is None:
        z = sum(weights.weight(f) * terms[f] for f in enabled) / norm
    else:
        kept = {f: weights.weight(f) * facet_mask[f].to(chosen) for f in enabled}
        divisor = sum(kept.values()).clamp_min(1e-12) if explicit_norm is None else norm
        z = sum(kept[f] * terms[f] for f in enabled) / divisor
    losses = -F.logsigmoid(beta * z) * (1.0 - label_smoothing) - F.logsigmoid(-beta * z) * label_smoothing
    if sample_weights is None:
        loss = losses.mean()
    else:
        sample_weights = sample_weights.to(losses)
        loss = (losses * sample_weights).sum() / sample_weights.sum().clamp_min(1e-12)

    with torch.no_grad():
        chosen_rewards = beta * chosen.detach()
        metrics: dict[str, Tensor] = {"rewards/chosen": chosen_rewards.mean(), "logits/z": z.detach().mean()}
        if "l_w_w" in policy and "l_w_w" in reference:
            rejected_rewards = beta * delta("l_w_w").detach()
            metrics["rewards/rejected"] = rejected_rewards.mean()
            metrics["rewards/accuracies"] = (chosen_rewards > rejected_rewards).float().mean()
            metrics["rewards/margins"] = (chosen_rewards - rejected_rewards).mean()
        for facet, term in terms.items():
            metrics[f"facet_accuracies/{facet}"] = (term.detach() > 0).float().mean()
    return loss, metrics


def dpo_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    reference_chosen: Tensor,
    reference_rejected: Tensor,
    beta: float = DEFAULT_BETA,
    label_smoothing: float = 0.0,
    sample_weights: Tensor | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    """Plain (sigmoid) DPO: :func:`mcm_dpo_loss` with only the response facet and norm 1."""
    return mcm_dpo_loss(
        {"w_w_w": policy_chosen, "l_w_w": policy_rejected},
        {"w_w_w": reference_chosen, "l_w_w": reference_rejected},
        weights=FacetWeights.dpo(),
        beta=beta,
        norm=1.0,
        label_smoothing=label_smoothing,
        sample_weights=sample_weights,
    )


def sft_loss(logits: Tensor, labels: Tensor, mask: Tensor | None = None) -> Tensor:
    """Mean per-token negative log-likelihood of the response tokens (same alignment as
    :func:`sequence_logprobs`); prompt and padding tokens do not count."""
    mask = (labels != -100) if mask is None else mask.bool()
    total = -sequence_logprobs(logits, labels, mask).sum()
    return total / mask.sum().clamp_min(1)
