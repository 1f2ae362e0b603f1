"""The MCM-DPO loss against hand computation of DESIGN.md §3, DPO, and gradient flow."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from trainer.losses import (COMBINATIONS, FACETS, FacetWeights, dpo_loss, mcm_dpo_loss, sequence_logprobs,
                            sft_loss)

# Hand-picked summed log-probs for a batch of 2, one value per (response, image, context) combination.
POLICY = {
    "w_w_w": [-3.0, -5.0], "l_w_w": [-4.5, -4.0], "w_l_w": [-3.5, -6.0], "w_w_l": [-3.2, -4.5],
    "l_w_l": [-6.0, -5.5], "l_l_w": [-7.0, -4.8], "w_l_l": [-4.0, -6.5], "l_l_l": [-8.0, -7.0],
}
REFERENCE = {
    "w_w_w": [-3.5, -4.5], "l_w_w": [-4.0, -4.2], "w_l_w": [-3.6, -5.0], "w_w_l": [-3.0, -4.9],
    "l_w_l": [-5.0, -5.0], "l_l_w": [-6.0, -5.0], "w_l_l": [-4.2, -6.0], "l_l_l": [-7.5, -7.1],
}
WEIGHT_OF = {"r1": "w_w_l", "r2": "w_l_w", "r3": "l_w_w", "r4": "l_w_l", "r5": "l_l_w", "r6": "w_l_l", "r7": "l_l_l"}


def tensors(values: dict, grad: bool = False) -> dict[str, torch.Tensor]:
    return {k: torch.tensor(v, dtype=torch.float64, requires_grad=grad) for k, v in values.items()}


def D(key: str, i: int) -> float:
    return POLICY[key][i] - REFERENCE[key][i]


def hand_z(i: int, weights: dict[str, float], norm: float) -> float:
    """z of DESIGN.md §3 written out term by term."""
    r = weights
    z = (r["r3"] * (D("w_w_w", i) - D("l_w_w", i))
         + r["r2"] * (D("w_w_w", i) - D("w_l_w", i))
         + r["r1"] * (D("w_w_w", i) - D("w_w_l", i))
         + r["r4"] * (D("w_w_w", i) - D("l_w_l", i))
         + r["r5"] * (D("w_w_w", i) - D("l_l_w", i))
         + r["r6"] * (D("w_w_w", i) - D("w_l_l", i))
         + r["r7"] * (D("w_w_w", i) - D("l_l_l", i)))
    return z / norm


def neg_logsigmoid(x: float) -> float:
    return math.log1p(math.exp(-x))


def test_default_weights_are_the_published_ones():
    w = FacetWeights()
    assert (w.r1, w.r2, w.r3, w.r4, w.r5, w.r6, w.r7) == (0.5, 0.5, 1.0, 0.2, 0.2, 0.2, 0.2)
    assert w.norm == pytest.approx(2.8)
    assert w.required_keys() == ["w_w_w", "l_w_w", "w_l_w", "w_w_l", "l_w_l", "l_l_w", "w_l_l", "l_l_l"]
    assert sorted(w.required_keys()) == sorted(COMBINATIONS)


def test_total_loss_equals_the_formula_with_default_weights():
    weights = FacetWeights().to_dict()
    loss, metrics = mcm_dpo_loss(tensors(POLICY), tensors(REFERENCE), beta=0.1)
    per_sample = [neg_logsigmoid(0.1 * hand_z(i, weights, 2.8)) for i in range(2)]
    assert loss.item() == pytest.approx(sum(per_sample) / 2, rel=1e-12)
    assert metrics["logits/z"].item() == pytest.approx((hand_z(0, weights, 2.8) + hand_z(1, weights, 2.8)) / 2)


@pytest.mark.parametrize("weight_name", ["r1", "r2", "r3", "r4", "r5", "r6", "r7"])
def test_each_term_alone_equals_its_line_of_the_formula(weight_name):
    """One facet at a time (weight 0.7, norm 0.7): z is exactly that term's bracket."""
    weights = {k: 0.0 for k in WEIGHT_OF}
    weights[weight_name] = 0.7
    facet = next(f for f, (w, _) in FACETS.items() if w == weight_name)
    assert FACETS[facet][1] == WEIGHT_OF[weight_name]
    loss, metrics = mcm_dpo_loss(tensors(POLICY), tensors(REFERENCE), FacetWeights(**weights), beta=0.5)
    negative = WEIGHT_OF[weight_name]
    brackets = [D("w_w_w", i) - D(negative, i) for i in range(2)]
    assert loss.item() == pytest.approx(sum(neg_logsigmoid(0.5 * b) for b in brackets) / 2, rel=1e-12)
    assert metrics[f"facet_accuracies/{facet}"].item() == sum(b > 0 for b in brackets) / 2
    assert [k for k in metrics if k.startswith("facet_accuracies/")] == [f"facet_accuracies/{facet}"]


