"""Fill the fresh directory that ``eval.ordinary``, ``eval.notices`` and ``eval.notice_model`` read (``--fresh-dir``).

``python -m eval.fresh REPOS OUT`` writes into ``OUT`` every folder ``eval.ordinary.FRESH_SOURCES`` names, from
clones of the public repositories below found under ``REPOS`` (as ``REPOS/owner+name`` or ``REPOS/owner/name``; a
full clone, as the history folders need every version). Nothing is downloaded: a repository missing under ``REPOS``
is reported on one line and its folders are left out, so a part that needs them counts fewer texts.

Two kinds of folder:

- ``CURRENT``: the files of a repository's head (``git archive``), some of them under a path whose leading
  components are stripped.
- ``HISTORY``: earlier versions of each file of a tracked notice (round 11 of docs/EVALUATION.md). For a file with
  ``n`` versions (the commits that wrote it, oldest first), a folder takes the versions at the fractions it names:
  ``old`` the first, ``mid`` the one at ``n // 2``, ``q`` those at a quarter and three quarters, ``e`` those at one,
  three, five and seven eighths. A version is kept only when at least half of its sentences (split at ``.!?`` and
  line breaks, longer than 40 characters) are in neither the file's version at the head (none if it was deleted)
  nor a version already taken, in the order ``old``, ``mid``, ``q``, ``e``. A version at a fraction is written as
  ``PATH`` for ``old`` and ``mid`` and as ``STEM.q1.md`` or ``STEM.e3.md`` (numerator) for the others.

The heads of these repositories move, so a later clone gives other texts than the figures in docs/EVALUATION.md were
counted on: each round says when its snapshots were taken.
"""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import tarfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path, PurePosixPath
from typing import NamedTuple

__all__ = ["CURRENT", "HISTORY", "build", "main"]


class Current(NamedTuple):
    repo: str
    paths: tuple[str, ...] = ()
    """What ``git archive`` takes (the whole tree when empty)."""
    strip: int = 0
    """Leading path components dropped from each file."""


CURRENT: dict[str, Current] = {
    "peps": Current("python/peps", ("peps",), 1),
    "_licenses": Current("github/choosealicense.com", ("_licenses",), 1),
    "rfcs": Current("rust-lang/rfcs", ("text",), 1),
    "site-policy": Current("github/site-policy", ("Policies",), 1),
    "eips": Current("ethereum/EIPs", ("EIPS",), 1),
    "legal-docs": Current("mozilla/legal-docs", ("en",), 1),
    "basecamp": Current("basecamp/policies"),
    "legalmattic": Current("Automattic/legalmattic"),
    "ercs": Current("ethereum/ERCs", ("ERCS",), 1),
    "ota-pga": Current("OpenTermsArchive/pga-versions"),
    "ota-vlopses": Current("OpenTermsArchive/vlopses-us-versions"),
    "ota-contrib": Current("OpenTermsArchive/contrib-versions"),
    "tosdr": Current("sonu-gupta/tosdr-terms-of-service-corpus", ("corpus/text",), 2),
    "ota-genai": Current("OpenTermsArchive/genai-eu-versions"),
    "ota-dating": Current("OpenTermsArchive/dating-versions"),
    "bips": Current("bitcoin/bips"),
    "cips": Current("cardano-foundation/CIPs"),
    "stellar": Current("stellar/stellar-protocol", ("core", "ecosystem")),
    "aips": Current("aptos-foundation/AIPs", ("aips",), 1),
    "neps": Current("near/NEPs", ("neps",), 1),
    "fips": Current("filecoin-project/FIPs", ("FIPS", "FRCs")),
    "arcs": Current("algorandfoundation/ARCs", ("ARCs",), 1),
    "sips": Current("sui-foundation/sips", ("sips",), 1),
    "ota-p2b": Current("OpenTermsArchive/p2b-compliance-versions"),
    "ota-genai-contrib": Current("OpenTermsArchive/genai-contrib-versions"),
    "ota-user-rights": Current("OpenTermsArchive/user-rights-versions"),
    "ota-demo": Current("OpenTermsArchive/demo-versions"),
    "ota-dsa": Current("OpenTermsArchive/dsa-reports-versions"),
    "tosback": Current("tosdr/tosback-versions"),
    "dmoz": Current("UTCID/DMOZ-Privacy-Policy-Corpus-CODASPY21", ("PrivacyPolicyCorpusDMOZ",), 1),
}


