"""The [dimensionless] section: the solver's own parameters, for theorists (no material, no units).

Energies are in E0 (the bias when it is 1, the default), times in tau_D. See the package docstring.
"""

from __future__ import annotations

from ... import spin as spin_algebra
from . import fields as fl
from .physical import Physics, phonon_exponent
from .zeeman import dimensionless_field

__all__ = ["DIMENSIONLESS_KEYS", "dimensionless"]

DIMENSIONLESS_KEYS = ("temperature", "bias", "pair_rate", "pair_relaxation", "v_min", "spin", "spin_glass_temperature",
                      "kappa", "exponent", "phonon_kappa", "phonon_temperature", "phonon_exponent", "zeeman")
_PAIR_KEYS = ("pair_rate", "pair_relaxation", "spin", "v_min", "spin_glass_temperature")


def _name(key):
    return f"[dimensionless] {key}"


def dimensionless(table) -> Physics:
    """The problem of a [dimensionless] section (already checked for unknown keys)."""
    if "temperature" not in table:
        msg = "[dimensionless] temperature is required (in units of E0; 0 is allowed)"
        raise ValueError(msg)
    T = fl.number(table["temperature"], _name("temperature"), lo=0)
    bias = fl.number(table.get("bias", 1.0), _name("bias"))
    if T == 0 and bias == 0:
        fl.fail(_name("bias"), table.get("bias"), "with temperature = 0 and bias = 0 nothing happens",
                "a non-zero bias or temperature")
    derived = {"temperature_E0": T, "bias_E0": bias}
    out = Physics(bias / 2, -bias / 2, T, T, None, "E0", None, derived)
    if any(k in table for k in _PAIR_KEYS):
        for key in ("pair_rate", "pair_relaxation", "spin"):
            if key not in table:
                given = next(k for k in _PAIR_KEYS if k in table)
                msg = f"[dimensionless] {key} is required with [dimensionless] {given} (pairs need pair_rate, pair_relaxation, spin)"
                raise ValueError(msg)
        try:
            S = spin_algebra.check_spin(table["spin"])
        except ValueError:
            fl.fail(_name("spin"), table["spin"], "not an allowed spin",
                    f"a positive multiple of 1/2 up to {spin_algebra.MAX_SPIN:g}")
        out.pairs = {
            "S": S,
            "rate": fl.number(table["pair_rate"], _name("pair_rate"), lo=0, lo_open=True),
            "relaxation": fl.number(table["pair_relaxation"], _name("pair_relaxation"), lo=0, lo_open=True),
            "T_sg": None,
            "v_min": None,
        }
        if "spin_glass_temperature" in table:
            out.pairs["T_sg"] = fl.number(table["spin_glass_temperature"], _name("spin_glass_temperature"), lo=0, lo_open=True)
            derived["T_sg_E0"] = out.pairs["T_sg"]
        if "v_min" in table:
            out.pairs["v_min"] = fl.number(table["v_min"], _name("v_min"), lo=0, lo_open=True)
        elif out.pairs["T_sg"] is None:
            msg = "[dimensionless] v_min is required with pairs (or give spin_glass_temperature for the default cutoff)"
            raise ValueError(msg)
        out.pair_section = "dimensionless"
        derived["spin"] = S
    if "exponent" in table and "kappa" not in table:
        msg = "[dimensionless] exponent needs [dimensionless] kappa (the electron-electron strength)"
        raise ValueError(msg)
    if "kappa" in table:
        exponent = 1.5
        if "exponent" in table:
            exponent = fl.number(table["exponent"], _name("exponent"), lo=0, hi=3, lo_open=True, hi_open=True,
                                 allowed="a number in (0, 3): 1.5 (Coulomb) or 2 (magnetic impurities)")
        kappa = fl.number(table["kappa"], _name("kappa"), lo=0, lo_open=True)
        out.electron_electron = {"kappa": kappa, "exponent": exponent}
        derived.update(kappa_dimensionless=kappa, exponent=exponent)
    extra = [k for k in ("phonon_temperature", "phonon_exponent") if k in table]
    if extra and "phonon_kappa" not in table:
        msg = f"[dimensionless] {extra[0]} needs [dimensionless] phonon_kappa (the electron-phonon strength)"
        raise ValueError(msg)
    if "phonon_kappa" in table:
        p = phonon_exponent({"exponent": table["phonon_exponent"]} if "phonon_exponent" in table else {}, "dimensionless")
        kappa_ph = fl.number(table["phonon_kappa"], _name("phonon_kappa"), lo=0, lo_open=True)
        T_ph = fl.number(table.get("phonon_temperature", T), _name("phonon_temperature"), lo=0)
        out.phonons = {"kappa": kappa_ph, "temperature": T_ph, "exponent": p}
        derived.update(phonon_kappa=kappa_ph, phonon_temperature_E0=T_ph, phonon_exponent=p)
    out.magnetic_field = dimensionless_field(table, derived)
    return out
