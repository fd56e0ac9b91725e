"""``hotelectron probe``: the conductance R_T dI/dV(V) a superconducting tunnel probe would measure.

Reads f(x, eps) of one frame of a trajectory, takes it at the probe position (linear interpolation
in x), converts energies to meV with the file's energy unit eU and evaluates
:func:`hotelectron.experiment.probe.probe_conductance`. The probe sits in the field of the run (the
file's ``[field] B``) unless ``--field`` says otherwise. Options are checked before any work (the
outputs too, :mod:`hotelectron.io.outputs`) and every refusal names its option. Writes a CSV (the measured-data format
of :mod:`hotelectron.experiment.data`, so that a fit reads it back) and optionally a figure; without
either it prints a table of the curve under a header naming the run, the probe and the bias range.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

__all__ = ["add_parser", "cmd_probe", "describe", "probe_from_args", "read_frame"]

#: the option that sets each field of ProbeParameters
OPTIONS = {"gap_meV": "--gap", "dynes_meV": "--dynes", "temperature_K": "--probe-temperature", "field_T": "--field",
           "g": "--g"}


def add_parser(subparsers):
    """Register the ``probe`` subcommand on an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "probe",
        help="R_T dI/dV(V) of a BCS-Dynes tunnel probe on the wire, from a trajectory's f",
        description="Simulated tunnel spectroscopy: R_T dI/dV = int dE n_S(E + eV) (-df/dE) with a "
        "Dynes-broadened, Zeeman-split BCS probe (SPEC section 10).",
    )
    p.add_argument("trajectory", help="HDF5 file written by 'hotelectron run'")
    p.add_argument("--gap", default="0.17 meV",
                   help="probe gap Delta(0) (default %(default)s, aluminium; '0 meV': a normal probe)")
    p.add_argument("--dynes", default="1 ueV", help="Dynes broadening Gamma_D (default %(default)s)")
    p.add_argument("--probe-temperature", default="50 mK",
                   help="probe temperature, sets Delta(T) (default %(default)s)")
    p.add_argument("--field", help="magnetic field at the probe, e.g. '0.5 T' (default: the trajectory's [field] B, "
                                   "0 T without one; a different one is warned about)")
    p.add_argument("--g", type=float, default=2.0, help="g factor of the probe's electrons, in (0, 20] (default 2)")
    p.add_argument("--position", type=float, default=0.5, help="probe position x/L in [0, 1] (default 0.5)")
    p.add_argument("--frame", choices=("last", "steady"), default="last",
                   help="which frame: the last one, or the steady state (the last frame of a steady run)")
    p.add_argument("--points", type=int, default=801,
                   help=f"probe biases, {MIN_POINTS} to {MAX_POINTS} (default 801), evenly over V = +-(half width of the "
                        "energy grid + Delta(T) + g mu_B B/2)")
    p.add_argument("-o", "--output", metavar="CURVES.csv",
                   help=f"write the curve as CSV (without -o or --plot: {PRINTED_ROWS} of the biases are printed)")
    p.add_argument("--plot", metavar="FIG.png", help="write a figure of the curve")
    p.set_defaults(func=cmd_probe)
    return p


#: probe biases at least (a curve of one point has no shape, and a fit refuses it)
MIN_POINTS = 2
#: at most this many probe biases: about 0.6 KB of working memory each (1e6 took 15 s and 0.6 GB; 1e8 would need
#: some 60 GB), far beyond the resolution of any measured curve or energy grid
MAX_POINTS = 1_000_000
#: rows of the printed table (without -o or --plot); the CSV has them all
PRINTED_ROWS = 21


def probe_from_args(args, file_field_T: float, path):
    """The ProbeParameters of the options; the field is ``--field``, or the trajectory's field
    ``file_field_T`` (T) when it is not given. A refusal names the option (or the trajectory's field)."""
    from ..experiment.probe import ProbeParameterError, ProbeParameters
    from ..units import parse_quantity, parse_temperature_K

    field_T = file_field_T if args.field is None else parse_quantity(args.field, "magnetic_field", "--field", unit="T")
    try:
        probe = ProbeParameters(
            gap_meV=parse_quantity(args.gap, "energy", "--gap", unit="meV"),
            dynes_meV=parse_quantity(args.dynes, "energy", "--dynes", unit="meV"),
            temperature_K=parse_temperature_K(args.probe_temperature, "--probe-temperature", positive=False),
            field_T=field_T, g=args.g)
    except ProbeParameterError as exc:
        if exc.field == "field_T" and args.field is None:
            msg = f"the field of {path}, B = {field_T:g} T (its [field] B; --field overrides it): {exc.reason}"
        else:
            given = {"gap_meV": args.gap, "dynes_meV": args.dynes, "temperature_K": args.probe_temperature,
                     "field_T": args.field, "g": args.g}[exc.field]
            msg = f"{OPTIONS[exc.field]} {given}: {exc.reason}"
        raise ValueError(msg) from None
    if field_T != file_field_T:
        log.warning("--field %s differs from the field of %s (B = %g T); the probe is computed at --field",
                    args.field, path, file_field_T)
    return probe


