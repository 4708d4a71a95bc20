"""Every documented config key is read somewhere: a key that is checked and documented but
reaches nothing is a setting that does nothing.

The check reads the package's source (edge/, dashboard/) with `ast`: a key of a table counts
as read where an attribute of that name is taken from something that holds that table — a
name annotated with its class (or a base class, or an alias such as the dashboard's
`Settings`), an attribute named as the table (`config.camera.fps`), a name assigned from one
(`m = config.motion`), or `self` in the class's own methods. The tables' own `check` /
`__post_init__` do not count: validating a value is not using it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from edge.config import SECTIONS, documented_keys
from edge.config_tables import Table, subtables

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("edge", "dashboard")
NOT_A_USE = {"check", "__post_init__"}

# Keys that reach nothing yet, each with the branch that wires it. Keep this empty: the
# test fails both when a key is read nowhere and when a key listed here is now read.
PENDING: dict[tuple[str, str], str] = {}


def _tables() -> dict[str, type]:
    """Table name ("dashboard.mqtt") -> its class."""
    found: dict[str, type] = {}

    def walk(name: str, cls: type) -> None:
        found[name] = cls
        for sub, sub_cls in subtables(cls).items():
            walk(f"{name}.{sub}", sub_cls)

    for name, cls in SECTIONS.items():
        walk(name, cls)
    return found


def _ident(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


@dataclass
class Held:
    """What holds a table: bare `names` (arguments, locals) and `attrs`, read as
    `<x>.<attr>` only (dataclass fields, `self.config`, the table's own name: a bare
    `camera` may be anything, a synthetic camera too, `config.camera` is the table)."""

    names: set[str]
    attrs: set[str]

    def add(self, target: ast.AST) -> None:
        if isinstance(target, ast.Name):
            self.names.add(target.id)
        elif isinstance(target, ast.Attribute):
            self.attrs.add(target.attr)

    def holds(self, node: ast.AST) -> bool:
        return (isinstance(node, ast.Name) and node.id in self.names) or \
            (isinstance(node, ast.Attribute) and node.attr in self.attrs)


def _annotation_names(node: ast.AST | None) -> set[str]:
    """Every bare name in an annotation (`X | None`, "X", Optional[X])."""
    if node is None:
        return set()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval")
        except SyntaxError:
            return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
        {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


@dataclass
class Read:
    """One `<value>.<attr>` read, with the class it is in and whether it only validates."""

    attr: str
    value: ast.AST
    in_class: str | None
    validates: bool


class Source:
    """The package's syntax trees, indexed once: annotations, assignments, reads."""

    def __init__(self, trees: dict[Path, ast.Module]) -> None:
        self.trees = trees
        self.imported_as: dict[str, set[str]] = {}
        self.annotated: list[tuple[ast.AST, ast.AST | None, bool]] = []  # (who, type, field)
        self.assigns: list[ast.Assign] = []
        self.reads: list[Read] = []
        for tree in trees.values():
            self._index(tree, None, False, False)

    @classmethod
    def of(cls, packages: tuple[str, ...] = PACKAGES) -> Source:
        return cls({path: ast.parse(path.read_text(encoding="utf-8"), str(path))
                    for package in packages for path in sorted((ROOT / package).rglob("*.py"))})

    def _index(self, node: ast.AST, in_class: str | None, validates: bool,
               in_body: bool) -> None:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.asname:
                    self.imported_as.setdefault(alias.name, set()).add(alias.asname)
        elif isinstance(node, ast.arg):
            self.annotated.append((node, node.annotation, False))
        elif isinstance(node, ast.AnnAssign):
            self.annotated.append((node.target, node.annotation, in_body))
        elif isinstance(node, ast.Assign):
            self.assigns.append(node)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            self.reads.append(Read(node.attr, node.value, in_class, validates))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            validates = validates or node.name in NOT_A_USE
        name = node.name if isinstance(node, ast.ClassDef) else in_class
        body = node.body if isinstance(node, ast.ClassDef) else []
        for child in ast.iter_child_nodes(node):
            self._index(child, name, validates, any(child is stmt for stmt in body))

    def holders(self, cls: type, table: str) -> Held:
        """The names and attributes that hold a `cls` somewhere in the package."""
        bases = {c.__name__ for c in cls.__mro__ if issubclass(c, Table) and c is not Table}
        types = bases | {a for b in bases for a in self.imported_as.get(b, ())}
        held = Held(set(), {table.rsplit(".", 1)[-1]})
        for who, annotation, is_field in self.annotated:
            if not _annotation_names(annotation) & types:
                continue
            if isinstance(who, ast.arg):
                held.names.add(who.arg)
            elif is_field and isinstance(who, ast.Name):
                held.attrs.add(who.id)  # a class's field is read as `<instance>.<field>`
            else:
                held.add(who)
        for _ in range(3):  # `m = config.motion`, then `x = m` ...: a few rounds suffice
            for node in self.assigns:
                if held.holds(node.value):
                    for target in node.targets:
                        held.add(target)
        return held

    def keys_read(self, cls: type, table: str) -> set[str]:
        """The keys of `cls` the package reads."""
        keys = set(documented_keys()[table])
        held = self.holders(cls, table)
        own = {c.__name__ for c in cls.__mro__}
        return {r.attr for r in self.reads
                if r.attr in keys and not r.validates
                and (held.holds(r.value)
                     or (isinstance(r.value, ast.Name) and r.value.id == "self"
                         and r.in_class in own))}


def unread_keys(source: Source) -> set[tuple[str, str]]:
    unread: set[tuple[str, str]] = set()
    for table, cls in _tables().items():
        read = source.keys_read(cls, table)
        unread |= {(table, key) for key in documented_keys()[table] if key not in read}
    return unread


def test_every_documented_key_is_read_somewhere() -> None:
    unread = unread_keys(Source.of())
    missing = sorted(unread - set(PENDING))
    assert not missing, ("documented config keys that nothing reads (a setting that does "
                         f"nothing): {[f'[{t}] {k}' for t, k in missing]}")
    now_read = sorted(set(PENDING) - unread)
    assert not now_read, f"now read, drop them from PENDING: {now_read}"


@pytest.mark.parametrize("table", ["camera", "dashboard", "dashboard.mqtt"])
def test_a_key_nothing_reads_is_found(table: str) -> None:
    # The check itself can fail: a package where one key is only declared and validated.
    source = Source.of()
    key = documented_keys()[table][0]
    assert (table, key) not in unread_keys(source)
    for tree in source.trees.values():
        _rename_reads(tree, key)
    assert (table, key) in unread_keys(Source(source.trees))


def _rename_reads(tree: ast.Module, key: str) -> None:
    """Every `x.<key>` read becomes `x.<key>_gone`, as if nothing used the key."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == key:
            node.attr = f"{key}_gone"
