"""The package is built in layers, each importing only from itself and the layers below it.

The order (STYLE.md item 1): ground (``spin``, ``units``, ``materials``), ``kinetics`` (one position),
``wire``, ``transport``, ``io``, ``sweep``, ``experiment``, ``bench``, ``commands``. Every import in
the package, lazy ones inside functions included, is read from the source with ``ast``.
"""

import ast
from pathlib import Path

import pytest

import hotelectron

LAYERS = ["ground", "kinetics", "wire", "transport", "io", "sweep", "experiment", "bench", "commands"]
GROUND = {"spin", "units", "materials"}
PACKAGE = Path(hotelectron.__file__).parent


def layer_of(module: str) -> str:
    """The layer of a dotted module name inside the package (``hotelectron.wire.steady`` -> ``wire``)."""
    parts = module.split(".")
    assert parts[0] == "hotelectron", module
    if len(parts) == 1 or parts[1] in GROUND:
        return "ground"
    if parts[1] == "__main__":
        return "commands"
    if parts[1] not in LAYERS:
        msg = f"{module}: not in any layer; add it to a layer folder (or to the ground modules)"
        raise AssertionError(msg)
    return parts[1]


def module_name(path: Path, root: Path = PACKAGE) -> str:
    relative = path.relative_to(root.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """``(line, absolute module)`` of every import of the package in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                if not is_package:
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # "from . import storage" names submodules: judge each of them
            names = [f"{target}.{alias.name}" for alias in node.names] if node.module is None else [target]
            found += [(node.lineno, name) for name in names]
    return [(line, name) for line, name in found if name == "hotelectron" or name.startswith("hotelectron.")]


def upward_imports(root: Path = PACKAGE) -> list[str]:
    """Every import from a higher layer, as ``file:line: module (layer) imports target (layer)``."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        here = LAYERS.index(layer_of(module))
        for line, target in imported_modules(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            # "from .. import __version__" names an attribute of the root package, not a module
            target_module = "hotelectron" if target == "hotelectron.__version__" else target
            there = LAYERS.index(layer_of(target_module))
            if there > here:
                problems.append(f"{path.relative_to(root.parent)}:{line}: {module} ({LAYERS[here]}) imports "
                                f"{target} ({LAYERS[there]})")
    return problems


def test_no_module_imports_from_a_higher_layer():
    problems = upward_imports()
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_every_module_belongs_to_a_layer():
    for path in PACKAGE.rglob("*.py"):
        assert layer_of(module_name(path)) in LAYERS


@pytest.mark.parametrize("statement, where", [
    ("from ..io.storage import TrajectoryWriter\n", "kinetics/collisions.py"),
    ("from ...sweep import run_sweep\n", "io/scenario/loader.py"),
    ("import hotelectron.commands.main\n", "spin.py"),
    ("def late():\n    from ..bench import wire\n", "wire/steady.py"),
])
def test_a_deliberate_upward_import_is_found(tmp_path, statement, where):
    """The check itself can fail: a copy of the package with one upward import added is refused."""
    import shutil

    copy = tmp_path / "hotelectron"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / where
    target.write_text(target.read_text(encoding="utf-8") + "\n" + statement, encoding="utf-8")
    problems = upward_imports(copy)
    assert len(problems) == 1 and where in problems[0]

