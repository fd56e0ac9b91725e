"""``hotelectron probe``: the conductance R_T dI/dV(V) a superconducting tunnel probe would measure.

Reads f(x, eps) of one frame of a trajectory, takes it at the probe position (linear interpolation
in x), converts energies to meV with the file's energy unit eU and evaluates
:func:`hotelectron.experiment.probe.probe_conductance`. Writes a CSV (the measured-data format
of :mod:`hotelectron.experiment.data`, so that a fit reads it back) and optionally a figure.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

__all__ = ["add_parser", "cmd_probe", "curve_from_file"]


def add_parser(subparsers):
    """Register the ``probe`` subcommand on an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "probe",
        help="R_T dI/dV(V) of a BCS-Dynes tunnel probe on the wire, from a trajectory's f",
        description="Simulated tunnel spectroscopy: R_T dI/dV = int dE n_S(E + eV) (-df/dE) with a "
        "Dynes-broadened, Zeeman-split BCS probe (SPEC section 10).",
    )
    p.add_argument("trajectory", help="HDF5 file written by 'hotelectron run'")
    p.add_argument("--gap", default="0.17 meV", help="probe gap Delta(0), e.g. '0.17 meV' (0 meV: normal probe)")
    p.add_argument("--dynes", default="1 ueV", help="Dynes broadening Gamma_D, e.g. '1 ueV'")
    p.add_argument("--probe-temperature", default="50 mK", help="probe temperature (sets Delta(T))")
    p.add_argument("--field", default="0 T", help="magnetic field at the probe, e.g. '0.5 T'")
    p.add_argument("--g", type=float, default=2.0, help="g factor of the probe's electrons (default 2)")
    p.add_argument("--position", type=float, default=0.5, help="probe position x/L in [0, 1] (default 0.5)")
    p.add_argument("--frame", choices=("last", "steady"), default="last",
                   help="which frame: the last one, or the steady state (the last frame of a steady run)")
    p.add_argument("--points", type=int, default=801, help="probe biases (default 801)")
    p.add_argument("-o", "--output", metavar="CURVES.csv", help="write the curve as CSV")
    p.add_argument("--plot", metavar="FIG.png", help="write a figure of the curve")
    p.set_defaults(func=cmd_probe)
    return p


def probe_from_args(args):
    from ..experiment.probe import ProbeParameters
    from ..units import parse_quantity, parse_temperature_K

    return ProbeParameters(
        gap_meV=parse_quantity(args.gap, "energy", "--gap", unit="meV"),
        dynes_meV=parse_quantity(args.dynes, "energy", "--dynes", unit="meV"),
        temperature_K=parse_temperature_K(args.probe_temperature, "--probe-temperature", positive=False),
        field_T=parse_quantity(args.field, "magnetic_field", "--field", unit="T"),
        g=args.g,
    )


def curve_from_file(path, probe, *, position=0.5, frame="last", points=801):
    """(U_mV, B_T, T_K, V_mV, R_T dI/dV) of one trajectory file."""
    import json

    import h5py
    import numpy as np

    from ..experiment.probe import probe_conductance
    from ..io.storage import verify

    if not 0 <= position <= 1:
        msg = f"--position {position!r} must lie in [0, 1] (a fraction of the wire length)"
        raise ValueError(msg)
    verify(path)  # damaged data fails here (DamagedFileError, exit 2), not as a curve of wrong numbers
    with h5py.File(path, "r") as fh:
        if "f" not in fh or fh["f"].shape[0] == 0:
            msg = f"{path}: no distribution f in the file (was it written by 'hotelectron run'?)"
            raise ValueError(msg)
        if frame == "steady" and fh.attrs.get("mode") != "steady":
            msg = f"{path}: --frame steady needs a steady run, this one is mode {fh.attrs.get('mode')!r}"
            raise ValueError(msg)
        derived = json.loads(fh.attrs["derived"])
        x = fh["grid/x"][...]
        eps = fh["grid/energy"][...]
        f_x = fh["f"][-1]
    f = np.array([np.interp(position, x, f_x[:, k]) for k in range(eps.size)])
    if "energy_unit_meV" not in derived:
        msg = f"{path}: a dimensionless run has no energies in meV for the probe; run a physical scenario"
        raise ValueError(msg)
    unit_meV = derived["energy_unit_meV"]
    energy_meV = eps * unit_meV
    reach = probe.gap_at_temperature_meV + abs(probe.zeeman_meV) + np.max(np.abs(energy_meV))
    bias_mV = np.linspace(-reach, reach, points)
    g = probe_conductance(energy_meV, f, bias_mV, probe)
    return (derived["bias_mV"], probe.field_T, derived["temperature_left_K"], bias_mV, g)


def cmd_probe(args) -> int:
    from pathlib import Path

    probe = probe_from_args(args)
    path = Path(args.trajectory)
    if not path.is_file():
        msg = f"{path}: no such trajectory file"
        raise FileNotFoundError(msg)
    u, b, t, v, g = curve_from_file(path, probe, position=args.position, frame=args.frame, points=args.points)
    if args.output:
        from ..experiment.data import MeasuredCurve, write_csv

        comments = [f"hotelectron probe curves from {path.name}",
                    f"probe: gap {probe.gap_meV} meV, dynes {probe.dynes_meV} meV, "
                    f"temperature {probe.temperature_K} K, g {probe.g}; position x/L = {args.position}"]
        write_csv(args.output, [MeasuredCurve(u, b, t, "conductance", v, g, source=path.name)], comments)
        log.info("wrote %s (%d points)", args.output, v.size)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(v, g, label=f"U = {u:g} mV, x/L = {args.position:g}")
        ax.axhline(1, color="0.7", lw=0.8)
        ax.set_xlabel("probe bias V (mV)")
        ax.set_ylabel("R_T dI/dV")
        ax.set_title(f"BCS probe: gap {probe.gap_meV:g} meV, Dynes {probe.dynes_meV:g} meV, B {probe.field_T:g} T")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        plt.close(fig)
        log.info("wrote %s", args.plot)
    if not args.output and not args.plot:
        for vi, gi in zip(v[:: max(1, v.size // 20)], g[:: max(1, v.size // 20)]):
            print(f"{vi:10.5f} mV  {gi:.6f}")
    return 0