def test_facet_accuracies_count_positive_terms():
    _, metrics = mcm_dpo_loss(tensors(POLICY), tensors(REFERENCE))
    for facet, (_, negative) in FACETS.items():
        expected = sum((D("w_w_w", i) - D(negative, i)) > 0 for i in range(2)) / 2
        assert metrics[f"facet_accuracies/{facet}"].item() == expected, facet
    # the hand-picked data are not all-or-nothing, so the metric really discriminates
    values = {metrics[f"facet_accuracies/{f}"].item() for f in FACETS}
    assert len(values) > 1


def test_ablation_norm_defaults_to_the_sum_of_enabled_weights_and_can_be_overridden():
    ablated = FacetWeights().only("response", "image")
    assert ablated.enabled() == ["response", "image"] and ablated.norm == pytest.approx(1.5)
    assert ablated.required_keys() == ["w_w_w", "l_w_w", "w_l_w"]
    only = {k: v for k, v in POLICY.items() if k in ablated.required_keys()}
    ref = {k: v for k, v in REFERENCE.items() if k in ablated.required_keys()}
    weights = {k: 0.0 for k in WEIGHT_OF} | {"r3": 1.0, "r2": 0.5}
    loss, _ = mcm_dpo_loss(tensors(only), tensors(ref), ablated)
    assert loss.item() == pytest.approx(sum(neg_logsigmoid(0.1 * hand_z(i, weights, 1.5)) for i in range(2)) / 2)
    loss_norm, _ = mcm_dpo_loss(tensors(only), tensors(ref), ablated, norm=2.8)
    assert loss_norm.item() == pytest.approx(sum(neg_logsigmoid(0.1 * hand_z(i, weights, 2.8)) for i in range(2)) / 2)
    assert loss_norm.item() != pytest.approx(loss.item())


def test_missing_combination_for_an_enabled_facet_is_an_error():
    policy = tensors(POLICY)
    del policy["w_l_w"]
    with pytest.raises(KeyError, match="w_l_w"):
        mcm_dpo_loss(policy, tensors(REFERENCE))


@pytest.mark.parametrize("bad", [dict(r1=-0.1), dict(r1=0, r2=0, r3=0, r4=0, r5=0, r6=0, r7=0)])
def test_invalid_weights_are_refused(bad):
    with pytest.raises(ValueError):
        FacetWeights(**bad)


def test_only_r3_is_dpo_and_matches_trl_sigmoid_formula():
    beta = 0.1
    loss_mcm, m_mcm = mcm_dpo_loss(tensors(POLICY), tensors(REFERENCE), FacetWeights().only("response"), beta=beta)
    p = tensors(POLICY)
    r = tensors(REFERENCE)
    loss_dpo, m_dpo = dpo_loss(p["w_w_w"], p["l_w_w"], r["w_w_w"], r["l_w_w"], beta=beta)
    # trl DPOTrainer, loss_type="sigmoid": logits = (pi_c - pi_r) - (ref_c - ref_r); -logsigmoid(beta * logits)
    hand = []
    for i in range(2):
        logits = (POLICY["w_w_w"][i] - POLICY["l_w_w"][i]) - (REFERENCE["w_w_w"][i] - REFERENCE["l_w_w"][i])
        hand.append(neg_logsigmoid(beta * logits))
    assert loss_dpo.item() == pytest.approx(sum(hand) / 2, rel=1e-12)
    assert loss_mcm.item() == pytest.approx(loss_dpo.item(), rel=1e-12)
    chosen = [beta * D("w_w_w", i) for i in range(2)]
    rejected = [beta * D("l_w_w", i) for i in range(2)]
    assert m_dpo["rewards/chosen"].item() == pytest.approx(sum(chosen) / 2)
    assert m_dpo["rewards/rejected"].item() == pytest.approx(sum(rejected) / 2)
    assert m_dpo["rewards/margins"].item() == pytest.approx((sum(chosen) - sum(rejected)) / 2)
    assert m_dpo["rewards/accuracies"].item() == sum(c > r for c, r in zip(chosen, rejected)) / 2
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"):
        assert m_mcm[key].item() == pytest.approx(m_dpo[key].item())


