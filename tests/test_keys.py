"""keys.py holds every ``web.AppKey`` and is a leaf of the package (issue 11)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import compliance_sse

PACKAGE = Path(compliance_sse.__file__).parent


def test_importing_the_keys_imports_no_other_module_of_ours() -> None:
    code = "import sys, compliance_sse.keys; print(sorted(m for m in sys.modules if m.startswith('compliance_sse')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "['compliance_sse', 'compliance_sse.keys']"


def test_no_app_key_is_made_outside_keys_py() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == PACKAGE / "keys.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "AppKey":
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert found == []
