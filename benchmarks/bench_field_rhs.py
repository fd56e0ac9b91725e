"""The full collision right-hand side in a Zeeman field against the zero-field one, in one run.

    python benchmarks/bench_field_rhs.py [--rounds N] [--n-x 128] [--n-energy 2048] [--stages]

The systems are those of ``hotelectron bench`` (``hotelectron/bench/collisions.py``): S = 5/2 with
couplings from v_min = step/2 to half the grid width, e-e a = 3/2, a double-step distribution at
T = 0.05 eU, populations in stationary balance with it. Timed in interleaved rounds (one call of
each per round), medians of wall time and of CPU time (all threads) reported, with the load average:

- ``zero field``: ``Collisions(grid, (pairs, ee), "fft").rhs(f, P)``, the chain of 2S + 1
  multiplets per coupling (the denominator of the target);
- ``field``: ``Collisions(grid, (field_pairs, free_spins, ee), "fft").rhs(f, P)``, the pairs resolved
  into their (2S + 1)^2 states (J, M) at Delta_Z = 4 steps, free spins of the same S and field, e-e;
- the same two with ``dPdt``: dP/dt written into an array kept from call to call instead of a fresh
  one (a fresh 75 MB array costs its page faults; the zero-field one, 12.5 MB, is reused by malloc).

``--stages`` adds the population passes on their own (the kernel and dP/dt of each species into
given arrays, as the right-hand side calls them) and the cost of a fresh output array of the size of
the field populations (allocated and written once).

``--steady`` adds the steady state of the shipped Ag:Mn scenario (``scenarios/agmn_spin52.toml``,
S = 5/2, 1 ppm, 50 mK, 0.2 mV) on a 17 x 805 grid in a field of 1 T (g = 2: Delta_Z = 0.58 eU, a
whole number of energy steps) with its pairs resolved into (J, M), the free spins beside them and
e-e, against the same wire at zero field (pairs as multiplets, free spins, e-e): median of three
solves each, after one that compiles.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from hotelectron.bench.collisions import (interleaved_rounds, make_field_impurities, make_field_pairs, make_grid,
                                          make_mechanisms, make_state)
from hotelectron.io.scenario.loader import parse_scenario
from hotelectron.kinetics import ElectronElectron, FieldPairScattering, FreeSpinScattering, PairScattering
from hotelectron.kinetics.collisions import Collisions
from hotelectron.wire import WireProblem, steady_state

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "agmn_spin52.toml"
BOHR_MAGNETON_MEV_PER_T = 5.7883818060e-2


def steady_in_a_field(field_T: float = 1.0, g: float = 2.0) -> None:
    """The field-resolved steady state of the shipped Ag:Mn scenario against the same wire at zero field."""
    text = SCENARIO.read_text().replace("n_x = 33", "n_x = 17").replace("n_energy = 1201", "n_energy = 805")
    scenario = parse_scenario(text)
    problem = scenario.problem
    pairs = next(m for m in problem.mechanisms if isinstance(m, PairScattering))
    ee = next(m for m in problem.mechanisms if isinstance(m, ElectronElectron))
    t_sg = scenario.derived["T_sg_E0"]
    step = problem.energy.step
    zeeman_steps = round(g * BOHR_MAGNETON_MEV_PER_T * field_T / scenario.derived["energy_unit_meV"] / step)
    field = FieldPairScattering(pairs.S, pairs.rate, pairs.relaxation, pairs.couplings, zeeman_steps)
    cases = {
        "zero field: pairs (J) + free spins + e-e": (pairs, FreeSpinScattering.beside(pairs, t_sg), ee),
        f"{field_T:g} T: pairs (J, M) + free spins + e-e": (field, FreeSpinScattering.beside(field, t_sg), ee),
    }
    print(f"steady state of {SCENARIO.name} at n_x = {problem.wire.n}, n_energy = {problem.energy.n}, "
          f"Delta_Z = {zeeman_steps} steps = {zeeman_steps * step:.3f} eU; load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for name, mechanisms in cases.items():
        wire = WireProblem(problem.energy, problem.wire, problem.mu_left, problem.mu_right, problem.temperature_left,
                           problem.temperature_right, mechanisms)
        steady_state(wire)  # compiles
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            solution = steady_state(wire)
            times.append(time.perf_counter() - t0)
        print(f"  {name:45s} median {statistics.median(times):6.2f} s   ({solution.iterations} Newton iterations, "
              f"residual {solution.residual:.1e})")


def stage_calls(grid, chain, impurities, f, P_chain, P_field):
    """The population passes of both right-hand sides on their own, into arrays made once."""
    G = Collisions(grid, (), "fft").electron_hole(f)
    K = np.zeros((f.shape[0], 2 * grid.n + 1))
    dP_chain, dP_field = np.empty_like(P_chain), np.empty_like(P_field)
    pairs, spins = impurities.species
    P_pairs, P_spins = impurities.split(P_field)
    dP_pairs, dP_spins = impurities.split(dP_field)
    return {
        "zero-field pair pass": lambda: chain.add_kernel_and_rates(grid, P_chain, G, K, dP_chain),
        "field pair pass": lambda: pairs.add_kernel_and_rates(grid, P_pairs, G, K, dP_pairs),
        "field pair pass, kernel only": lambda: pairs.add_kernel(grid, P_pairs, G, K),
        "free-spin pass": lambda: spins.add_kernel_and_rates(grid, P_spins, G, K, dP_spins),
        "fresh array of P's size, written": lambda: np.empty_like(P_field).fill(0.0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--n-x", type=int, default=128)
    parser.add_argument("--n-energy", type=int, default=2048)
    parser.add_argument("--zeeman-steps", type=int, default=4)
    parser.add_argument("--stages", action="store_true", help="time the population passes on their own too")
    parser.add_argument("--steady", action="store_true", help="time the steady state of the Ag:Mn scenario in a field")
    args = parser.parse_args()

    grid = make_grid(args.n_energy, 4.0)
    mech = make_mechanisms(grid, 2.5, 1.5)
    impurities = make_field_impurities(make_field_pairs(mech["pairs"], args.zeeman_steps))
    f, P_chain = make_state(grid, args.n_x, 0.05, mech["pairs"])
    f_field, P_field = make_state(grid, args.n_x, 0.05, impurities)
    zero_field = Collisions(grid, (mech["pairs"], mech["ee"]), "fft")
    field = Collisions(grid, (*impurities.species, mech["ee"]), "fft")

    kept_chain, kept_field = np.empty_like(P_chain), np.empty_like(P_field)
    calls = {
        "zero field": lambda: zero_field.rhs(f, P_chain),
        "field": lambda: field.rhs(f_field, P_field),
        "zero field, dP/dt kept": lambda: zero_field.rhs(f, P_chain, out=(None, kept_chain)),
        "field, dP/dt kept": lambda: field.rhs(f_field, P_field, out=(None, kept_field)),
    }
    if args.stages:
        calls.update(stage_calls(grid, mech["pairs"], impurities, f, P_chain, P_field))
    times, cpu, load_before, load_after = interleaved_rounds(calls, args.rounds)

    wall = {name: statistics.median(t) for name, t in times.items()}
    work = {name: statistics.median(t) for name, t in cpu.items()}
    n_x, n = f.shape
    print(f"n_x = {n_x}, n_energy = {n}, {mech['pairs'].couplings.size} couplings, S = 5/2, Delta_Z = "
          f"{args.zeeman_steps} steps, {P_field.shape[1]} field populations per position; {args.rounds} interleaved "
          f"rounds; load average (1, 5, 15 min) before {', '.join(f'{v:.2f}' for v in load_before)}, after "
          f"{', '.join(f'{v:.2f}' for v in load_after)}")
    for name, t in times.items():
        print(f"  {name:34s} median {wall[name] * 1e3:8.2f} ms   min {min(t) * 1e3:8.2f} ms   "
              f"cpu time median {work[name] * 1e3:8.2f} ms")
    for suffix in ("", ", dP/dt kept"):
        field_name, zero_name = "field" + suffix, "zero field" + suffix
        print(f"{field_name} / {zero_name}: wall {wall[field_name] / wall[zero_name]:.2f}, "
              f"cpu time {work[field_name] / work[zero_name]:.2f} (target <= 3)")
    if args.steady:
        steady_in_a_field()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
