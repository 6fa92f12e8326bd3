import ast
import inspect
import types

import pytest

import compliance_sse.sse
from compliance_sse.sse import models, parser, serializer


def test_all_imports_are_exported() -> None:
    public = [
        name
        for name, value in vars(compliance_sse.sse).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    ]
    assert sorted(compliance_sse.sse.__all__) == sorted(public)


@pytest.mark.parametrize("module", [models, parser, serializer], ids=lambda module: module.__name__)
def test_module_members_are_reexported(module: types.ModuleType) -> None:
    assert set(module.__all__) <= set(compliance_sse.sse.__all__)


@pytest.mark.parametrize("module", [models, parser, serializer], ids=lambda module: module.__name__)
def test_protocol_core_does_no_io(module: types.ModuleType) -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.partition(".")[0])
    assert not imported & {"aiohttp", "asyncio"}