def test_label_smoothing_is_trl_cdpo():
    p, r, eps, beta = tensors(POLICY), tensors(REFERENCE), 0.2, 0.1
    loss, _ = dpo_loss(p["w_w_w"], p["l_w_w"], r["w_w_w"], r["l_w_w"], beta=beta, label_smoothing=eps)
    hand = []
    for i in range(2):
        logits = (POLICY["w_w_w"][i] - POLICY["l_w_w"][i]) - (REFERENCE["w_w_w"][i] - REFERENCE["l_w_w"][i])
        hand.append((1 - eps) * neg_logsigmoid(beta * logits) + eps * neg_logsigmoid(-beta * logits))
    assert loss.item() == pytest.approx(sum(hand) / 2, rel=1e-12)


def test_sample_weights_give_a_weighted_mean():
    p, r = tensors(POLICY), tensors(REFERENCE)
    per_sample = [dpo_loss(p["w_w_w"][i:i + 1], p["l_w_w"][i:i + 1],
                           r["w_w_w"][i:i + 1], r["l_w_w"][i:i + 1])[0].item() for i in range(2)]
    loss, _ = dpo_loss(p["w_w_w"], p["l_w_w"], r["w_w_w"], r["l_w_w"], sample_weights=torch.tensor([1.0, 0.25]))
    assert loss.item() == pytest.approx((per_sample[0] + 0.25 * per_sample[1]) / 1.25)


@pytest.mark.parametrize("weights", [FacetWeights(), FacetWeights.dpo(), FacetWeights().only("image", "all")])
def test_policy_equal_to_reference_gives_log2_and_zero_rewards(weights):
    same = tensors(POLICY)
    loss, metrics = mcm_dpo_loss(same, tensors(POLICY), weights)
    assert loss.item() == pytest.approx(math.log(2), rel=1e-12)
    assert metrics["rewards/chosen"].item() == 0.0
    if "l_w_w" in weights.required_keys():
        assert metrics["rewards/rejected"].item() == 0.0
        assert metrics["rewards/margins"].item() == 0.0
        assert metrics["rewards/accuracies"].item() == 0.0  # a tie is not a win


def test_gradients_reach_policy_only_and_match_the_analytic_derivative():
    weights, beta = FacetWeights().only("response", "image", "context"), 0.3
    policy, reference = tensors(POLICY, grad=True), tensors(REFERENCE, grad=True)
    loss, metrics = mcm_dpo_loss(policy, reference, weights, beta=beta)
    loss.backward()
    assert all(t.grad is None for t in reference.values()), "reference log-probs must get no gradient"
    assert all(not m.requires_grad for m in metrics.values())
    w = weights.to_dict()
    norm = weights.norm
    for i in range(2):
        z = hand_z(i, w, norm)
        # d/dx -logsigmoid(beta z) = -(1 - sigmoid(beta z)) * beta * dz/dx, mean over 2 samples
        g = -(1 - 1 / (1 + math.exp(-beta * z))) * beta / 2
        assert policy["w_w_w"].grad[i].item() == pytest.approx(g * (1.0 + 0.5 + 0.5) / norm)
        assert policy["l_w_w"].grad[i].item() == pytest.approx(-g * 1.0 / norm)
        assert policy["w_l_w"].grad[i].item() == pytest.approx(-g * 0.5 / norm)
        assert policy["w_w_l"].grad[i].item() == pytest.approx(-g * 0.5 / norm)
    for ablated in ("l_w_l", "l_l_w", "w_l_l", "l_l_l"):
        assert policy[ablated].grad is None, f"ablated combination {ablated} must not be used"


