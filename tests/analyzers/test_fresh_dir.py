"""eval.fresh: the fresh directory rebuilt from clones, earlier versions picked as docs/EVALUATION.md says."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from eval.fresh import CURRENT, HISTORY, History, build, history

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def sentence(word: str, n: int) -> str:
    return f"Clause {n} of the {word} terms applies to every account that is opened on the service.\n"


def commit(repo: Path, files: dict[str, str | None], message: str) -> None:
    for name, body in files.items():
        path = repo / name
        if body is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    env = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "-C", str(repo), *env, "commit", "-qm", message], check=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "acme+terms-versions"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    words = ["first", "second", "third", "fourth", "fifth"]
    for i, word in enumerate(words):
        files: dict[str, str | None] = {"Acme/Terms of Service.md": "".join(sentence(word, n) for n in range(4))}
        if i == 0:
            files["Gone/Privacy Policy.md"] = "".join(sentence("gone", n) for n in range(4))
            files["README.md"] = "Not a notice. " * 10
        if i in (0, 2):  # a name git would quote, written as it is
            files["Caf\u00e9/Terms of Service.md"] = "".join(sentence(f"caf\u00e9 {i}", n) for n in range(4))
        if i == 1:
            files["Gone/Privacy Policy.md"] = None
        if i == 3:  # a version whose sentences are mostly the first version's: not new enough to keep
            files["Acme/Terms of Service.md"] = "".join(sentence("first", n) for n in range(3)) + sentence("x", 9)
        commit(repo, files, f"version {i}")
    return repo


def test_each_stage_takes_its_version_when_enough_of_it_is_new(repo: Path, tmp_path: Path) -> None:
    spec = History("acme/terms-versions", lambda p: p if p.count("/") == 1 else None, ("old", "mid", "q"))
    out = tmp_path / "fresh"
    written = history(repo, spec, out, "acme")
    # five versions: old takes 0, mid takes 2, q takes 1 and 3; 3 repeats 0's sentences, so only 1 is written
    assert (out / "acme-old/Acme/Terms of Service.md").read_text().startswith("Clause 0 of the first")
    assert (out / "acme-mid/Acme/Terms of Service.md").read_text().startswith("Clause 0 of the third")
    assert (out / "acme-q/Acme/Terms of Service.q1.md").read_text().startswith("Clause 0 of the second")
    assert not (out / "acme-q/Acme/Terms of Service.q3.md").exists()
    # a file deleted since has no version at the head, so its only version is new; README.md is no notice
    assert (out / "acme-old/Gone/Privacy Policy.md").is_file()
    assert not list(out.glob("*/README.md"))
    assert (out / "acme-old/Caf\u00e9/Terms of Service.md").read_text().startswith("Clause 0 of the caf\u00e9 0")
    assert written == {"acme-old": 3, "acme-mid": 1, "acme-q": 1}


def test_a_missing_clone_is_one_line_and_its_folders_are_left_out(repo: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    written = build(tmp_path / "none", tmp_path / "fresh", report=lines.append)
    assert written == {}
    assert len(lines) == len(CURRENT) + len(HISTORY)
    assert all(line.startswith("eval.fresh: no clone of ") and "\n" not in line for line in lines)
