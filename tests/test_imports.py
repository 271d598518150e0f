"""The package's import graph, read from the source: no module may import itself through others, and the layers
documented in docs/architecture.md hold.

Every ``import``/``from ... import`` statement counts, also those inside functions (a lazy import is still a
dependency) and under ``if TYPE_CHECKING:``. An edge goes to the module imported (``from i2i.data import paired``
names the submodule ``i2i.data.paired``); the implicit import of parent packages is not an edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

from helpers import REPO

SRC = REPO / "src"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (imported for annotations only, never at run time)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            inside |= {id(n) for child in node.body for n in ast.walk(child)}
    return inside


def import_graph(run_time_only: bool = False) -> dict[str, set[str]]:
    """Module -> the i2i modules it imports; ``run_time_only`` leaves out the imports under ``if TYPE_CHECKING:``."""
    files = {module_name(p): p for p in (SRC / "i2i").rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        skip = _type_checking_only(tree) if run_time_only else set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in files and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    graph = import_graph()
    assert "i2i.artifact.open" in graph["i2i.inference.translator"]  # module level
    assert "i2i.datatools.commands" in graph["i2i.cli"]  # inside a function
    assert "i2i.data.paired" in graph["i2i.data"]  # `from i2i.data import paired`


# The layers of docs/architecture.md, first to last: a module may import from its own layer and earlier ones.
LAYERS = [
    [
        "i2i",
        "i2i.errors",
        "i2i.registry",
        "i2i.config",
        "i2i.direction",
        "i2i.parallel",
        "i2i.splits",
        "i2i.atomic",
        "i2i.imageio",
        "i2i.layouts",
        "i2i.fileinfo",
        "i2i.portable.pixels",
    ],
    ["i2i.models", "i2i.losses", "i2i.device"],
    ["i2i.data"],
    [
        "i2i.inference.preprocessing",
        "i2i.artifact.release_format",
        "i2i.portable",
        "i2i.inference.pipeline",
        "i2i.inference.fast",
        "i2i.inference.graphs",
        "i2i.evaluation.metrics",
        "i2i.evaluation.visuals",
    ],
    ["i2i.methods"],
    ["i2i.run_config", "i2i.training"],
    ["i2i.artifact"],
    ["i2i.inference", "i2i.evaluation"],
    ["i2i.bench", "i2i.cli", "i2i.gallery", "i2i.serve", "i2i.datatools"],
]


def layer_of(module: str) -> int:
    """The layer of the longest listed prefix of ``module`` (a package's modules share its layer)."""
    best, found = -1, None
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), index
    assert found is not None, f"{module} is in no layer of docs/architecture.md (add it to LAYERS and the doc)"
    return found


def test_every_module_imports_only_its_own_and_earlier_layers() -> None:
    graph = import_graph()
    upward = sorted(
        f"{m} (layer {layer_of(m) + 1}) -> {t} (layer {layer_of(t) + 1})"
        for m, targets in graph.items()
        for t in targets
        if layer_of(t) > layer_of(m)
    )
    assert not upward, "imports into a later layer: " + "; ".join(upward)


def test_the_layer_check_sees_an_upward_import() -> None:
    assert layer_of("i2i.training.trainer") > layer_of("i2i.methods.base") > layer_of("i2i.data.paired")
    assert layer_of("i2i.inference.translator") > layer_of("i2i.artifact.open") > layer_of("i2i.inference.pipeline")


# The dataset tools start without torch, and the ONNX runtime runs without it: they import nothing that does.
TORCH_FREE = ("i2i.datatools", "i2i.portable", "i2i.artifact.release_format", "i2i.inference.preprocessing")


def test_dataset_tools_and_the_onnx_runtime_import_no_torch_module() -> None:
    graph = import_graph(run_time_only=True)
    torch_modules = set()
    for path in (SRC / "i2i").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module-level imports only: lazy ones load torch when they run, not at start
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n == "torch" or n.startswith("torch.") for n in names):
                torch_modules.add(module_name(path))
    reach = {m for m in graph if m.startswith(TORCH_FREE)}
    stack = list(reach)
    while stack:
        for t in graph[stack.pop()]:
            if t not in reach:
                reach.add(t)
                stack.append(t)
    assert not reach & torch_modules, f"torch-free modules reach torch through {sorted(reach & torch_modules)}"


def test_the_run_time_graph_leaves_out_type_checking_imports() -> None:
    assert "i2i.models.base" in import_graph()["i2i.inference.preprocessing"]
    assert "i2i.models.base" not in import_graph(run_time_only=True)["i2i.inference.preprocessing"]