def read_frame(path, *, position=0.5, frame="last"):
    """(derived quantities of the run, energies in meV, f at x/L = ``position``) of a trajectory's last frame."""
    import json

    import h5py
    import numpy as np

    from ..io.storage import verify

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
    if "energy_unit_meV" not in derived:
        msg = f"{path}: a dimensionless run has no energies in meV for the probe; run a physical scenario"
        raise ValueError(msg)
    f = np.array([np.interp(position, x, f_x[:, k]) for k in range(eps.size)])
    return derived, eps * derived["energy_unit_meV"], f


def probe_curve(energy_meV, f, probe, points: int):
    """(probe biases V in mV, R_T dI/dV) on ``points`` biases wide enough for every feature of the curve."""
    import numpy as np

    from ..experiment.probe import probe_conductance

    # a normal probe (no gap) is flat whatever the field: its Zeeman shift does not widen the curve
    shift = probe.gap_at_temperature_meV + abs(probe.zeeman_meV) if probe.gap_meV > 0 else 0.0
    reach = shift + np.max(np.abs(energy_meV))
    bias_mV = np.linspace(-reach, reach, points)
    return bias_mV, probe_conductance(energy_meV, f, bias_mV, probe)


def cmd_probe(args) -> int:
    from pathlib import Path

    from ..experiment.probe import coarse_f_message
    from ..io.outputs import check_figure_output, check_file_output
    from .run import existing_file

    path = Path(args.trajectory)
    existing_file(path, "probe")
    if args.points < MIN_POINTS:
        msg = f"--points {args.points}: at least {MIN_POINTS} probe biases are needed"
        raise ValueError(msg)
    if args.points > MAX_POINTS:
        msg = f"--points {args.points}: at most {MAX_POINTS} probe biases (each takes about 0.6 KB of memory)"
        raise ValueError(msg)
    if not 0 <= args.position <= 1:
        msg = f"--position {args.position!r} must lie in [0, 1] (a fraction of the wire length)"
        raise ValueError(msg)
    if args.output:
        check_file_output(args.output, [path])
    if args.plot:
        check_figure_output(args.plot, [path])
    derived, energy_meV, f = read_frame(path, position=args.position, frame=args.frame)
    if (message := coarse_f_message(f)) is not None:
        log.warning("%s at x/L = %g: %s", path, args.position, message)
    probe = probe_from_args(args, float(derived.get("field_T", 0.0)), path)
    v, g = probe_curve(energy_meV, f, probe, args.points)
    u, b, t = derived["bias_mV"], probe.field_T, derived["temperature_left_K"]
    if args.output:
        from ..experiment.data import MeasuredCurve, write_csv

        comments = [f"hotelectron probe curves from {path.name}", describe(probe, args.position)]
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
        print_table(path, derived, args, probe, v, g)
    return 0


def describe(probe, position: float) -> str:
    """The probe and its place, as the CSV's header and the printed table give them."""
    return (f"probe: gap {probe.gap_meV:g} meV (Delta(T) = {probe.gap_at_temperature_meV:.6g} meV), "
            f"dynes {probe.dynes_meV:g} meV, temperature {probe.temperature_K:g} K, field {probe.field_T:g} T, "
            f"g {probe.g:g}; position x/L = {position:g}")


def print_table(path, derived, args, probe, v, g) -> None:
    """A header naming the run, the probe and the bias range, then about PRINTED_ROWS evenly spaced
    rows (V, R_T dI/dV)."""
    every = max(1, (v.size - 1) // (PRINTED_ROWS - 1))
    print(f"# hotelectron probe {path}: {args.frame} frame, wire bias U = {derived['bias_mV']:g} mV, "
          f"bath T = {derived['temperature_left_K']:g} K")
    print(f"# {describe(probe, args.position)}")
    shown = v[::every].size
    print(f"# V from {v[0]:.6g} to {v[-1]:.6g} mV = +-(half width of the energy grid + Delta(T) + g mu_B B/2); "
          f"{shown} of {v.size} biases (-o CURVES.csv writes them all)")
    print(f"# {'V (mV)':>10s}  R_T dI/dV")
    for vi, gi in zip(v[::every], g[::every]):
        print(f"{vi:12.5f}  {gi:.6f}")
