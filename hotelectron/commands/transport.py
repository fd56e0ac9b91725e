"""``hotelectron transport``: Kondo resistivity and weak-localisation curves of a dilute magnetic alloy.

Registered by :func:`add_parser`; prints a table (regime per temperature, "-" where no formula of
VGL sections III-IV holds, with a note saying why under the table) and optionally plots both curves
on a logarithmic temperature axis with T_K, T_sg, T*, T~_sg and T~* marked where they are defined (the
legend says why the others are not).

Sign convention of the weak-localisation column: the correction lowers the conductance, sigma A =
sigma_Drude A - |Delta sigma_wl|; the column is its magnitude (e^2/2 pi hbar) sqrt(D tau_s/2) (1 + a + b)
(VGL 45, D1-D2), positive, cut off by the spin-flip dephasing and enlarged by the pairs that freeze
spin flips (a, b > 0). It grows with T above T_K because 1/tau_s falls there (Nagaoka-Hamann).
"""

from __future__ import annotations

import logging
import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .. import transport as tr

log = logging.getLogger(__name__)

__all__ = ["add_parser", "alloy_from_scenario", "cmd_transport", "refusal", "transport_curves", "transport_table"]

#: the most temperatures of one table: 100 per decade over ten decades
MAX_POINTS = 1000


def add_parser(subparsers):
    """Register the ``transport`` subcommand on an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "transport",
        help="Kondo resistivity and weak-localisation correction vs temperature (VGL III-IV)",
        description="Delta rho_K(T) and Delta sigma_wl(T) of a dilute magnetic alloy in every regime of "
        "Vavilov, Glazman & Larkin (2003), sections III-IV.",
    )
    p.add_argument(
        "scenario",
        nargs="?",
        help="scenario TOML file: the alloy comes from [wire] material, diffusion_constant and "
        "[impurities] spin, concentration, kondo_temperature (the options below are then ignored)",
    )
    p.add_argument("--material", default="Au", help="host metal: Cu, Ag or Au (default Au)")
    p.add_argument("--spin", type=float, default=2.5, help="impurity spin S (default 2.5)")
    p.add_argument("--ppm", default="60 ppm", help="impurity concentration, e.g. '60 ppm' (a bare number means ppm)")
    p.add_argument("--kondo-temperature", default="0.3 K", help="T_K, e.g. '0.3 K'")
    p.add_argument("--diffusion", default="0.01 m^2/s", help="diffusion constant D, e.g. '0.01 m^2/s'")
    p.add_argument("--tmin", default="1 mK", help="lowest temperature (default 1 mK)")
    p.add_argument("--tmax", default="100 K", help="highest temperature (default 100 K)")
    p.add_argument("--points", type=int, default=41, help="temperatures on a log grid, 2 to 1000 (default 41)")
    p.add_argument("--extrapolate", action="store_true", help="evaluate formulas outside their regime too")
    p.add_argument("--plot", metavar="FIG.png", help="write a figure of both curves")
    p.set_defaults(func=cmd_transport)
    return p


def alloy_from_scenario(path) -> tr.Alloy:
    """The alloy of a scenario file: ``[wire]`` material and diffusion_constant, ``[impurities]`` spin,
    concentration and kondo_temperature, quantities with units ("60 ppm", "0.3 K", "0.01 m^2/s")."""
    from .. import transport as tr
    from ..io.scenario.loader import scenario_tables
    from ..units import parse_quantity

    data = scenario_tables(path)
    wire = data.get("wire", {})
    impurities = data.get("impurities", {})
    for section, key in (("impurities", "spin"), ("impurities", "concentration"), ("impurities", "kondo_temperature")):
        if key not in data.get(section, {}):
            msg = f"{path}: [{section}] {key} is required for the transport curves"
            raise ValueError(msg)
    diffusion = wire.get("diffusion_constant")
    return tr.Alloy(
        host=wire.get("material", "Au"),
        spin=impurities["spin"],
        n_s_ppm=parse_quantity(impurities["concentration"], "concentration", "[impurities] concentration", unit="ppm", positive=True),
        kondo_temperature_K=parse_quantity(
            impurities["kondo_temperature"], "temperature", "[impurities] kondo_temperature", positive=True
        ),
        diffusion_m2_s=None if diffusion is None else parse_quantity(diffusion, "diffusion", "[wire] diffusion_constant", positive=True),
    )


def _is_number(text) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _alloy_from_args(args) -> tr.Alloy:
    from .. import transport as tr
    from ..units import parse_quantity

    if args.scenario is not None:
        return alloy_from_scenario(args.scenario)
    ppm_text = f"{args.ppm} ppm" if _is_number(args.ppm) else args.ppm  # a bare number means ppm
    return tr.Alloy(
        host=args.material,
        spin=args.spin,
        n_s_ppm=parse_quantity(ppm_text, "concentration", "--ppm", unit="ppm", positive=True),
        kondo_temperature_K=parse_quantity(args.kondo_temperature, "temperature", "--kondo-temperature", positive=True),
        diffusion_m2_s=parse_quantity(args.diffusion, "diffusion", "--diffusion", positive=True),
    )


def _regime(alloy, T, extrapolate=False):
    """The regime whose formulas apply at T; T~T_K where neither side's logarithm reaches MIN_LOG (with
    ``extrapolate``, the side whose formulas were stretched there)."""
    from .. import transport as tr

    side = ("T>>T_K" if T >= alloy.kondo_temperature_K else
            "T<<T_K, S=1/2" if alloy.spin == 0.5 else "T<<T_K, S>1/2")
    if abs(math.log(T / alloy.kondo_temperature_K)) < tr.MIN_LOG:
        return f"T~T_K: {side} extrapolated" if extrapolate else "T~T_K"
    return side


def transport_curves(alloy: tr.Alloy, temperatures_K, *, extrapolate=False):
    """``(rho, sigma, regimes)`` on the given temperatures; NaN where the regime's formula refuses."""
    rho, sigma, regimes, _ = transport_table(alloy, temperatures_K, extrapolate=extrapolate)
    return rho, sigma, regimes


