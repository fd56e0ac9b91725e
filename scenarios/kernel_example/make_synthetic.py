"""Make the SYNTHETIC "measured" conductances of the shipped kernel example (README, "The kernel itself").

    python scenarios/kernel_example/make_synthetic.py [OUT.csv]

The truth is the wire of ``wire.toml`` with S = 1/2 impurity pairs (IMPURITIES below) held at Gibbs
populations at the bath temperature: the electrons' out-kernel is then chi(E)/(tau_s T_sg) of VGL (72)
for |E| above the coupling cutoff V_min, a bath kernel. At four wire biases U the steady state's f(x =
L/2, E) gives R_T dI/dV of a BCS-Dynes probe (PROBE) at POINTS probe biases over +-(Delta + 1.2 eU);
Gaussian noise of standard deviation SIGMA is added with a fixed seed and the values are rounded to
1e-6 (the file is then the same on any machine). The curves are written with
:func:`hotelectron.experiment.data.write_csv` to ``synthetic_conductance.csv`` next to this script (or
OUT.csv), with a header saying they are synthetic and giving the truth. ``fit.toml`` infers the kernel
back; :func:`true_kernel` is what it should find.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from hotelectron import spin
from hotelectron.experiment.data import MeasuredCurve, write_csv
from hotelectron.experiment.probe import ProbeParameters, probe_conductance
from hotelectron.io.scenario import parse_scenario
from hotelectron.units import kelvin_to_meV
from hotelectron.wire.steady import steady_state

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "wire.toml"
OUTPUT = HERE / "synthetic_conductance.csv"

#: the true pairs: S = 1/2, T_sg, 1/tau_s and the coupling cutoff V_min
T_SG_MEV = 4.25e-4
SPIN_FLIP_RATE_PER_S = 7.5e11
V_MIN_MEV = 4.25e-3
IMPURITIES = f"""
[impurities]
spin = 0.5
concentration = "300 ppm"
spin_glass_temperature = "{T_SG_MEV!r} meV"
spin_flip_rate = "{SPIN_FLIP_RATE_PER_S!r} 1/s"
coupling_cutoff = "{V_MIN_MEV!r} meV"
"""
TEMPERATURE_K = 0.1  # the bath temperature of wire.toml
#: the probe (known: fit.toml holds it fixed)
PROBE = ProbeParameters(gap_meV=0.17, dynes_meV=2e-3, temperature_K=0.05)
#: what is "measured"
BIASES_MV = (0.05, 0.1, 0.2, 0.4)
POINTS = 241
SPAN = 1.2  # probe biases over +-(Delta + SPAN eU)
SIGMA = 0.005
SEED = 20261207
DECIMALS = 6


def true_kernel(energy_meV) -> np.ndarray:
    """The table's truth, K = chi(E) / (tau_s T_sg G_T(E)) in 1/(ns meV^2), G_T(E) = E/(1 - exp(-E/T)):
    the bath kernel whose loss kernel K G_T is the pairs' chi(E)/(tau_s T_sg) (zero below V_MIN_MEV)."""
    E = np.asarray(energy_meV, dtype=float)
    T = kelvin_to_meV(TEMPERATURE_K)
    tau_s_ns = 1e9 / SPIN_FLIP_RATE_PER_S
    return spin.chi(E, 0.5, T, T_SG_MEV) / (tau_s_ns * T_SG_MEV) * -np.expm1(-E / T) / E


def generate() -> list[MeasuredCurve]:
    """The synthetic curves: R_T dI/dV from f(L/2, E) of the true wire with Gibbs pairs, plus noise, rounded."""
    text = SCENARIO.read_text(encoding="utf-8") + IMPURITIES
    rng = np.random.default_rng(SEED)
    curves = []
    for u in BIASES_MV:
        scenario = parse_scenario(text.replace('bias = "0.2 mV"', f'bias = "{u!r} mV"'))
        problem = scenario.problem
        gibbs = problem.pairs.gibbs(problem.wire.n - 2, problem.temperature_left)
        f = steady_state(problem, f_tol=1e-12, fixed_pairs=gibbs).f[problem.wire.n // 2]
        reach = PROBE.gap_meV + SPAN * u
        V = np.round(np.linspace(-reach, reach, POINTS), 12)
        y = probe_conductance(problem.energy.values * scenario.derived["energy_unit_meV"], f, V, PROBE)
        curves.append(MeasuredCurve(u, None, None, "conductance", V,
                                    np.round(y + SIGMA * rng.standard_normal(POINTS), DECIMALS)))
    return curves


def header() -> list[str]:
    return [
        "SYNTHETIC DATA, NOT A MEASUREMENT: made by scenarios/kernel_example/make_synthetic.py",
        f"model: scenario wire.toml with S = 1/2 pairs at Gibbs populations (T_sg = {T_SG_MEV!r} meV, "
        f"1/tau_s = {SPIN_FLIP_RATE_PER_S!r} 1/s, V_min = {V_MIN_MEV!r} meV), R_T dI/dV at x = L/2 of the steady state, "
        f"U = {', '.join(f'{u:g}' for u in BIASES_MV)} mV",
        f"known probe: gap {PROBE.gap_meV!r} meV, Dynes broadening {PROBE.dynes_meV * 1e3:g} ueV, "
        f"probe temperature {PROBE.temperature_K * 1e3:g} mK",
        "true kernel: chi(E)/(tau_s T_sg) of VGL (72) for |E| > V_min, i.e. a bath table K = chi/(tau_s T_sg G_T)",
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
    print(f"wrote {path}: SYNTHETIC R_T dI/dV, {len(BIASES_MV)} curves x {POINTS} points "
          f"(U = {', '.join(f'{u:g}' for u in BIASES_MV)} mV, V over +-(Delta + {SPAN:g} eU))")
    print(f"truth: S = 1/2 pairs at Gibbs populations, T_sg = {T_SG_MEV:g} meV, 1/tau_s = {SPIN_FLIP_RATE_PER_S:g} 1/s, "
          f"V_min = {V_MIN_MEV:g} meV; noise sigma = {SIGMA:g}, seed {SEED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
