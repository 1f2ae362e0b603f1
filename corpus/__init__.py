"""Seeded generator of the web-image corpus the bundled default model learns from.

Each example is a small image that pages commonly leave without alt text,
placed in a DOM fragment, with the correct alt (``reference``), a deliberately
noisy SFT target and rejected alternatives for preference training. See
corpus/README.md for sources, licences, categories and the noise model.
"""
from corpus.config import CATEGORIES, DEFECT_TYPES, CorpusConfig
from corpus.generate import generate

__all__ = ["CATEGORIES", "DEFECT_TYPES", "CorpusConfig", "generate"]