def transport_table(alloy: tr.Alloy, temperatures_K, *, extrapolate=False):
    """``(rho, sigma, regimes, reasons)``: the curves as :func:`transport_curves`, and per temperature the
    reasons (:func:`refusal`) for which each empty value was refused, ``(rho's, sigma's)``, None where
    there is a value."""
    import numpy as np

    from .. import transport as tr

    rho = np.full(len(temperatures_K), np.nan)
    sigma = np.full(len(temperatures_K), np.nan)
    reasons = []
    for i, T in enumerate(temperatures_K):
        why = []
        for out, f in ((rho, tr.kondo_resistivity_ohm_m), (sigma, tr.weak_localisation_S_m)):
            try:
                out[i] = f(alloy, float(T), extrapolate=extrapolate)
                why.append(None)
            except ValueError as exc:
                log.debug("T = %g K: %s", T, exc)
                why.append(refusal(exc))
        reasons.append(tuple(why))
    return rho, sigma, [_regime(alloy, T, extrapolate) for T in temperatures_K], reasons


def refusal(exc: ValueError) -> str:
    """A formula's refusal without the temperature it was asked at, so that the rows refused for one
    reason share one note: "Delta rho_K (VGL 27) is a T >> T_K formula: needs ln(T/T_K) >= 1, i.e. T >= 0.8155 K"."""
    text = str(exc).replace(" (pass extrapolate=True to evaluate it anyway)", "")
    text = re.sub(r"(?: at)? temperature_K = [-+.\deE]+", "", text)
    return re.sub(r"(?: =)? [-+.\deE]+ exceeds", " exceeds", text)


def _notes(reasons) -> tuple[list[str], list[str]]:
    """Per row the note column ("no value: [1]", "no Delta rho_K: [2]", ""), and the numbered notes."""
    numbers: dict[str, int] = {}
    column = []
    for why in reasons:
        marks = [numbers.setdefault(r, len(numbers) + 1) for r in why if r is not None]
        if not marks:
            column.append("")
            continue
        what = ("no value" if all(r is not None for r in why)
                else "no Delta rho_K" if why[0] is not None else "no |Delta sigma_wl|")
        column.append(f"{what}: " + ",".join(f"[{m}]" for m in dict.fromkeys(marks)))
    return column, [f"[{m}] {reason}" for reason, m in numbers.items()]


def _scales(alloy):
    """The marked temperatures: name -> kelvin where defined, name -> why not (a string) elsewhere."""
    from .. import transport as tr

    out = {"T_K": alloy.kondo_temperature_K}
    for name, f in (
        ("T_sg", lambda: alloy.spin_glass_temperature_K),
        ("T*", lambda: tr.characteristic_temperature_K(alloy)),
        ("T~_sg", lambda: alloy.underscreened_spin_glass_temperature_K),
        ("T~*", lambda: tr.underscreened_characteristic_temperature_K(alloy)),
    ):
        try:
            out[name] = f()
        except ValueError as exc:
            out[name] = str(exc)
    return out


