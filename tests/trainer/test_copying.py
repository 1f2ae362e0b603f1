"""The copy head: what it may copy from, that it mixes a proper distribution, and that it learns to copy."""
from __future__ import annotations

import random

import pytest
import torch

from trainer.copying import NO_SOURCE_SCORE, CopyHead, advance, copy_sources, load_copy_head
from trainer.modeling import VisionEncoderDecoderPolicy, pack_sequences
from trainer.tiny import ModelSize, build_model


def test_sources_are_prompt_positions_whose_next_token_is_prompt_too():
    # right padding (training): prompt [5, 6, 7], response [8, 9]
    packed = pack_sequences([[5, 6, 7]], [[8, 9]], pad_id=0)
    targets, score = copy_sources(packed.input_ids, packed.prompt_mask)
    assert targets.tolist() == [[6, 7, 8, 9, 0]]
    assert (score == 0).tolist() == [[True, True, False, False, False]]  # never proposes 8: the response
    # left padding (serving): two pad positions, then prompt [5, 6, 7]
    ids, mask = torch.tensor([[0, 0, 5, 6, 7]]), torch.tensor([[0, 0, 1, 1, 1]])
    targets, score = copy_sources(ids, mask)
    assert targets.tolist() == [[0, 5, 6, 7, 0]]
    assert score.tolist() == [[NO_SOURCE_SCORE, NO_SOURCE_SCORE, 0.0, 0.0, NO_SOURCE_SCORE]]


def test_the_mixture_is_a_distribution_and_copying_proposes_only_what_follows_in_the_prompt():
    torch.manual_seed(0)
    head = CopyHead(hidden_size=8, dim=4)
    ids = torch.tensor([[3, 11, 12, 11, 13, 2]])
    targets, score = copy_sources(ids, torch.tensor([[1, 1, 1, 1, 1, 0]]))
    states, logits = torch.randn(1, 6, 8), torch.randn(1, 6, 20)
    with torch.no_grad():
        mixed, _ = head.start(logits, states, head.keys(states), targets, score)
        assert torch.allclose(mixed.exp().sum(-1), torch.ones(1, 6), atol=1e-5)
        head.gate.bias.fill_(30.0)  # all mass on the copy path
        copied = head.start(logits, states, head.keys(states), targets, score)[0].exp()
    # sources 0..3 propose 11, 12, 11, 13; position 4 (next is 2, not prompt) and 5 are not sources
    assert set(torch.nonzero(copied[0, -1] > 1e-6).flatten().tolist()) == {11, 12, 13}
    assert float(copied[0, -1].sum()) == pytest.approx(1.0, abs=1e-5)


def test_the_copy_position_moves_on_after_a_copied_token_and_stays_after_any_other():
    targets = torch.tensor([[11, 12, 11, 13, 0]])
    attention = torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]])  # attending to source 2, which proposes 11
    position = torch.tensor([[0.0, 1.0, 0.0, 0.0, 0.0]])
    assert advance(position, attention, targets, torch.tensor([11])).tolist() == [[0.0, 0.0, 0.0, 1.0, 0.0]]
    # a token no attended source proposed (the vocabulary wrote it): the copy stays where it was
    assert advance(position, attention, targets, torch.tensor([12])).tolist() == position.tolist()
    assert advance(position, attention, targets, torch.tensor([40])).tolist() == position.tolist()


def test_training_runs_the_copy_position_as_decoding_does():
    """Teacher forcing over a batch (two prompt lengths, right padding) = the prompt, then one step per token."""
    torch.manual_seed(0)
    head = CopyHead(hidden_size=8, dim=4)
    with torch.no_grad():
        head.gate.bias.fill_(1.0)
    ids = torch.tensor([[1, 5, 6, 5, 7, 5, 6, 0, 0], [1, 5, 6, 9, 5, 7, 5, 6, 7]])
    prompt_lengths = torch.tensor([4, 6])
    prompt_mask = (torch.arange(9)[None] < prompt_lengths[:, None]).long()
    hidden, logits = torch.randn(2, 9, 8), torch.randn(2, 9, 12)
    keys = head.keys(hidden)
    targets, score = copy_sources(ids, prompt_mask)
    with torch.no_grad():
        together = head.teacher_forced(logits, hidden, keys, targets, score, ids, prompt_lengths)
        for row, length in enumerate(prompt_lengths.tolist()):
            one = slice(row, row + 1)
            logp, state = head.start(logits[one, :length], hidden[one, :length], keys[one], targets[one], score[one])
            stepped = [logp[0, -1]]
            for t in range(length, ids.shape[1]):
                logp, state = head.step(logits[one, t:t + 1], hidden[one, t:t + 1], keys[one], targets[one],
                                        score[one], ids[one, t], state)
                stepped.append(logp[0, -1])
            assert torch.allclose(together[row, length - 1:], torch.stack(stepped), atol=1e-5)
            assert not torch.allclose(state[0], torch.zeros_like(state[0]))  # the position really moved


def test_the_head_is_saved_with_the_checkpoint(tmp_path, tiny_checkpoint):
    policy = VisionEncoderDecoderPolicy.from_pretrained(tiny_checkpoint)
    with torch.no_grad():
        policy.copy_head.gate.bias.fill_(0.75)
    policy.save_pretrained(tmp_path / "saved")
    reloaded = load_copy_head(tmp_path / "saved")
    assert float(reloaded.gate.bias) == pytest.approx(0.75)
    assert torch.equal(reloaded.query.weight, policy.copy_head.query.weight)
    assert load_copy_head(tmp_path) is None  # no head: the policy decodes without copying


def _copy_task(rng: random.Random, vocab: range, n: int):
    """Prompts holding 3 random tokens; the right response repeats them. Unseen strings in every example."""
    prompts, responses = [], []
    for _ in range(n):
        word = [rng.choice(vocab) for _ in range(3)]
        prompts.append([0, 1, 2, *word, 3])
        responses.append([*word, 0])
    return prompts, responses


def _copy_accuracy_after_training(checkpoint, steps: int = 150) -> float:
    torch.manual_seed(0)
    policy = VisionEncoderDecoderPolicy.from_pretrained(checkpoint).train()
    optimizer = torch.optim.AdamW(policy.parameters(), lr=3e-3)
    rng = random.Random(0)
    vocab = range(40, len(policy.tokenizer))
    pixels = torch.zeros(1, 3, 32, 32)
    for _ in range(steps):
        prompts, responses = _copy_task(rng, vocab, 32)
        seqs = policy.pack(prompts, responses)
        loss = -policy(pixels, torch.zeros(len(prompts), dtype=torch.long), seqs).sum() / seqs.response_mask.sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    policy.eval()
    prompts, responses = _copy_task(random.Random(1), vocab, 40)  # held-out strings
    answers = [policy.generate(pixels, [p], max_new_tokens=len(r))[0] for p, r in zip(prompts, responses)]
    return sum(a == r for a, r in zip(answers, responses)) / len(prompts)


def test_a_copy_head_learns_to_repeat_strings_it_has_never_seen(tmp_path):
    """The reason the head exists: the same short training copies unseen strings with it, and barely without."""
    texts = ["copy these words"]
    with_head = build_model(tmp_path / "copy", texts=texts, size=ModelSize(copy_dim=16), seed=0)
    without = build_model(tmp_path / "plain", texts=texts, size=ModelSize(copy_dim=0), seed=0)
    copied = _copy_accuracy_after_training(with_head)
    spelled = _copy_accuracy_after_training(without)
    assert copied >= 0.8, copied
    assert copied > spelled + 0.4, (copied, spelled)