def test_sequence_logprobs_counts_response_tokens_only():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 7)
    labels = torch.tensor([[1, 2, 3, 4, 5], [6, 0, 1, 2, 3]])
    mask = torch.tensor([[0, 0, 1, 1, 1], [0, 1, 1, 0, 0]], dtype=torch.bool)  # prompt first, padding last
    logps = torch.log_softmax(logits, -1)
    expected = [sum(logps[b, t, labels[b, t]].item() for t in range(5) if mask[b, t]) for b in range(2)]
    got = sequence_logprobs(logits, labels, mask)
    assert got.shape == (2,)
    assert got.tolist() == pytest.approx(expected, rel=1e-6)
    # Hugging Face convention: -100 labels are ignored when no mask is given
    hf_labels = torch.where(mask, labels, torch.full_like(labels, -100))
    assert sequence_logprobs(logits, hf_labels).tolist() == pytest.approx(expected, rel=1e-6)
    # bf16 logits are scored in float32
    assert sequence_logprobs(logits.bfloat16(), labels, mask).dtype == torch.float32


def test_sequence_logprobs_refuses_misaligned_inputs():
    with pytest.raises(ValueError):
        sequence_logprobs(torch.zeros(2, 5, 7), torch.zeros(2, 4, dtype=torch.long))


def test_sft_loss_is_cross_entropy_over_response_tokens():
    torch.manual_seed(1)
    logits = torch.randn(3, 6, 11)
    labels = torch.randint(0, 11, (3, 6))
    mask = torch.rand(3, 6) > 0.4
    mask[:, 0] = True
    expected = F.cross_entropy(logits.reshape(-1, 11), torch.where(mask, labels, -100).reshape(-1), ignore_index=-100)
    assert sft_loss(logits, labels, mask).item() == pytest.approx(expected.item(), rel=1e-6)


def test_negatives_under_which_the_chosen_text_is_still_right_are_named():
    from trainer.losses import wrong_under

    # the page alone decides (an icon only its link explains): a corrupted image is no negative
    assert wrong_under("context", reads_text=False) == {f: f != "image" for f in FACETS}
    # the image alone decides and no text was read: a swapped context is no negative
    assert wrong_under("image", reads_text=False) == {f: f != "context" for f in FACETS}
    # ... unless text was read: the prompt carries it, so swapping the context swaps the text
    assert all(wrong_under("image", reads_text=True).values())
    # either input suffices: only negatives that replace both, or the response, stay
    assert wrong_under("either", reads_text=False) == {f: f not in ("image", "context") for f in FACETS}
    # what decides is not known (user feedback, the paper's data): every negative, as the paper
    assert all(wrong_under(None, reads_text=False).values()) and all(wrong_under("both", False).values())


def test_a_masked_facet_leaves_that_samples_sum_and_its_normaliser():
    weights = FacetWeights().to_dict()
    everything = {f: torch.tensor([True, True]) for f in FACETS}
    plain, _ = mcm_dpo_loss(tensors(POLICY), tensors(REFERENCE), beta=0.1)
    unmasked, _ = mcm_dpo_loss(tensors(POLICY), tensors(REFERENCE), beta=0.1, facet_mask=everything)
    assert unmasked.item() == pytest.approx(plain.item(), rel=1e-12)
    # sample 0 without the image facet (r2), sample 1 without the context facet (r1)
    mask = dict(everything, image=torch.tensor([False, True]), context=torch.tensor([True, False]))
    masked, metrics = mcm_dpo_loss(tensors(POLICY), tensors(REFERENCE), beta=0.1, facet_mask=mask)
    z0 = hand_z(0, dict(weights, r2=0.0), 2.8 - 0.5)
    z1 = hand_z(1, dict(weights, r1=0.0), 2.8 - 0.5)
    assert masked.item() == pytest.approx((neg_logsigmoid(0.1 * z0) + neg_logsigmoid(0.1 * z1)) / 2, rel=1e-12)
    assert metrics["logits/z"].item() == pytest.approx((z0 + z1) / 2)
