"""The import structure stays layered: these tests parse every `import` (at module level and inside
functions, since a function-local import still closes a loop, only later) and check the rules of
the house (docs/architecture sketch):

- no import loop among fnad's modules, except among the primitive families (`fnad/primitives/`),
  which depend on each other by nature (a reduction's derivative uses elementwise ops and back);
- the interpreters (`fnad/transforms/`) never import `fnad/primitives/`: they stand on
  `fnad.ad_util` and `fnad.core`;
- the compiler package never imports `fnad.transforms`, and fnad imports the compiler only in its
  jit module and in its export module (ahead-of-time compilation).
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The compiler package, under whichever name it has (issue 12 may rename it).
COMPILER = next(
    (
        name
        for name in ("compiler", "fnad_compiler", "fnad._compiler")
        if (ROOT / name.replace(".", "/") / "__init__.py").exists()
    ),
    "compiler",
)
JIT_MODULE = "fnad.jit_dispatch"
EXPORT_MODULE = "fnad.export"


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules():
    mods = {}
    for package in ("fnad", COMPILER):
        for path in sorted((ROOT / package.replace(".", "/")).rglob("*.py")):
            mods[module_name(path)] = path
    return mods


def imported_modules(name, source, is_package, mods):
    """{module: [line, ...]} for every import of a module of `mods` anywhere in `source`."""
    package = name if is_package else name.rpartition(".")[0]
    found = {}
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in mods:
                t = t.rpartition(".")[0]
            if t and t != name:
                found.setdefault(t, []).append(node.lineno)
    return found


@pytest.fixture(scope="module")
def graph():
    mods = all_modules()
    return {
        name: imported_modules(name, path.read_text(), path.name == "__init__.py", mods) for name, path in mods.items()
    }


def is_primitive_family(module):
    return module.startswith("fnad.primitives.")


def import_loops(graph):
    """The strongly connected components (of more than one module) of the import graph among fnad
    modules. A package's `__init__` counts as a module: a submodule that imports its package back
    closes a loop with the `__init__` that imports it."""
    nodes = [m for m in graph if m.startswith("fnad")]
    edges = {m: [t for t in graph[m] if t.startswith("fnad")] for m in nodes}
    index, low, stack, on_stack, loops = {}, {}, [], set(), []

    def visit(v):  # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for v in nodes:
        if v not in index:
            visit(v)
    return loops


def _describe(loop, graph):
    return "\n  ".join(f"{m} -> {t} (lines {graph[m][t]})" for m in loop for t in graph[m] if t in loop)


def test_no_import_loop_outside_the_primitive_families(graph):
    bad = [loop for loop in import_loops(graph) if not all(is_primitive_family(m) for m in loop)]
    assert not bad, "import loops:\n" + "\n".join("  " + _describe(loop, graph) for loop in bad)


def test_interpreters_never_import_primitives(graph):
    bad = [
        f"{m} -> {t} (lines {lines})"
        for m, targets in graph.items()
        if m.startswith("fnad.transforms")
        for t, lines in targets.items()
        if t == "fnad.primitives" or t.startswith("fnad.primitives.")
    ]
    assert not bad, "transforms import primitives/ (use fnad.ad_util):\n  " + "\n  ".join(bad)


def test_compiler_never_imports_transforms(graph):
    bad = [
        f"{m} -> {t}"
        for m, targets in graph.items()
        if m == COMPILER or m.startswith(COMPILER + ".")
        for t in targets
        if t == "fnad.transforms" or t.startswith("fnad.transforms.")
    ]
    assert not bad, "the compiler reads only the IR, never the transforms:\n  " + "\n  ".join(bad)


def test_only_the_jit_module_imports_the_compiler(graph):
    bad = [
        f"{m} -> {t}"
        for m, targets in graph.items()
        if m.startswith("fnad") and not m.startswith(COMPILER) and m not in (JIT_MODULE, EXPORT_MODULE)
        for t in targets
        if t == COMPILER or t.startswith(COMPILER + ".")
    ]
    assert not bad, f"only {JIT_MODULE} and {EXPORT_MODULE} may import the compiler:\n  " + "\n  ".join(bad)


def test_the_import_checks_see_a_loop_held_open_by_a_function_local_import():
    # The checks above must fail when a loop comes back through an import inside a function.
    mods = {"fnad.transforms.jvp", "fnad.primitives.shape"}
    g = {
        "fnad.transforms.jvp": imported_modules(
            "fnad.transforms.jvp", "def f():\n    from ..primitives.shape import full\n", False, mods
        ),
        "fnad.primitives.shape": imported_modules(
            "fnad.primitives.shape", "from ..transforms.jvp import defjvp\n", False, mods
        ),
    }
    assert g["fnad.transforms.jvp"] == {"fnad.primitives.shape": [2]}
    assert import_loops(g) == [["fnad.primitives.shape", "fnad.transforms.jvp"]]
