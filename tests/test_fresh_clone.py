"""What a fresh clone relies on: the PDFs it carries, the way a missing corpus is reported, ``make help``."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, VENDORED_CORPUS

MAX_COMMITTED_BYTES = 2 * 1024 * 1024


def test_every_vendored_pdf_is_listed_with_its_licence_and_hash() -> None:
    manifest = {e["file"]: e for e in json.loads((VENDORED_CORPUS / "manifest.json").read_text())}
    notice = (VENDORED_CORPUS / "README.md").read_text()
    files = sorted(p.name for p in (VENDORED_CORPUS / "pdfs").iterdir())
    assert files == sorted(manifest)
    for name in files:
        data = (VENDORED_CORPUS / "pdfs" / name).read_bytes()
        assert len(data) < MAX_COMMITTED_BYTES
        digest = hashlib.sha256(data).hexdigest()
        assert digest == manifest[name]["sha256"]
        row = next(line for line in notice.splitlines() if line.startswith(f"| {name} |"))
        assert digest in row and manifest[name]["license"] in row


def test_tests_and_code_never_reach_outside_the_clone() -> None:
    sibling = re.compile(r"\.\./" + "shared|shared/" + "corpus")
    sources = [ROOT / "Makefile", *ROOT.glob("src/**/*.py"), *ROOT.glob("tests/**/*.py")]
    assert [str(p.relative_to(ROOT)) for p in sources if sibling.search(p.read_text())] == []


def test_a_missing_corpus_stops_the_run_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "CSSE_CORPUS": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/sse"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 4  # pytest's usage error: nothing collected, nothing skipped
    assert f"no PDF corpus at {tmp_path.resolve()}" in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_make_help_shows_real_values() -> None:
    run = subprocess.run(
        ["make", "-s", "help", "PORT=8123"], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
    )
    assert "http://127.0.0.1:8123" in run.stdout
    assert "$(" not in run.stdout
