"""`web-ext lint` (Mozilla's linter, npm) on the unpacked extension, for Firefox."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.e2e.conftest import EXTENSION, REPO, copy_extension

# Chrome needs background.service_worker; Firefox ignores it and uses background.scripts (DESIGN.md §5).
ALLOWED_WARNINGS = {"BACKGROUND_SERVICE_WORKER_IGNORED"}


def lint(source) -> dict:
    binary = REPO / "node_modules" / ".bin" / "web-ext"
    if not binary.exists():
        pytest.fail("web-ext is missing: run `make node` (npm ci)")
    out = subprocess.run([str(binary), "lint", "--source-dir", str(source), "--self-hosted", "--output", "json"],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    return json.loads(out.stdout)


def test_web_ext_lint_passes():
    report = lint(EXTENSION)
    assert report["errors"] == [], report["errors"]
    assert {w["code"] for w in report["warnings"]} <= ALLOWED_WARNINGS, report["warnings"]


def test_web_ext_lint_catches_a_broken_manifest(tmp_path):
    broken = copy_extension(tmp_path)
    manifest = json.loads((broken / "manifest.json").read_text())
    del manifest["browser_specific_settings"]["gecko"]["id"]
    manifest["background"].pop("scripts")
    (broken / "manifest.json").write_text(json.dumps(manifest))
    report = lint(broken)
    assert report["errors"] or report["warnings"]
