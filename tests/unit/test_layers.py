"""The packages of bot/ form layers, and so do its files: nothing imports what imports it back,
however indirectly, type-only imports (under TYPE_CHECKING) and imports inside functions
included. No two classes share a name, and nothing of bot/ is imported under another name."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"

Edges = dict[str, dict[str, list[str]]]  # package -> imported package -> "file: import" lines


def package_of(module: str) -> str | None:
    """bot.jobs.pipeline -> "jobs"; bot (its __init__) -> "bot"; anything else -> None."""
    parts = module.split(".")
    if parts[0] != "bot":
        return None
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (BOT / parts[1]).is_dir()) else "bot"


def imports_of(path: Path) -> list[str]:
    """Every module `path` names in an import, wherever the import stands."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            # `from bot.handlers import errors` names the module bot.handlers.errors
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def package_graph() -> Edges:
    edges: Edges = defaultdict(lambda: defaultdict(list))
    for path in sorted(BOT.rglob("*.py")):
        here = package_of(".".join(path.relative_to(BOT.parent).with_suffix("").parts))
        for module in imports_of(path):
            there = package_of(module)
            if here is None or there is None or there == here:
                continue
            if module.count(".") > 1 and not _exists(module):
                continue  # `from bot.x.y import name`: the name, not a module
            edges[here][there].append(f"{path.relative_to(BOT.parent)}: {module}")
    return edges


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (BOT / relative).with_suffix(".py").is_file() or (BOT / relative).is_dir()


def cycles(edges: Edges) -> list[list[str]]:
    """The strongly connected components with more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def file_graph() -> Edges:
    """Each file of bot/ -> the files of bot/ it imports (a package stands for its __init__)."""
    edges: Edges = defaultdict(lambda: defaultdict(list))
    for path in sorted(BOT.rglob("*.py")):
        here = str(path.relative_to(BOT.parent))
        for module in imports_of(path):
            there = _file_of(module)
            if there is not None and there != here:
                edges[here][there].append(module)
    return edges


def _file_of(module: str) -> str | None:
    """bot.jobs.run -> bot/jobs/run.py; bot.jobs -> bot/jobs/__init__.py; a name -> None."""
    if module.split(".")[0] != "bot":
        return None
    relative = Path(*module.split("."))
    if (BOT.parent / relative).with_suffix(".py").is_file():
        return str(relative.with_suffix(".py"))
    if (BOT.parent / relative / "__init__.py").is_file():
        return str(relative / "__init__.py")
    return None


def test_no_file_imports_one_that_imports_it_back() -> None:
    edges = file_graph()
    found = cycles(edges)
    report = [
        f"{a} -> {b}"
        for component in found
        for a in component
        for b in edges.get(a, {})
        if b in component
    ]
    assert not found, "files in a cycle: " + repr(found) + "\n" + "\n".join(report)


def test_the_file_reader_sees_a_cycle(tmp_path: Path) -> None:
    assert _file_of("bot.jobs.pipeline") == "bot/jobs/pipeline.py"
    assert _file_of("bot.jobs") == "bot/jobs/__init__.py"
    assert _file_of("bot.jobs.pipeline.Pipeline") is None  # a name, not a module
    edges: Edges = {"a.py": {"b.py": ["x"]}, "b.py": {"c.py": ["y"]}, "c.py": {"a.py": ["z"]}}
    assert cycles(edges) == [["a.py", "b.py", "c.py"]]


def test_no_two_classes_share_a_name() -> None:
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(BOT.parent)))
    shared = {name: places for name, places in where.items() if len(places) > 1}
    assert not shared, shared


def test_nothing_of_bot_is_imported_under_another_name() -> None:
    renamed = []
    for path in sorted(BOT.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot"):
                renamed += [
                    f"{path.relative_to(BOT.parent)}: {alias.name} as {alias.asname}"
                    for alias in node.names
                    if alias.asname and alias.asname != alias.name
                ]
    assert not renamed, renamed


def test_no_package_imports_one_that_imports_it_back() -> None:
    edges = package_graph()
    found = cycles(edges)
    report = []
    for component in found:
        for a in component:
            for b in component:
                report += edges.get(a, {}).get(b, [])
    assert not found, "packages in a cycle: " + repr(found) + "\n" + "\n".join(report)


def test_the_reader_sees_a_cycle_when_there_is_one() -> None:
    edges: Edges = {"jobs": {"store": ["a"]}, "store": {"model": ["b"], "jobs": ["c"]}}
    assert cycles(edges) == [["jobs", "store"]]
    assert package_of("bot.jobs.pipeline") == "jobs"
    assert package_of("bot") == "bot"
    assert package_of("telegram.ext") is None


def test_type_only_imports_are_read(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.handlers.services import Services\n"
        "def f():\n    import bot.jobs.manager\n"
    )
    assert {"bot.handlers.services", "bot.jobs.manager"} <= set(imports_of(source))


def test_the_model_sits_below_everything() -> None:
    edges = package_graph()
    assert set(edges.get("model", {})) <= {"bot"}
    for low in ("download", "store", "upload"):
        assert "jobs" not in edges.get(low, {}), edges[low]["jobs"]


MAX_LINES = 400  # a file longer than this does more than one job: split it along what it does


def test_no_file_of_bot_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(BOT)): n
        for path in BOT.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these files: {long}"
