"""The core pieces together on a real (tiny) ViT + GPT-2 model and the paper's sample.

Loader → shared input builder → corruptions / swapped contexts → response
log-probs → MCM-DPO loss: a policy equal to its reference gives log 2 and zero
rewards, gradients reach the policy and never the reference, and one gradient
step lowers the loss.
"""
from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence
from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

from backend.modelinput import build_model_input, encode_response
from trainer.corruptions import corrupt_images, swap_contexts
from trainer.data import load_paper
from trainer.losses import COMBINATIONS, mcm_dpo_loss, sequence_logprobs


def score_all_combinations(model, tokenizer, pixels, pixels_l, prompts, prompts_l, chosen, rejected):
    """Summed response log-probs for the 8 (response, image, context) combinations."""
    max_len = model.config.decoder.n_positions  # the tiny tokenizer spends many tokens on long tweets
    response_len = 24  # enough to tell responses apart; keeps the test fast
    out = {}
    for key in COMBINATIONS:
        resp, img, ctx = key.split("_")
        ids, masks = [], []
        for i in range(len(chosen)):
            prompt = (prompts if ctx == "w" else prompts_l)[i]
            response = encode_response(tokenizer, (chosen if resp == "w" else rejected)[i])[: min(response_len, max_len - len(prompt))]
            ids.append(torch.tensor(prompt + response))
            masks.append(torch.tensor([False] * len(prompt) + [True] * len(response)))
        ids = pad_sequence(ids, batch_first=True, padding_value=tokenizer.pad_token_id)
        mask = pad_sequence(masks, batch_first=True, padding_value=False)
        # right padding after the response: causal attention keeps it out of the scored tokens
        logits = model(pixel_values=pixels if img == "w" else pixels_l, decoder_input_ids=ids).logits
        out[key] = sequence_logprobs(logits[:, :-1], ids[:, 1:], mask[:, 1:])
    return out


@pytest.fixture(scope="module")
def batch(tiny_checkpoint, sample_dir):
    tokenizer = AutoTokenizer.from_pretrained(tiny_checkpoint)
    processor = AutoImageProcessor.from_pretrained(tiny_checkpoint)
    examples = load_paper(sample_dir / "twitter" / "twitter_train.json").examples[:3]
    generator = torch.Generator().manual_seed(0)
    contexts_l = swap_contexts([e.context for e in examples], generator)
    inputs = [build_model_input(e.load_image(), e.context, "", tokenizer, processor) for e in examples]
    inputs_l = [build_model_input(e.load_image(), c, "", tokenizer, processor) for e, c in zip(examples, contexts_l)]
    pixels = torch.stack([torch.from_numpy(m.pixel_values) for m in inputs])
    return dict(
        tokenizer=tokenizer,
        pixels=pixels,
        pixels_l=corrupt_images(pixels, "diffusion", generator),
        prompts=[m.prompt_ids for m in inputs],
        prompts_l=[m.prompt_ids for m in inputs_l],
        chosen=[e.chosen for e in examples],
        rejected=[e.rejected for e in examples],
    )


def test_policy_equal_to_reference_then_one_step_improves(tiny_checkpoint, batch):
    torch.manual_seed(0)
    policy = VisionEncoderDecoderModel.from_pretrained(tiny_checkpoint).train()
    for module in policy.modules():  # dropout would make policy and reference differ by chance
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    reference = copy.deepcopy(policy).eval().requires_grad_(False)
    with torch.no_grad():
        ref_logps = score_all_combinations(reference, **batch)
    pol_logps = score_all_combinations(policy, **batch)
    assert all(torch.isfinite(v).all() and (v < 0).all() for v in pol_logps.values())
    # the negatives really differ from the positives
    assert not torch.allclose(pol_logps["w_w_w"], pol_logps["w_l_w"])
    assert not torch.allclose(pol_logps["w_w_w"], pol_logps["w_w_l"])

    loss, metrics = mcm_dpo_loss(pol_logps, ref_logps)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)
    for key in ("rewards/chosen", "rewards/rejected", "rewards/margins"):
        assert metrics[key].item() == pytest.approx(0.0, abs=1e-6)

    loss.backward()
    grads = [p.grad for p in policy.parameters() if p.requires_grad]
    assert any(g is not None and g.abs().sum() > 0 for g in grads)
    encoder_grads = [p.grad for p in policy.encoder.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in encoder_grads), "vision encoder is trainable"
    assert all(p.grad is None for p in reference.parameters())

    torch.optim.SGD(policy.parameters(), lr=1.0).step()
    after, _ = mcm_dpo_loss(score_all_combinations(policy, **batch), ref_logps)
    assert after.item() < loss.item()
