"""One METEOR jar for the whole folder: it takes seconds to load its paraphrase table."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def meteor_jar():
    from eval_harness.metrics import MeteorJar

    return MeteorJar.shared()  # the same process-wide jar that python -m eval_harness uses
