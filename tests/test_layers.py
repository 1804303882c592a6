"""The layers of the code, checked on its imports (issue 17).

Every module under ``scoring/`` and ``bot/`` is parsed with ``ast``; every import counts, at the
top of a module, inside a function (the lazy ones that keep start-up light) or under
``TYPE_CHECKING``. Two rules: no import circle between modules, and no import from a lower layer
to a higher one. Imports within one layer are free, as long as they make no circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Final

REPO = Path(__file__).resolve().parent.parent
PACKAGES: Final = ("scoring", "bot")

#: Each module's layer, lowest first: the longest prefix listed here decides. A module may import
#: only from its own layer or one below it.
LAYERS: Final[dict[str, int]] = {
    # 0: the pure scoring library; never imports ``bot``.
    "scoring": 0,
    # 1: the bot's foundations: settings, platform sources, the Redis pipeline, infrastructure.
    "bot": 1,  # the package itself (``bot/__init__.py``)
    "bot.settings": 1,
    "bot.sources": 1,
    "bot.pipeline": 1,
    "bot.infra": 1,
    # 2: the use cases: the audit, the alerts (watch, re-audit, post), reviews.
    "bot.audit": 2,
    "bot.alerts": 2,
    "bot.review": 2,
    # 3: the platform-neutral chat.
    "bot.chat": 3,
    # 4: the chat adapters.
    "bot.telegram": 4,
    "bot.discord": 4,
    "bot.console": 4,
    # 5: the entry: the command line, its commands and the composition root.
    "bot.cli": 5,
    "bot.commands": 5,
    "bot.app": 5,
}

#: Imports allowed against the rules, as (importer, imported) module pairs, each with its reason.
#: At most three; empty is the aim.
ALLOWED: Final[frozenset[tuple[str, str]]] = frozenset()


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package ``__init__``)."""
    found: dict[str, tuple[Path, bool]] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            found[".".join(parts)] = (path, is_package)
    return found


MODULES: Final = _modules()


def _known(name: str) -> str | None:
    """The module of ours that ``name`` (a module, or a name inside one) lives in."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _imported(module: str) -> Iterator[tuple[str, int]]:
    """(module of ours, line) for every import in ``module``, wherever in the file it is."""
    path, is_package = MODULES[module]
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            # ``from a import b``: the submodule ``a.b`` when there is one, else ``a`` itself.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for name in names:
            target = _known(name)
            if target is not None and target != module:
                yield target, node.lineno


GRAPH: Final = {m: sorted({t for t, _ in _imported(m)}) for m in MODULES}


def layer_of(module: str) -> int:
    """The layer of the longest prefix of ``module`` in LAYERS; ``bot`` alone names only the
    package itself, so a new module at ``bot/`` top level must be given its layer."""
    name = module
    while name not in LAYERS or (name == "bot" and module != "bot"):
        assert "." in name, f"{module} has no layer: add it to LAYERS"
        name = name.rpartition(".")[0]
    return LAYERS[name]


def _circles() -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if (v, w) in ALLOWED:
                continue
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
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_the_walk_finds_both_packages_and_their_imports() -> None:
    assert {"scoring.model", "bot.cli", "bot.app", "bot.pipeline.worker"} <= MODULES.keys()
    assert "bot.app" in GRAPH["bot.cli"] or "bot.commands" in GRAPH["bot.cli"]
    assert "bot.audit.report" in GRAPH["bot.chat.actions"]
    assert "scoring.model" in GRAPH["bot.app"]


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        layer_of(module)


def test_no_import_circle() -> None:
    assert _circles() == []


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    upward = [
        f"{m}:{line} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)})"
        for m in sorted(MODULES)
        for t, line in _imported(m)
        if layer_of(t) > layer_of(m) and (m, t) not in ALLOWED
    ]
    assert upward == []


def test_scoring_never_imports_bot() -> None:
    assert [
        (m, t)
        for m in MODULES
        if m.startswith("scoring")
        for t in GRAPH[m]
        if t == "bot" or t.startswith("bot.")
    ] == []


def test_the_allow_list_stays_short_and_in_use() -> None:
    assert len(ALLOWED) <= 3
    for importer, imported in ALLOWED:
        assert imported in GRAPH[importer], f"{importer} no longer imports {imported}: drop it"