def _collection(path: str) -> str | None:
    """An Open Terms Archive or ToSBack notice (``Service/Terms type.md``) as written."""
    return path if path.count("/") == 1 and path.endswith(".md") else None


def _site_policy(path: str) -> str | None:
    return PurePosixPath(path).name if path.startswith("Policies/") and path.endswith(".md") else None


def _legal_docs(path: str) -> str | None:
    return path if path.count("/") == 1 and path.endswith("/en-US.md") else None


def _markdown(path: str) -> str | None:
    return path if path.endswith(".md") and path not in {"README.md", "LICENSE.md"} else None


class History(NamedTuple):
    repo: str
    name: Callable[[str], str | None]
    """The file's name in the folder, or None for a file that is no notice."""
    stages: tuple[str, ...]
    """Which of ``old``, ``mid``, ``q`` and ``e`` have a folder, named ``PREFIX-STAGE``."""


_BIG = ("old", "mid", "q", "e")
_SMALL = ("old", "mid")
HISTORY: dict[str, History] = {
    "tosback": History("tosdr/tosback-versions", _collection, _BIG),
    "pga": History("OpenTermsArchive/pga-versions", _collection, _BIG),
    "vlopses": History("OpenTermsArchive/vlopses-us-versions", _collection, _BIG),
    "contrib": History("OpenTermsArchive/contrib-versions", _collection, _BIG),
    "genai-eu": History("OpenTermsArchive/genai-eu-versions", _collection, _SMALL),
    "genai-contrib": History("OpenTermsArchive/genai-contrib-versions", _collection, _SMALL),
    "dating": History("OpenTermsArchive/dating-versions", _collection, _SMALL),
    "p2b-compliance": History("OpenTermsArchive/p2b-compliance-versions", _collection, _SMALL),
    "user-rights": History("OpenTermsArchive/user-rights-versions", _collection, _SMALL),
    "demo": History("OpenTermsArchive/demo-versions", _collection, _SMALL),
    "site-policy": History("github/site-policy", _site_policy, _SMALL),
    "legal-docs": History("mozilla/legal-docs", _legal_docs, _SMALL),
    "basecamp": History("basecamp/policies", _markdown, _SMALL),
    "legalmattic": History("Automattic/legalmattic", _markdown, _SMALL),
}
"""Per folder prefix: the repository, which of its files are notices, and the stages taken."""

STAGES: dict[str, tuple[Fraction, ...]] = {
    "old": (Fraction(0),),
    "mid": (Fraction(1, 2),),
    "q": (Fraction(1, 4), Fraction(3, 4)),
    "e": (Fraction(1, 8), Fraction(3, 8), Fraction(5, 8), Fraction(7, 8)),
}
NOVEL = 0.5
"""The share of a version's sentences that must be new for it to be kept."""
_SENTENCE = re.compile(r"[.!?\n]")


def sentences(text: str) -> set[str]:
    return {s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 40}


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=True).stdout


def find(repos: Path, name: str) -> Path | None:
    owner, _, repo = name.partition("/")
    for candidate in (repos / f"{owner}+{repo}", repos / owner / repo):
        if candidate.is_dir():
            return candidate
    return None


def current(repo: Path, spec: Current, out: Path) -> int:
    """Write the head's files of ``spec`` under ``out``; returns how many."""
    archive = _git(repo, "archive", "--format=tar", "HEAD", *spec.paths)
    n = 0
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts[spec.strip :]
            if not member.isfile() or not parts:
                continue
            target = out.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            target.write_bytes(source.read() if source else b"")
            n += 1
    return n


