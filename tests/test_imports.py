"""The house: imports between registry modules point one way (no cycle), and none hides inside
a function unless it is heavy and optional for cost (the allowlist below, with its reason).

The graph counts every import of a registry module: at top level and inside functions, relative
ones resolved, `from registry import x` of a submodule as an import of that submodule, and an
import from outside a package of one of its modules as an import of the package too (importing
`registry.search.indexing` runs `registry/search/__init__.py` first); the root package
`registry` excepted (it is always imported first).
"""
import ast
from pathlib import Path

import registry

ROOT = Path(registry.__file__).parent

#: (module, imported module): why it is imported inside a function rather than at the top.
LOCAL_IMPORTS = {
    ("registry.search", "registry.search.tantivy_engine"):
        "open_index imports only the engine `search.engine` chooses (Tantivy's native library)",
    ("registry.search", "registry.search.engine"):
        "open_index imports only the engine `search.engine` chooses (Whoosh's, with numpy)",
    ("registry.cli.journal", "registry.views.journal"):
        "`journal export` alone needs the web views (seconds of imports for every command)",
}


def _modules():
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = ("registry",) + path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _resolve(name):
    """The registry module `name` names (a module, or the module a name is taken from)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module, path):
    """Yield (imported module, inside a function) for every import of a registry module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node, local):
        for child in ast.iter_child_nodes(node):
            inside = local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                 ast.Lambda))
            names = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parent = package.split(".")[:len(package.split(".")) - child.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                names = [f"{base}.{alias.name}" for alias in child.names]
            for name in names:
                target = _resolve(name)
                if target and target != module:
                    yield target, local
            yield from visit(child, inside)

    yield from visit(ast.parse(path.read_text(encoding="utf-8")), False)


def _graph():
    """{module: {imported module: True if only ever imported inside functions}}."""
    graph = {}
    for module, path in MODULES.items():
        edges = graph.setdefault(module, {})
        for target, local in _imports(module, path):
            edges[target] = edges.get(target, True) and local
            package = target.rpartition(".")[0]
            while package not in ("", "registry") and not (module + ".").startswith(package + "."):
                edges[package] = edges.get(package, True) and local
                package = package.rpartition(".")[0]
    return graph


def _cycles(graph):
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def strong(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                strong(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return found


def test_the_graph_sees_every_kind_of_import():
    graph = _graph()
    assert graph["registry.desk"]["registry.search"] is False  # of registry.search.queue
    assert "registry.settings" in graph["registry.store"]  # `from registry import settings`
    assert "registry.cli" not in graph["registry.cli.archive"]  # its own package


def test_no_import_cycle():
    graph = _graph()
    report = []
    for component in _cycles(graph):
        report.append(f"cycle of {len(component)}: " + ", ".join(component))
        report.extend(f"  {a} -> {b}" + (" (inside a function)" if graph[a][b] else "")
                      for a in component for b in sorted(graph[a]) if b in component)
    assert not report, "\n".join(report)


def test_imports_inside_functions_are_only_the_allowed_ones():
    local = sorted((module, target) for module, path in MODULES.items()
                   for target, inside in _imports(module, path) if inside)
    unexpected = sorted(set(local) - set(LOCAL_IMPORTS))
    assert not unexpected, "imports inside functions (move them to the top of the module):\n" + \
        "\n".join(f"  {module} -> {target}" for module, target in unexpected)
    assert sorted(set(LOCAL_IMPORTS) - set(local)) == []  # no stale allowance
