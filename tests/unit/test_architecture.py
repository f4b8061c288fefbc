"""The floors of the code, checked for every module with no exception: what runs (services/)
imports the slices (ingest/, classifier/, sla/), the slices import the shared kernel (kernel/),
the kernel imports nothing of ours; no slice imports another; no production module imports the
developer tools (tools/); the code in a slice's domain/ is pure. And nothing, at any depth,
imports a package or module that imports it back. docs/architecture.md draws the floors."""

import ast
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLICES = ("ingest", "classifier", "sla")
# What each top-level folder may import besides itself; tests/ and bench/ may import anything.
MAY_IMPORT = {
    "services": {"kernel", *SLICES},
    **{name: {"kernel"} for name in SLICES},
    "kernel": set(),
    "tools": {"kernel", *SLICES, "services"},
}
FOLDERS = tuple(MAY_IMPORT)
# A domain/ module computes; it does not talk to anything. The contracts are plain models.
IO_LIBRARIES = {
    "aiokafka", "asyncio", "faststream", "fastapi", "httpx", "imaplib", "jinja2", "openpyxl",
    "prometheus_client", "psycopg", "requests", "smtplib", "socket", "sqlalchemy", "subprocess",
    "urllib", "uvicorn", "vk_api",
}  # fmt: skip
# Pure parts of those: urllib.parse splits and joins strings (a URL a domain rule reads).
PURE_PARTS = ("urllib.parse",)
# The kernel's pure modules: the message contracts, the bounded parsing of YAML text.
DOMAIN_MAY_USE_FROM_KERNEL = ("kernel.contracts", "kernel.yaml_text")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[tuple[str, int]]:
    """Every absolute import of the file, as (module, line); ``from a import b`` also yields
    ``a.b``, which is a module when b is one."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def production_files() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def our(name: str) -> bool:
    return name.split(".", maxsplit=1)[0] in FOLDERS


def test_every_folder_is_a_package_on_a_floor() -> None:
    tops = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert tops - {"tests", "bench"} == set(FOLDERS)


def test_each_folder_imports_only_the_floors_below_it() -> None:
    wrong = []
    for path in production_files():
        here = module_name(path).split(".")[0]
        for name, line in imports_of(path):
            there = name.split(".")[0]
            if our(name) and there != here and there not in MAY_IMPORT[here]:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "imports against the floors:\n" + "\n".join(wrong)


@pytest.mark.parametrize("slice_name", SLICES)
def test_the_domain_of_a_slice_is_pure(slice_name: str) -> None:
    domain = ROOT / slice_name / "domain"
    files = sorted(domain.rglob("*.py"))
    assert len(files) > 1, f"{slice_name}/domain/ holds no module"
    wrong = []
    for path in files:
        for name, line in imports_of(path):
            top = name.split(".")[0]
            inside = name.startswith(f"{slice_name}.domain") or name.startswith(
                DOMAIN_MAY_USE_FROM_KERNEL
            )
            io = top in IO_LIBRARIES and not name.startswith(PURE_PARTS)
            if io or (our(name) and not inside):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "a domain/ module imports I/O or code outside its domain:\n" + "\n".join(
        wrong
    )


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules (ours) it imports."""
    known = {module_name(p) for p in production_files()}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in production_files():
        source = module_name(path)
        for name, _ in imports_of(path):
            if name in known and name != source:
                graph[source].add(name)
    return graph


def sibling_edges(graph: dict[str, set[str]], depth: int) -> dict[str, set[str]]:
    """Which sibling (package or module at ``depth``: 1 for the top-level folders, 2 for their
    children, ...) imports which, from the module-level graph."""
    siblings: dict[str, set[str]] = defaultdict(set)
    for source, targets in graph.items():
        for target in targets:
            a, b = source.split("."), target.split(".")
            same_parent = len(a) >= depth and len(b) >= depth and a[: depth - 1] == b[: depth - 1]
            if same_parent and a[depth - 1] != b[depth - 1]:
                siblings[".".join(a[:depth])].add(".".join(b[:depth]))
    return siblings


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for other in edges.get(todo.pop(), ()):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return seen


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Groups of nodes that import each other, directly or round a loop."""
    reach = {node: reachable(edges, node) for node in edges}
    groups = {
        frozenset({node} | {other for other in reach[node] if node in reach.get(other, ())})
        for node in edges
        if node in reach[node]
    }
    return sorted(sorted(group) for group in groups)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_nothing_imports_what_imports_it_back(depth: int) -> None:
    edges = sibling_edges(import_graph(), depth)
    loops = cycles(edges)
    detail = [f"{a} imports {b}" for loop in loops for a in loop for b in edges[a] if b in loop]
    assert not loops, f"import cycles {loops}:\n" + "\n".join(detail)


def test_the_cycle_check_finds_a_cycle() -> None:
    graph = {"a.x.one": {"a.y.two"}, "a.y.two": {"a.x.one"}, "a.z": {"a.x.one"}}
    assert cycles(sibling_edges(graph, 2)) == [["a.x", "a.y"]]
    assert cycles(sibling_edges(graph, 1)) == []
