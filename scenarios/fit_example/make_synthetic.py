"""Make the SYNTHETIC "measured" curves of the shipped fitting example (README, "Fitting measurements").

    python scenarios/fit_example/make_synthetic.py [OUT.csv]

From the known scenario ``wire.toml`` and known probe parameters (TRUE_* below), the package's own
model (:class:`hotelectron.experiment.fit.FitModel`: the steady state at x = L/2 through the BCS-Dynes
probe, exactly what ``hotelectron fit`` evaluates) gives R_T dI/dV(V) at three wire biases U. Gaussian
noise of standard deviation SIGMA is added with a fixed seed and the values are rounded to 1e-6 (far
below SIGMA; the rounding makes the file the same on any machine, whatever the last bits of the
solver). The curves are written with :func:`hotelectron.experiment.data.write_csv` to
``synthetic_curves.csv`` next to this script (or OUT.csv), with a header saying they are synthetic and
giving the true values. ``fit.toml`` fits kappa and the probe gap back from starts 20-30 % off.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hotelectron.experiment.data import MeasuredCurve, write_csv
from hotelectron.experiment.fit import FitModel, FitProblem, Parameter
from hotelectron.experiment.probe import ProbeParameters

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "wire.toml"
OUTPUT = HERE / "synthetic_curves.csv"

#: the true values the fit should recover
TRUE_KAPPA = 0.5            # electron_electron.kappa, in KAPPA_UNIT
KAPPA_UNIT = "1/ns/meV^0.5"
TRUE_GAP_MEV = 0.17         # probe.gap, Delta(0) of the probe
#: probe parameters that are known (the fit file holds them fixed)
DYNES_MEV = 2e-3
PROBE_TEMPERATURE_K = 0.05
#: what is "measured"
BIASES_MV = (0.1, 0.2, 0.3)
V_MV = np.round(np.linspace(-0.6, 0.6, 121), 12)
SIGMA = 0.005               # Gaussian noise of R_T dI/dV
SEED = 20261202
DECIMALS = 6


def truth() -> dict:
    """label -> true value, as the fit reports them."""
    return {"electron_electron.kappa": TRUE_KAPPA, "probe.gap": TRUE_GAP_MEV}


def generate() -> list[MeasuredCurve]:
    """The synthetic curves: model at the true values, plus noise (seed SEED), rounded to DECIMALS."""
    placeholder = [MeasuredCurve(u, None, None, "conductance", V_MV, np.zeros_like(V_MV)) for u in BIASES_MV]
    parameters = [Parameter("electron_electron.kappa", TRUE_KAPPA, unit=KAPPA_UNIT), Parameter("probe.gap", TRUE_GAP_MEV)]
    probe = ProbeParameters(gap_meV=TRUE_GAP_MEV, dynes_meV=DYNES_MEV, temperature_K=PROBE_TEMPERATURE_K)
    model = FitModel(FitProblem(SCENARIO.read_text(encoding="utf-8"), placeholder, parameters, probe))
    rng = np.random.default_rng(SEED)
    curves = []
    for i, u in enumerate(BIASES_MV):
        y = model.curve(truth(), i)[0] + SIGMA * rng.standard_normal(V_MV.size)
        curves.append(MeasuredCurve(u, None, None, "conductance", V_MV, np.round(y, DECIMALS)))
    return curves


def header() -> list[str]:
    return [
        "SYNTHETIC DATA, NOT A MEASUREMENT: made by scenarios/fit_example/make_synthetic.py",
        f"model: scenario wire.toml, R_T dI/dV at x = L/2 of the steady state, U = {', '.join(f'{u:g}' for u in BIASES_MV)} mV",
        f"true values: electron_electron.kappa = {TRUE_KAPPA!r} {KAPPA_UNIT}, probe gap = {TRUE_GAP_MEV!r} meV",
        f"known probe parameters: Dynes broadening {DYNES_MEV * 1e3:g} ueV, probe temperature {PROBE_TEMPERATURE_K * 1e3:g} mK",
        f"noise: Gaussian, sigma = {SIGMA!r} (in R_T dI/dV), numpy default_rng seed {SEED}; values rounded to 1e-{DECIMALS}",
    ]


def write(path=OUTPUT) -> Path:
    """Generate the curves and write them as CSV to ``path``; returns the path."""
    path = Path(path)
    write_csv(path, generate(), header())
    return path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = write(argv[0] if argv else OUTPUT)
    print(f"wrote {path}: SYNTHETIC R_T dI/dV, {len(BIASES_MV)} curves x {V_MV.size} points "
          f"(U = {', '.join(f'{u:g}' for u in BIASES_MV)} mV, V from {V_MV[0]:g} to {V_MV[-1]:g} mV)")
    print(f"true values: electron_electron.kappa = {TRUE_KAPPA:g} {KAPPA_UNIT}, probe.gap = {TRUE_GAP_MEV:g} meV; "
          f"noise sigma = {SIGMA:g}, seed {SEED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
