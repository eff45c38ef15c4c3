"""The package's import graph (every import, at module level or inside a function) has
no cycle, and the core imports no dialect: core/, layers/, kernels/ and train/ know
neither MATLAB's classes (layergraph.matlab) nor Wolfram's (layergraph.wolfram). The two
dialects import neither each other: they meet in the core (core/exchange.py)."""
import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1] / "layergraph"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    base = ROOT.parent.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def import_graph() -> nx.DiGraph:
    """Module -> module it imports. ``from .x import y`` counts as an import of x.y when
    y is a module, else of x; a module's own parent packages are imported implicitly
    and do not count."""
    g = nx.DiGraph()
    for path in ROOT.rglob("*.py"):
        mod = _module(path)
        g.add_node(mod)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not (target == "layergraph" or target.startswith("layergraph.")):
                    continue
                subs = [f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")]
                targets = subs + ([target] if len(subs) < len(node.names) else [])
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.split(".")[0] == "layergraph"]
            for t in targets:
                if t != mod and not mod.startswith(t + "."):
                    g.add_edge(mod, t)
    return g


def test_the_graph_sees_the_package():
    g = import_graph()
    assert {"layergraph.core.graph", "layergraph.matlab.network", "layergraph.wolfram.net"} <= set(g)
    assert g.has_edge("layergraph.matlab.network", "layergraph.core.network")


def test_no_import_cycle():
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph()) if len(c) > 1]
    assert cycles == [], f"import cycles: {cycles}"


def test_the_core_imports_no_dialect():
    g = import_graph()
    neutral = [m for m in g if m.split(".")[1:2] in (["core"], ["layers"], ["kernels"], ["train"])]
    wrong = sorted((m, t) for m in neutral for t in g.successors(m)
                   if t.split(".")[1:2] in (["matlab"], ["wolfram"]))
    assert wrong == []


def _dialect(module: str) -> str | None:
    part = module.split(".")[1:2]
    return part[0] if part in (["matlab"], ["wolfram"]) else None


def test_the_dialects_import_each_other_not():
    g = import_graph()
    wrong = sorted((m, t) for m, t in g.edges if {_dialect(m), _dialect(t)} == {"matlab", "wolfram"})
    assert wrong == [], f"imports between the dialects: {wrong}"


def test_the_dialects_reach_each_other_only_through_io():
    """Nor through a third module: only layergraph.io (save / load of both dialects' objects)
    and the package itself may import both."""
    g = import_graph()
    g.remove_nodes_from(["layergraph", "layergraph.io"])
    wrong = sorted((m, t, " -> ".join(nx.shortest_path(g, m, t))) for m in g if _dialect(m)
                   for t in nx.descendants(g, m) if _dialect(t) not in (None, _dialect(m)))
    assert wrong == [], f"paths between the dialects: {[w[2] for w in wrong]}"


def test_the_dialect_test_sees_an_import_between_dialects(tmp_path, monkeypatch):
    """The check above catches a lazy import (inside a function) of the other dialect."""
    import shutil
    import sys
    root = tmp_path / "layergraph"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    net = root / "wolfram" / "net.py"
    net.write_text(net.read_text() + "\n\ndef _late():\n    from ..matlab.layer_graph import LayerGraph\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", root)
    g = import_graph()
    assert g.has_edge("layergraph.wolfram.net", "layergraph.matlab.layer_graph")


def test_importing_layergraph_loads_no_numba():
    """numba (about 0.1 s to import) loads with the first kernel call, not with the package."""
    import subprocess
    import sys
    code = "import sys, layergraph; assert 'numba' not in sys.modules, 'numba imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT.parent)
