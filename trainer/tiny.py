"""Small ViT + GPT-2 alt-text models built from configs, with a tokenizer trained here.

There is no model hub on the machines this project is built and tested on, so
every model the project makes itself starts from :func:`build_model`: a
``VisionEncoderDecoderModel`` (the architecture of Mozilla/distilvit and
nlpconnect/vit-gpt2) at a size chosen by :class:`ModelSize`, a byte-level BPE
tokenizer trained on the texts it will see, and a ViT image processor. The
result is saved in the layout ``from_pretrained`` reads, so a pretrained
checkpoint directory can be used anywhere a tiny one is.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    GPT2Config,
    GPT2TokenizerFast,
    GenerationConfig,
    VisionEncoderDecoderModel,
    ViTConfig,
    ViTImageProcessor,
)

from backend.modelinput import EOS_TOKEN, POINTER_TOKENS, SPECIAL_TOKENS


@dataclass(frozen=True)
class ModelSize:
    """Sizes of the encoder and decoder. The defaults make a test-sized model (~0.5M params)."""

    image_size: int = 32
    patch_size: int = 8
    hidden: int = 32
    layers: int = 2
    heads: int = 2
    decoder_layers: int = 2
    vocab_size: int = 600
    max_positions: int = 256


# Words every tokenizer learns, so prompts and typical alt text tokenize sensibly
# even when the training texts are few (tests, untrained first-run models).
BASE_TEXT = (
    "link button only target caption heading text page file search menu home cart "
    "close open next previous play pause settings share download upload profile "
    "a photo of chart bar line pie showing sales year decorative image logo icon"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int, pointers: bool = False) -> GPT2TokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts``, with the altlens special tokens
    (the OCR pointer tokens of backend/modelinput.py only with ``pointers``)."""
    special = SPECIAL_TOKENS + (POINTER_TOKENS if pointers else [])
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=special,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator([BASE_TEXT, *texts], trainer=trainer)
    fast = GPT2TokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
    )
    fast.add_special_tokens({"additional_special_tokens": special[1:]})
    fast.model_max_length = 512
    return fast


def build_model(
    out_dir: str | Path,
    texts: Iterable[str] = (),
    size: ModelSize = ModelSize(),
    seed: int = 0,
    pointers: bool = False,
) -> Path:
    """Build an untrained model, its tokenizer and image processor, and save them to ``out_dir``."""
    torch.manual_seed(seed)
    out = Path(out_dir)
    tokenizer = train_tokenizer(texts, size.vocab_size, pointers)
    encoder = ViTConfig(
        image_size=size.image_size,
        patch_size=size.patch_size,
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        intermediate_size=size.hidden * 4,
    )
    decoder = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=size.hidden,
        n_layer=size.decoder_layers,
        n_head=size.heads,
        n_positions=size.max_positions,
        add_cross_attention=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = VisionEncoderDecoderModel(
        encoder=_init(encoder, "encoder"), decoder=_init(decoder, "decoder")
    )
    model.config.decoder_start_token_id = tokenizer.bos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id
    model.generation_config = GenerationConfig(
        decoder_start_token_id=tokenizer.bos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        max_new_tokens=32,
    )
    processor = ViTImageProcessor(
        size={"height": size.image_size, "width": size.image_size},
        image_mean=[0.5, 0.5, 0.5],
        image_std=[0.5, 0.5, 0.5],
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def _init(config, part: str):
    from transformers import GPT2LMHeadModel, ViTModel

    return ViTModel(config, add_pooling_layer=False) if part == "encoder" else GPT2LMHeadModel(config)


# The size of the bundled default model (`make model`): small enough to answer in
# a few milliseconds per image on 2 CPU cores and to commit (well under 50 MB of ONNX).
BUNDLED_SIZE = ModelSize(image_size=64, patch_size=8, hidden=96, layers=2, heads=4,
                         decoder_layers=3, vocab_size=1500, max_positions=256)
