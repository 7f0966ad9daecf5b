"""No import circle between monge's modules (imports inside functions count too), and lower layers
never import higher ones (DESIGN.md: transport imports nothing of monge but its error types; networks nothing but
torch and those)."""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "monge"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def _packages_of(graph):
    return {name: name.split(".")[1] if name.count(".") else "" for name in graph}


def test_no_import_circle_between_modules():
    graph = _graph()
    # a package's __init__ re-exports its modules: those edges are the package's face, not a circle
    edges = {m: {t for t in ts if not (m.count(".") and t == m.rsplit(".", 1)[0])} for m, ts in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


@pytest.mark.parametrize("low, allowed", [("transport", {"errors"}), ("networks", {"errors"})])
def test_lower_layers_import_nothing_above(low, allowed):
    graph = _graph()
    package = _packages_of(graph)
    for name, targets in graph.items():
        if package[name] != low:
            continue
        above = {t for t in targets if package.get(t) not in (low, *allowed)}
        assert not above, f"{name} imports {sorted(above)}"


def test_the_library_never_imports_the_command_line_and_only_experiments_import_experiments():
    """The layers: cli -> experiments -> training, meanfield, ... -> transport, networks; never upwards."""
    graph = _graph()
    package = _packages_of(graph)
    for name, targets in graph.items():
        if package[name] != "cli" and name != "monge.__main__":  # python -m monge runs the command
            assert not {t for t in targets if package.get(t) == "cli"}, f"{name} imports the command line"
        if package[name] not in ("cli", "experiments", "playground", ""):  # the applications above the library
            assert not {t for t in targets if package.get(t) == "experiments"}, f"{name} imports an experiment"
