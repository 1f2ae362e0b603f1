"""A copy head: lets the decoder take its next token from the prompt instead of spelling it.

The alt text of an image of text *is* the text the OCR read, and the prompt
(``backend.modelinput``) already holds it. A decoder this small still fails to
reproduce rare strings from it: it writes "@graceokafor" for "@okafor58",
because the vocabulary path prefers what it has seen often. A pointer-generator
(See et al., 2017) fixes this by mixing two distributions at every step:

    p(w) = (1 - g) · softmax(logits)(w) + g · Σ_{j : next(j) = w} a_j

where ``a`` is an attention over the prompt positions and ``g`` a learned gate.
The attention works like an induction head: the query (the token just written)
matches the key of a prompt position holding the same token, and the head
proposes the token that *followed* it in the prompt (``next(j)``). Copying
"@okafor58" is then "@" → "okafor" → "58", each step one match.

A match on the token just written is ambiguous where that token occurs more than
once in the prompt (":" ends every field label), and after a token the vocabulary
inserted (the ":" after a handle, which the OCR text does not have) nothing in the
prompt says where the copy was. So the head also carries a *copy position* from
step to step, as the decoder carries its key/value cache: after a copied token it
moves one source on, after any other token it stays; the attention gets a learned
bonus (``continuation``) there. Training runs that recurrence over the response
positions (:meth:`CopyHead.teacher_forced`); decoding takes one step at a time
(:meth:`CopyHead.start`, :meth:`CopyHead.step`), in PyTorch and in the ONNX graphs.

The same code runs in training (``trainer.modeling``), in
PyTorch generation and inside the exported ONNX decoder graphs
(``trainer.decoder_export``), so serving mixes exactly as training did. The head
is stored beside the Hugging Face checkpoint (``copy_head.safetensors``): a
checkpoint without it (a pretrained one from a hub) decodes without copying.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_FILE = "copy_head.safetensors"
CONFIG_FILE = "copy_head.json"
# Added to the copy scores of positions that cannot be copied from (padding, the
# response itself). Like the decoder's padding score: finite, and exp() of it is 0.
NO_SOURCE_SCORE = -1e4
# log of the smallest copy probability: keeps log() finite (and its gradient) where
# no prompt position proposes a token.
_MIN_COPY_PROB = 1e-30
# The continuation bonus a fresh head starts with, in attention-logit units.
CONTINUATION_INIT = 4.0
_EPS = 1e-6


class CopyHead(nn.Module):
    """Query, key and gate projections over the decoder's final hidden states, and the continuation bonus.

    The copy state carried between decoding steps is ``(position, attention)``, both
    ``[B, S]``: where the copy is (a distribution over sources) and where the last
    step attended.
    """

    def __init__(self, hidden_size: int, dim: int, gate_bias: float = -1.0):
        super().__init__()
        self.hidden_size, self.dim = hidden_size, dim
        self.query = nn.Linear(hidden_size, dim)
        self.key = nn.Linear(hidden_size, dim)
        self.gate = nn.Linear(hidden_size, 1)
        self.continuation = nn.Parameter(torch.tensor(CONTINUATION_INIT))
        # Start mostly on the vocabulary path: a fresh head must not drown a trained decoder.
        nn.init.zeros_(self.gate.weight)
        nn.init.constant_(self.gate.bias, gate_bias)

    def keys(self, hidden: torch.Tensor) -> torch.Tensor:
        """Keys of the positions that may be copied from, ``[B, S, dim]`` (kept by the decoder's caller)."""
        return self.key(hidden)

    def start(self, logits, hidden, keys, targets, source_score):
        """A prompt (no copy in progress anywhere in it): log-probs ``[B, T, V]`` and the state after it.

        ``logits``/``hidden``: the decoder's output at the T positions;
        ``keys``/``targets``/``source_score``: the S prompt positions
        (:func:`copy_sources`), the token each proposes and 0 or :data:`NO_SOURCE_SCORE`.
        """
        attention = torch.softmax(self._match(hidden, keys, source_score), dim=-1)
        return self._mix(logits, hidden, attention, targets), (torch.zeros_like(attention[:, -1]), attention[:, -1])

    def step(self, logits, hidden, keys, targets, source_score, token, state):
        """One new position (``hidden`` ``[B, 1, H]``) whose input ``token`` [B] the previous step wrote."""
        position = advance(*state, targets, token)
        attention = torch.softmax(self._match(hidden, keys, source_score)[:, 0] + self.continuation * position, dim=-1)
        return self._mix(logits, hidden, attention[:, None], targets), (position, attention)

    def teacher_forced(self, logits, hidden, keys, targets, source_score, inputs, response_start):
        """Training: every position of ``inputs`` [B, T] at once, the copy position run through the response.

        ``response_start`` [B]: the first position whose input is a response token
        (the prompt's length); before it no copy is in progress, as in :meth:`start`.
        Equal, position by position, to :meth:`start` on the prompt and then
        :meth:`step` for each response token.
        """
        match = self._match(hidden, keys, source_score)  # [B, T, S]
        plain = torch.softmax(match, dim=-1)
        first = max(int(response_start.min()), 1)
        position, attended = torch.zeros_like(plain[:, 0]), plain[:, first - 1]
        steps = [plain[:, :first]]
        for t in range(first, match.shape[1]):
            started = (t >= response_start)[:, None]
            position = torch.where(started, advance(position, attended, targets, inputs[:, t]),
                                   torch.zeros_like(position)).detach()
            attended = torch.where(started, torch.softmax(match[:, t] + self.continuation * position, dim=-1),
                                   plain[:, t])
            steps.append(attended[:, None])
        return self._mix(logits, hidden, torch.cat(steps, dim=1), targets)

    def _match(self, hidden, keys, source_score):
        scores = self.query(hidden.float()).float() @ keys.float().transpose(1, 2) / math.sqrt(self.dim)
        return scores + source_score[:, None, :].float()

    def _mix(self, logits, hidden, attention, targets):
        """log((1 - g) softmax(logits) + g · copied), ``[B, T, V]``."""
        logits = logits.float()
        index = targets[:, None, :].expand(-1, attention.shape[1], -1)
        copied = torch.zeros_like(logits).scatter_add(-1, index, attention)  # [B, T, V]
        gate = self.gate(hidden.float()).float()
        vocabulary = F.logsigmoid(-gate) + F.log_softmax(logits, dim=-1)
        copying = F.logsigmoid(gate) + torch.log(copied.clamp_min(_MIN_COPY_PROB))
        top = torch.maximum(vocabulary, copying)  # log(exp(a) + exp(b)), stable, plain ONNX ops
        return top + torch.log(torch.exp(vocabulary - top) + torch.exp(copying - top))

    def save(self, out_dir: str | Path) -> None:
        from safetensors.torch import save_file

        out = Path(out_dir)
        save_file({k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}, str(out / WEIGHTS_FILE))
        (out / CONFIG_FILE).write_text(json.dumps({"hidden_size": self.hidden_size, "dim": self.dim}))


def load_copy_head(checkpoint_dir: str | Path) -> CopyHead | None:
    """The checkpoint's copy head, or None when it has none (it then decodes without copying)."""
    directory = Path(checkpoint_dir)
    if not (directory / CONFIG_FILE).is_file():
        return None
    from safetensors.torch import load_file

    config = json.loads((directory / CONFIG_FILE).read_text())
    head = CopyHead(int(config["hidden_size"]), int(config["dim"]))
    head.load_state_dict(load_file(str(directory / WEIGHTS_FILE)))
    return head


def copy_sources(ids: torch.Tensor, prompt_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per position of ``ids`` [B, S]: the token it proposes (the next one) and its source score.

    A position is a source when it and the next position are both prompt tokens
    (``prompt_mask`` 1): the next token is then part of what was read, never part
    of the response being scored, and never padding (left or right).
    """
    mask = prompt_mask.to(torch.float32)
    source = torch.cat([mask[:, :-1] * mask[:, 1:], torch.zeros_like(mask[:, :1])], dim=1)
    targets = torch.cat([ids[:, 1:], torch.zeros_like(ids[:, :1])], dim=1)
    return targets, (1.0 - source) * NO_SOURCE_SCORE


def advance(position: torch.Tensor, attention: torch.Tensor, targets: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
    """Where the copy is after ``token`` [B] was written: one source past the attended sources that proposed it.

    When no attended source proposed it (the vocabulary wrote it), the copy stays
    at ``position``.
    """
    proposed = attention * (targets == token[:, None]).to(attention.dtype)
    total = proposed.sum(dim=-1, keepdim=True)
    moved = torch.cat([torch.zeros_like(proposed[:, :1]), proposed[:, :-1]], dim=-1) / total.clamp_min(_EPS)
    return torch.where(total > _EPS, moved, position)
