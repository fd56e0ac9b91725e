"""Whether two scenario texts describe the same run: compared as parsed TOML tables, so that comments,
whitespace, key order and the form of the TOML (a point of a sweep is written by tomli-w) do not
matter, while every value does (``"1 ppm"`` against ``"3 ppm"``, but also ``"1 ppm"`` against
``"0.0001 percent"``: the text of a value is what the file records).

A file is continued (``run --resume``, a resumed series or sweep) only by the scenario that wrote it;
:func:`scenario_differences` names what differs for the refusal.
"""

from __future__ import annotations

import tomllib

__all__ = ["describe", "scenario_differences"]

#: At most this many differing keys are named in a message.
SHOWN = 3


def _flat(table: dict, section: str = "") -> dict:
    """``{"[impurities] concentration": "1 ppm", "[run.bump] energy": ...}`` of a parsed scenario."""
    out = {}
    for key, value in table.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{section}.{key}" if section else key))
        else:
            out[f"[{section}] {key}" if section else key] = value
    return out


def scenario_differences(stored: str, given: str) -> list[str]:
    """The differences between two scenario texts, one phrase per differing key
    (``"[impurities] concentration = '1 ppm' in the file, '3 ppm' now"``); empty when they are the
    same scenario. A stored text that is not valid TOML differs from every scenario."""
    try:
        old = _flat(tomllib.loads(stored))
    except (tomllib.TOMLDecodeError, RecursionError):
        return ["the file's scenario is not valid TOML"]
    new = _flat(tomllib.loads(given))
    phrases = []
    for key in sorted(set(old) | set(new)):
        if key not in new:
            phrases.append(f"{key} = {old[key]!r} in the file, absent now")
        elif key not in old:
            phrases.append(f"{key} absent in the file, {new[key]!r} now")
        elif old[key] != new[key]:
            phrases.append(f"{key} = {old[key]!r} in the file, {new[key]!r} now")
    return phrases


def describe(differences: list[str]) -> str:
    """The first few differences on one line."""
    more = len(differences) - SHOWN
    return "; ".join(differences[:SHOWN]) + (f"; and {more} more" if more > 0 else "")
