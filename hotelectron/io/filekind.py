"""Which kind of file a command was given: a scenario, a sweep file or a fit file (TOML), or a CSV table.

Each command reads one kind. Given another, its loader would report the other kind's tables as unknown
keys (``[base]: unknown section``), which hides the real mistake; :func:`check_kind`, called by each
loader on the parsed top level before anything else, says instead what the file is and which command
reads it. A kind is recognised by the top-level keys only it has: a scenario's sections, a sweep's
axes, a fit's data and parameters (``base`` and ``output`` belong to sweeps and fits alike). A file
that shows keys of the expected kind is left to its loader, which names any typo in it.

A file that is not TOML may be one of the CSV tables the commands write or read: a sweep's summary
(its column line begins with ``index,point``, :data:`hotelectron.sweep.summary.FIXED`) or measured data
(a column line naming the wire bias U and a measured y, :mod:`hotelectron.experiment.data`);
:func:`check_table_kind`, called where a loader finds no TOML, names it and the command that takes it
instead of a TOML parser's complaint about its first line.
"""

from __future__ import annotations

__all__ = ["KINDS", "SCENARIO_SECTIONS", "SUMMARY_COLUMNS", "check_kind", "check_table_kind", "file_kinds", "named_kind",
           "table_kind"]

#: the sections of a scenario file (hotelectron.io.scenario)
SCENARIO_SECTIONS = ("wire", "reservoirs", "impurities", "electron_electron", "phonons", "field", "spin_mediated",
                     "dimensionless", "grid", "run")

#: kind -> the top-level keys that only that kind of file has
KINDS = {
    "scenario": SCENARIO_SECTIONS,
    "sweep": ("axes", "zip"),
    "fit": ("data", "sigma", "max_evaluations", "probe", "parameters", "kernel"),
}

#: the first columns of a sweep's summary table
SUMMARY_COLUMNS = ("index", "point")
#: the columns of measured data: the wire bias, and one of the measured quantities (each may carry a unit
#: suffix, U_mV)
DATA_X, DATA_Y = "U", ("RT_dIdV", "dIdV", "f")

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


def _named_column(cell: str, quantities) -> bool:
    return any(cell == q or cell.startswith(q + "_") for q in quantities)


def table_kind(text: str, name) -> str | None:
    """What the text of a file named ``name`` is if it is one of the CSV tables, with the command that
    takes it ("a sweep's summary table: draw it with 'hotelectron plot NAME'"); None otherwise."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and tuple(c.strip() for c in lines[0].split(","))[:len(SUMMARY_COLUMNS)] == SUMMARY_COLUMNS:
        return f"a sweep's summary table: draw it with 'hotelectron plot {name}'"
    for line in lines:
        cells = [c.strip() for c in line.lstrip("#").split(",")]
        if any(_named_column(c, DATA_X) for c in cells) and any(_named_column(c, DATA_Y) for c in cells):
            return (f"measured data: fit it with 'hotelectron fit FIT.toml', a fit file that names it in "
                    f"data = [\"{name}\"] beside a base scenario and [parameters]")
    return None


def check_table_kind(text: str, expected: str, path=None) -> None:
    """Refuse (``ValueError`` naming ``path``) the text of a file that is not TOML but one of the CSV tables,
    saying what it is and the command that takes it; called by a loader of ``expected`` kind on a file it
    could not parse."""
    name = "FILE" if path is None else str(path)
    if (kind := table_kind(text, name)) is not None:
        where = "this text" if path is None else f"{path}: this"
        what, use = kind.split(": ", 1)
        msg = f"{where} is {what}, not {_ABOUT[expected][0]}: {use}"
        raise ValueError(msg)


def named_kind(path) -> str | None:
    """What the file at ``path`` is if it is a TOML file of one of the kinds or a CSV table, with the
    command that reads it ("a scenario: run it with 'hotelectron run PATH'"), for a command given it
    instead of its output; None for anything else (not UTF-8, no kind's keys, no table's columns)."""
    import tomllib
    from pathlib import Path

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return table_kind(text, path)
    kinds = file_kinds(data)
    if not kinds:
        return None
    what, commands = _described(kinds, path)
    return f"{what}: run it with {commands}"