def _plot(path, T, rho, sigma, scales):
    import matplotlib.pyplot as plt

    fig = transport_figure(T, rho, sigma, scales)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def transport_figure(T, rho, sigma, scales):
    """Both curves against T with the scales marked (``scales`` as :func:`_scales`: a number where
    defined, the reason where not, which the legend gives)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 1, sharex=True, figsize=(6.4, 6.4))
    axes[0].plot(T, rho * 1e8, "o-", ms=3)
    axes[0].set_ylabel(r"$\Delta\rho_K$ ($\mu\Omega$ cm)")
    axes[1].plot(T, sigma, "o-", ms=3, color="C1")
    axes[1].set_ylabel(r"$|\Delta\sigma_{wl}|$ (S m), $\sigma = \sigma_D - |\Delta\sigma_{wl}|$")
    axes[1].set_xlabel("T (K)")
    for ax in axes:
        ax.set_xscale("log")
        for i, (name, value) in enumerate(scales.items()):
            if isinstance(value, str):  # not defined: the legend says why
                if ax is axes[0]:
                    ax.plot([], [], " ", label=f"{name} not defined: {re.split(r'[:;]', value)[0]}")
            elif T[0] <= value <= T[-1]:
                ax.axvline(value, color=f"C{i + 2}", ls="--", lw=1, label=f"{name} = {value:.3g} K")
            elif ax is axes[0]:
                ax.plot([], [], " ", label=f"{name} = {value:.3g} K (outside the axis)")
    axes[0].legend(loc="upper left", fontsize=7)  # the curves start at T_K and above
    fig.tight_layout()
    return fig


def cmd_transport(args) -> int:
    """Print the table (and write the figure) for the alloy given on the command line."""
    import numpy as np

    from ..units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J, parse_quantity

    alloy = _alloy_from_args(args)
    tmin = parse_quantity(args.tmin, "temperature", "--tmin", positive=True)
    tmax = parse_quantity(args.tmax, "temperature", "--tmax", positive=True)
    if not tmin < tmax or args.points < 2:
        msg = f"need --tmin < --tmax and --points >= 2; got {tmin:g} K, {tmax:g} K, {args.points}"
        raise ValueError(msg)
    if args.points > MAX_POINTS:
        msg = f"--points {args.points}: at most {MAX_POINTS} temperatures (each costs up to a second of integrals)"
        raise ValueError(msg)
    fermi_K = alloy.host.fermi_energy_eV * ELECTRON_VOLT_J / BOLTZMANN_J_PER_K
    if tmax > fermi_K:  # the formulas are those of a degenerate electron gas; far above, their integrals overflow
        msg = (f"--tmax {args.tmax}: above the Fermi temperature of {alloy.host.name} ({fermi_K:.2g} K), where no "
               "formula of VGL III-IV holds (they need T << T_F)")
        raise ValueError(msg)
    T = np.geomspace(tmin, tmax, args.points)
    rho, sigma, regimes, reasons = transport_table(alloy, T, extrapolate=args.extrapolate)
    scales = _scales(alloy)
    print(f"# {alloy.host.name} with {alloy.n_s_ppm:g} ppm, S = {alloy.spin:g}, T_K = {alloy.kondo_temperature_K:g} K")
    print(f"# n_s/nu = {alloy.n_s_over_nu_K:.4g} K, Delta rho_U = {alloy.unitary_resistivity_ohm_m:.4g} ohm m")
    print("# " + ", ".join(f"{k} = {v:.4g} K" for k, v in scales.items() if not isinstance(v, str)))
    for name, why in scales.items():
        if isinstance(why, str):
            print(f"# {name} not defined: {why}")
    print("# |Delta sigma_wl|: the magnitude of the weak-localisation correction, sigma A = sigma_Drude A - "
          "|Delta sigma_wl| (VGL 45, D1-D2)")
    notes, footnotes = _notes(reasons)
    print(f"{'T (K)':>12}  {'Delta rho_K (ohm m)':>20}  {'|Delta sigma_wl| (S m)':>22}  {'regime':<14}  note")
    for t, r, s, reg, note in zip(T, rho, sigma, regimes, notes):
        r_txt = f"{r:20.6e}" if math.isfinite(r) else f"{'-':>20}"
        s_txt = f"{s:22.6e}" if math.isfinite(s) else f"{'-':>22}"
        print(f"{t:12.5g}  {r_txt}  {s_txt}  {reg:<14}  {note}".rstrip())
    for line in footnotes:
        print(f"# {line}")
    empty = sum(1 for why in reasons if any(r is not None for r in why))
    if empty:
        marks = "[1]" if len(footnotes) == 1 else f"[1]-[{len(footnotes)}]"
        hint = "" if args.extrapolate else "; --extrapolate stretches the formulas beyond their bounds"
        log.warning("%d of %d temperatures lack a value (\"-\"): no formula of VGL III-IV holds there "
                    "(the reasons %s under the table)%s", empty, len(T), marks, hint)
    if args.plot:
        _plot(args.plot, T, rho, sigma, scales)
        log.info("wrote %s", args.plot)
    return 0
