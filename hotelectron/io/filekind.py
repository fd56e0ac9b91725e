"""Which kind of TOML file a top level is: a scenario, a sweep file or a fit file.

Each command reads one kind. Given another, its loader would report the other kind's tables as unknown
keys (``[base]: unknown section``), which hides the real mistake; :func:`check_kind`, called by each
loader on the parsed top level before anything else, says instead what the file is and which command
reads it. A kind is recognised by the top-level keys only it has: a scenario's sections, a sweep's
axes, a fit's data and parameters (``base`` and ``output`` belong to sweeps and fits alike). A file
that shows keys of the expected kind is left to its loader, which names any typo in it.
"""

from __future__ import annotations

__all__ = ["KINDS", "SCENARIO_SECTIONS", "check_kind", "file_kinds", "toml_kind"]

#: the sections of a scenario file (hotelectron.io.scenario)
SCENARIO_SECTIONS = ("wire", "reservoirs", "impurities", "electron_electron", "phonons", "field", "spin_mediated",
                     "dimensionless", "grid", "run")

#: kind -> the top-level keys that only that kind of file has
KINDS = {
    "scenario": SCENARIO_SECTIONS,
    "sweep": ("axes", "zip"),
    "fit": ("data", "sigma", "max_evaluations", "probe", "parameters", "kernel"),
}

#: kind -> (what it is, the command that reads it, what a file of that kind holds)
_ABOUT = {
    "scenario": ("a scenario", "hotelectron run", "a scenario has sections such as [wire], [reservoirs] and [grid]"),
    "sweep": ("a sweep file", "hotelectron sweep", 'a sweep file names a scenario as base = "..." and adds [axes]'),
    "fit": ("a fit file", "hotelectron fit", 'a fit file names a scenario as base = "..." beside data and '
                                             "[parameters] or [kernel]"),
}


def file_kinds(data: dict) -> list[str]:
    """The kinds of file whose own keys the parsed top level ``data`` holds: none, one, or (a muddled
    file) several; a ``base`` without axes or data makes a sweep or a fit."""
    kinds = [kind for kind, keys in KINDS.items() if any(key in data for key in keys)]
    if not kinds and "base" in data:
        kinds = ["sweep", "fit"]
    return kinds


def check_kind(data: dict, expected: str, path=None) -> None:
    """Refuse (``ValueError``, one line naming ``path``, what the file is and the command that reads it)
    the top level ``data`` of another kind of file than ``expected`` ("scenario", "sweep" or "fit")."""
    kinds = file_kinds(data)
    if not kinds or expected in kinds:
        return
    name = "FILE" if path is None else str(path)
    where = "this TOML" if path is None else f"{path}: this"
    what, commands = _described(kinds, name)
    msg = f"{where} is {what}, not {_ABOUT[expected][0]}: run it with {commands} ({_ABOUT[expected][2]})"
    raise ValueError(msg)


def _described(kinds, name) -> tuple[str, str]:
    """``("a sweep file", "'hotelectron sweep NAME'")``: what a file of these kinds is, and the commands that read it."""
    return (" or ".join(_ABOUT[kind][0] for kind in kinds),
            " or ".join(f"'{_ABOUT[kind][1]} {name}'" for kind in kinds))


def toml_kind(path) -> str | None:
    """What the file at ``path`` is if it is a TOML file of one of the kinds, with the command that reads
    it ("a scenario: run it with 'hotelectron run PATH'"), for a command given it instead of its output;
    None for anything else (not TOML, not UTF-8, no kind's keys)."""
    import tomllib
    from pathlib import Path

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    kinds = file_kinds(data)
    if not kinds:
        return None
    what, commands = _described(kinds, path)
    return f"{what}: run it with {commands}"
