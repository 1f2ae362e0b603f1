"""The real-web harness: what a screen-reader user gets from altlens on pages nobody here wrote.

``python -m eval_harness.realweb`` (``make eval-realweb``). Records come from
manifests in the format of ``../shared/data/realweb`` (or the paper's JSON),
answers from three levels (the backend's describe API; a real Chromium with the
extension on rebuilt pages; Orca 43 reading a sample of those pages, pressing
"next graphic"), and verdicts from one mechanical judge
(:mod:`eval_harness.realweb.judge`).
"""
