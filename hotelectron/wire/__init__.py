"""The wire problem: a diffusive wire between two reservoirs, its time evolution, its steady state,
the observables experiments measure and the linear hot-electron problem of VGL (71).

Dimensionless: energies in E0, positions in L, times in tau_D = L^2/D.
"""

from .evolution import SCHEMES, BoxProblem, Evolution, Scheme, State, equilibrium_state, hot_bump, quench_state
from .hot_electrons import hot_electron_integral, hot_electron_kernel, solve_hot_electrons
from .observables import Observables, effective_temperature, link_currents, observables, record
from .problem import WireProblem, fermi, solve_tridiagonal
from .steady import SteadyState, steady_state

__all__ = [
    "SCHEMES",
    "BoxProblem",
    "Evolution",
    "Observables",
    "Scheme",
    "State",
    "SteadyState",
    "WireProblem",
    "effective_temperature",
    "equilibrium_state",
    "fermi",
    "hot_bump",
    "hot_electron_integral",
    "hot_electron_kernel",
    "link_currents",
    "observables",
    "quench_state",
    "record",
    "solve_hot_electrons",
    "solve_tridiagonal",
    "steady_state",
]