def versions(repo: Path) -> dict[str, list[str]]:
    """Per path, the commits that wrote it (added or modified, not deleted), oldest first."""
    args = ("-c", "core.quotePath=false", "log", "--reverse", "--no-renames", "--format=>%H", "--name-status", "HEAD")
    log = _git(repo, *args).decode("utf-8", errors="replace")  # paths as written, not quoted
    out: dict[str, list[str]] = defaultdict(list)
    commit = ""
    for line in log.splitlines():
        if line.startswith(">"):
            commit = line[1:]
        elif line:
            status, _, path = line.partition("\t")
            if status[0] in "AM":
                out[path].append(commit)
    return out


def _blobs(repo: Path, refs: list[str]) -> Iterator[str]:
    """The contents of ``COMMIT:PATH`` refs, in order, through one ``git cat-file --batch``."""
    raw = _git(repo, "cat-file", "--batch", data="".join(f"{ref}\n" for ref in refs).encode())
    at = 0
    for _ in refs:
        header_end = raw.index(b"\n", at)
        header = raw[at:header_end].split()
        if header[-1] == b"missing":
            at = header_end + 1
            yield ""
            continue
        size = int(header[2])
        yield raw[header_end + 1 : header_end + 1 + size].decode("utf-8", errors="replace")
        at = header_end + 1 + size + 1


def _suffixed(name: str, stage: str, fraction: Fraction) -> str:
    if stage in ("old", "mid"):
        return name
    return f"{name.removesuffix('.md')}.{stage}{fraction.numerator}.md"


def history(repo: Path, spec: History, out: Path, prefix: str, chunk: int = 200) -> dict[str, int]:
    """Write the versions each stage of ``spec`` keeps into ``out/PREFIX-STAGE``; returns how many per folder."""
    written = {f"{prefix}-{stage}": 0 for stage in spec.stages}
    named = ((path, spec.name(path), commits) for path, commits in versions(repo).items())
    files = [(path, name, commits) for path, name, commits in named if name is not None]
    for start in range(0, len(files), chunk):
        batch = files[start : start + chunk]
        refs = []
        for path, _, commits in batch:  # the head's version (none when deleted), then one per fraction
            refs.append(f"HEAD:{path}")
            refs += [f"{commits[int(f * len(commits))]}:{path}" for stage in spec.stages for f in STAGES[stage]]
        blobs = _blobs(repo, refs)
        for _, name, _ in batch:
            seen = sentences(next(blobs))
            for stage in spec.stages:
                for fraction in STAGES[stage]:
                    body = next(blobs)
                    new = sentences(body)
                    if not new or len(new - seen) < NOVEL * len(new):
                        continue
                    seen |= new
                    target = out / f"{prefix}-{stage}" / _suffixed(name, stage, fraction)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(body)
                    written[f"{prefix}-{stage}"] += 1
    return written


def build(repos: Path, out: Path, report: Callable[[str], None] = print) -> dict[str, int]:
    """Fill ``out``; returns the number of files written per folder."""
    written: dict[str, int] = {}
    for folder, spec in CURRENT.items():
        repo = find(repos, spec.repo)
        if repo is None:
            report(f"eval.fresh: no clone of {spec.repo} under {repos}: folder {folder} left out")
            continue
        written[folder] = current(repo, spec, out / folder)
    for prefix, hspec in HISTORY.items():
        repo = find(repos, hspec.repo)
        if repo is None:
            report(f"eval.fresh: no clone of {hspec.repo} under {repos}: the {prefix}-* folders left out")
            continue
        written.update(history(repo, hspec, out, prefix))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("repos", type=Path, help="a directory of clones, as owner+name or owner/name")
    parser.add_argument("out", type=Path, help="the fresh directory to fill")
    args = parser.parse_args(argv)
    if not args.repos.is_dir():
        print(f"eval.fresh: no directory {args.repos}", file=sys.stderr)
        return 2
    written = build(args.repos, args.out, report=lambda line: print(line, file=sys.stderr))
    for folder, n in written.items():
        print(f"{folder}: {n} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
