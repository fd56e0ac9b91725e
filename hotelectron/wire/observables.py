"""What experiments measure, computed from a wire state (SPEC section 5).

Dimensionless units of a ``WireProblem``: energies in E0, currents in ``E0/(e R)``, energy currents and
powers in ``E0^2/(e^2 R)``, noise in ``E0/R``, electron and pair energies per unit volume in
``2 nu E0^2``, times in tau_D.

Currents are taken on the links between nodes, ``-(f_{j+1} - f_j)/dx``: the flux that the discrete
diffusion operator conserves, so that in a steady state the current is the same on every link up to
the electrons that leave the energy grid. The heat into each reservoir is the energy current on the
link next to it: exact in a steady state, off by O(dx) during transients.

Grid edges: ``edge_out_flux`` and ``edge_in_flux`` are the gross particle jumps out of the grid (to
empty states above it) and into it (from filled states below it), integrated over the wire;
``edge_energy_rate`` is the energy that the collisions lose across the edges,
``-(dW_e/dt + dW_p/dt) - heat_phonons`` from the collisions alone, since they conserve ``W_e + W_p``
except for what they give to the phonon bath. All three must be small.

Phonons: ``heat_phonons_profile`` is the power the electrons give to the phonon bath per unit length
(on the interior nodes, unit ``E0^2/(e^2 R L)``) and ``heat_phonons`` its sum over the wire with the
node weights of the discrete diffusion operator, so that in a steady state
``joule_power = heat_left + heat_right + heat_phonons + edge_energy_rate`` holds to the solver's
tolerance (the divergence of the link energy currents is the collision term node by node).

Integrals over x: the noise is a quadrature of the smooth profile ``int f(1 - f) d eps`` and uses
Simpson's rule (``WireGrid.simpson_weights``, fourth order); the trapezoid rule's error,
``(h^2/3)(2t - coth(1/2t))`` in the Fano factor of a collisionless wire (t = T/eU), would dominate it
at n_x = 41. ``w_e``, ``w_p`` and their rates keep the trapezoid (node) weights of the discrete diffusion
operator: those are the sums that the discrete equations conserve, so that the energy balance
closes to round-off. Currents and heats are link values, not integrals over x.

Relaxation: ``relaxation = int |f(L/2, eps) - f_0(L/2, eps)| d eps`` (in E0), the distance of the
middle of the wire from the collisionless double step ``f_0(L/2) = (f(0) + f(L))/2`` (the reservoirs'
Fermi functions at their own temperatures): zero without collisions, it measures how much they round
the double step, the number that the figures plot against bias, field or kernel strength.

Collisional energy rates: ``dw_e_dt`` and ``dw_p_dt`` are the collision terms' energy rates alone (what
the electrons gain from the impurities and the other electrons; pairs do not diffuse, so for them it
is the whole change). In a wire the electrons' total rate is ``d w_e/dt = dw_e_dt + joule_power -
heat_left - heat_right`` (the same number per unit volume in 2 nu E0^2/tau_D and in total in
E0^2/(e^2 R)), exactly for the discrete equations at any time: the diffusion term summed with the node
weights is the difference of the energy currents on the end links. So at a
steady state ``d w_e/dt = 0`` while ``dw_e_dt = -(dw_p_dt + heat_phonons + edge_energy_rate)`` need
not vanish. In a closed box the two rates coincide.

When the energy step does not resolve the temperature (T = 0 steps), noise, Fano factor and T_eff
carry errors of order d: a step node holds f = 1/2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kinetics.grids import EnergyGrid
from .problem import WireProblem

__all__ = ["Observables", "observables", "record", "relaxation"]


@dataclass(frozen=True)
class Observables:
    """Scalar and profile observables of one state (units in the module docstring)."""

    current_left: float
    current_middle: float
    current_right: float
    heat_left: float
    heat_right: float
    joule_power: float
    noise: float
    fano: float
    t_eff: np.ndarray
    t_eff_mid: float
    w_e: float
    w_p: float
    dw_e_dt: float
    dw_p_dt: float
    edge_out_flux: float
    edge_in_flux: float
    edge_energy_rate: float
    relaxation: float
    f_mid: np.ndarray
    heat_phonons: float = 0.0
    heat_phonons_profile: np.ndarray | None = None

    def scalars(self) -> dict:
        """The scalar observables by name (what trajectories record as time series)."""
        return {k: v for k, v in self.__dict__.items() if np.ndim(v) == 0}


def _middle(values):
    """Value at x = 1/2 of a node (odd count) or link (even count) profile."""
    n = len(values)
    return values[n // 2] if n % 2 else 0.5 * (values[n // 2 - 1] + values[n // 2])


def link_currents(problem: WireProblem, f) -> tuple[np.ndarray, np.ndarray]:
    """Charge and energy currents on every link: ``int (-df/dx) d eps`` and ``int eps (-df/dx) d eps``."""
    grid = problem.energy
    gradient = -np.diff(f, axis=0) / problem.wire.step
    return grid.step * gradient.sum(axis=1), grid.step * gradient @ grid.values


def effective_temperature(energy: EnergyGrid, f) -> np.ndarray:
    """``T_eff(x)`` from ``int (eps - mu)[f - theta(mu - eps)] d eps = pi^2 T_eff^2 / 6``.

    The local potential is ``mu = int [f - theta(-eps)] d eps``; then the excess energy is
    ``int eps [f - theta(-eps)] d eps - mu^2/2``. The integrand ``eps [f - theta(-eps)]`` has a kink
    at 0 (its slope jumps by 1), which costs the grid sum a known Euler-Maclaurin term: the sum
    exceeds the integral by ``-d^2/12`` when 0 is a grid point (trapezoid rule) and by ``+d^2/24``
    when it lies mid-cell (midpoint rule). Removing it makes T_eff of a Fermi function exact to
    O(d^4) once the grid resolves the temperature (exact to round-off from T ~ 1.6 d). A step sharper
    than the grid (T = 0 exactly) has no kink for the sum to miss, so there the term is too much:
    T_eff^2 comes out d^2/(2 pi^2) high (T_eff ~ 0.23 d instead of 0); the grid values alone cannot tell
    such a step from a barely resolved Fermi edge.
    """
    eps = energy.values
    d = energy.step
    sea = np.where(eps < 0, 1.0, np.where(eps > 0, 0.0, 0.5))
    mu = d * np.sum(f - sea, axis=-1)
    kink = d**2 / 12 if energy.n % 2 else -(d**2) / 24
    excess = d * np.sum(eps * (f - sea), axis=-1) + kink - 0.5 * mu**2
    return np.sqrt(6.0 * np.maximum(excess, 0.0)) / np.pi


def relaxation(energy: EnergyGrid, f_mid, f_left, f_right) -> float:
    """``int |f(L/2) - (f(0) + f(L))/2| d eps``: how far collisions have moved f(L/2) from the double step."""
    return float(energy.step * np.sum(np.abs(f_mid - 0.5 * (f_left + f_right))))


def observables(problem: WireProblem, f, P=None) -> Observables:
    """All observables of the state ``f[x, eps]`` (reservoirs included) and interior pairs ``P``.

    Without ``P`` the pairs are taken stationary for the given electrons.
    """
    f = np.asarray(f, dtype=float)
    expected = (problem.wire.n, problem.energy.n)
    if f.shape != expected:
        msg = f"f must have shape {expected} (all nodes, reservoirs included, by the energy grid); got {f.shape}"
        raise ValueError(msg)
    if not np.all(np.isfinite(f)):  # every observable would be NaN without a word
        msg = "f holds non-finite values (NaN or inf): no observables of such a state"
        raise ValueError(msg)
    if P is None and problem.pairs is not None:
        P = problem.collisions.stationary_pairs(f[1:-1])
    current, energy_current = link_currents(problem, f)
    x = problem.wire.values
    # heat into each reservoir: the energy current there, counted from its own potential
    heat_left = -(energy_current[0] - problem.mu_left * current[0])
    heat_right = energy_current[-1] - problem.mu_right * current[-1]
    occupancy = problem.energy.step * np.sum(f * (1 - f), axis=1)
    noise = 4.0 * float(problem.wire.simpson_weights @ occupancy)
    current_middle = _middle(current)
    collisions = problem.collisions
    interior = f[1:-1]
    w_e = np.trapezoid(collisions.electron_energy(f), x)
    heat_profile = np.zeros(interior.shape[0])
    if problem.mechanisms:
        heat_profile = collisions.bath_heat(interior, P)
        dwe, dwp = collisions.energy_rates(interior, P)
        out, into = collisions.edge_fluxes(interior, P)
        dw_e_dt, dw_p_dt, edge_out, edge_in = (
            problem.wire.step * float(np.sum(v)) for v in (dwe, dwp, out * problem.energy.step, into * problem.energy.step)
        )
    else:
        dw_e_dt = dw_p_dt = edge_out = edge_in = 0.0
    heat_phonons = problem.wire.step * float(np.sum(heat_profile))
    w_p = problem.wire.step * float(np.sum(collisions.pairs.energy(P))) if P is not None else 0.0
    t_eff = effective_temperature(problem.energy, f)
    f_mid = _middle(f)
    return Observables(
        current_left=float(current[0]),
        current_middle=float(current_middle),
        current_right=float(current[-1]),
        heat_left=float(heat_left),
        heat_right=float(heat_right),
        # the power the source delivers: electrons enter at mu_left and leave at mu_right (U I when the
        # current is the same at both ends, as it is unless electrons leave the energy grid)
        joule_power=float(problem.mu_left * current[0] - problem.mu_right * current[-1]),
        noise=float(noise),
        fano=float(noise / (2 * current_middle)) if current_middle != 0 else float("nan"),
        t_eff=t_eff,
        t_eff_mid=float(_middle(t_eff)),
        w_e=float(w_e),
        w_p=w_p,
        dw_e_dt=float(dw_e_dt),
        dw_p_dt=float(dw_p_dt),
        edge_out_flux=edge_out,
        edge_in_flux=edge_in,
        # collisions keep W_e + W_p except for jumps across the grid edges and the heat given to the
        # phonon bath: what else they lose is lost at the edges
        edge_energy_rate=-(dw_e_dt + dw_p_dt) - heat_phonons,
        relaxation=relaxation(problem.energy, f_mid, f[0], f[-1]),
        f_mid=f_mid,
        heat_phonons=heat_phonons,
        heat_phonons_profile=heat_profile,
    )


def record(problem: WireProblem, states) -> dict:
    """Observables along a trajectory of ``evolution.State`` objects, as arrays over time.

    Returns ``time`` (tau_D), every scalar of ``Observables`` by name, ``f_mid`` (n_t, n_energy) and
    ``t_eff`` (n_t, n_x).
    """
    series: dict = {"time": []}
    for state in states:
        obs = observables(problem, problem.with_reservoirs(state.f), state.P)
        series["time"].append(state.t)
        for name, value in obs.scalars().items():
            series.setdefault(name, []).append(value)
        series.setdefault("f_mid", []).append(obs.f_mid)
        series.setdefault("t_eff", []).append(obs.t_eff)
    return {name: np.asarray(values) for name, values in series.items()}
