"""``make bench`` (``python -m bench``): side-by-side performance figures for altlens.

Each section (model, http, ocr_gate, extension, training, quantization) runs its
comparisons in one process run so both sides see the same machine load, and
returns :class:`bench.report.Figure` rows: a value, its unit, and the issue-8
target beside it. ``bench.report`` writes them to ``bench/results/latest.json``
and ``latest.md``. Nothing here is a pass/fail test; missed targets are reported.
"""
