"""Differential conductance of a superconducting tunnel probe on the wire (SPEC section 10).

Conventions. Energies E of the wire's distribution f(E) are measured from the wire's local Fermi
level; the probe's Fermi level sits at -eV relative to it, so the tunnel current is

    I(V) = (1 / e R_T) int dE n_S(E + eV) [f(E) - f_probe(E + eV)].

Differentiating in V, the probe term is a total derivative whose boundary values (n_S -> 1,
f_probe -> 1 at E -> -inf; f_probe -> 0 at +inf) give -1, so

    R_T dI/dV = 1 + int dE n_S'(E + eV) f(E) = int dE n_S(E + eV) (-df/dE),

independent of the probe's Fermi function: the probe temperature enters only through the BCS gap
Delta(T). For f a Fermi function at T this is the thermally broadened DOS; at T = 0, n_S(eV).

Numerics. f is taken piecewise linear between its grid points and extended by its reservoir limits
(1 below the grid, 0 above). Then -df/dE is piecewise constant (plus point masses where the grid
ends meet the limits) and each cell integral of n_S is exact through the antiderivative
A(E) = Re sqrt(z - Delta) sqrt(z + Delta), z = E + i Gamma_D (d/dz of that root is z / root). The
1/sqrt singularity of the DOS therefore costs no resolution: the only discretisation error is that
of interpolating f, second order in the energy step.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..io.scenario.zeeman import G_MAX
from ..units import BOLTZMANN_J_PER_K, ELECTRON_VOLT_J

BOLTZMANN_MEV_PER_K = BOLTZMANN_J_PER_K / ELECTRON_VOLT_J * 1e3
BOHR_MAGNETON_MEV_PER_T = 9.2740100783e-24 / ELECTRON_VOLT_J * 1e3  # CODATA 2018

# BCS weak coupling: Delta(0) = (pi / e^gamma) k_B T_c = 1.764 k_B T_c.
BCS_RATIO = math.pi / math.exp(0.5772156649015329)
#: f may change by at most this much between neighbouring energies for the probe's curve, which takes f
#: linear between them, to stay within about 2 % of its peak: a Fermi edge sampled every k_B T / 2
COARSE_F_CHANGE = 0.125
#: The spin shift g mu_B B/2 of a superconducting probe stays below this many gaps. The Clogston-Chandrasekhar
#: limit destroys a thin film's superconductivity at a shift of Delta/sqrt(2); a hundred gaps is far
#: beyond any probe that still has one, and only a typing error gets there.
ZEEMAN_GAPS_MAX = 100.0
#: The largest gap and Dynes broadening (meV) a probe takes: 1 eV, over ten times the largest superconducting
#: gap known. Far beyond it the cell integrals of the antiderivative cancel to garbage (a gap of 1e300 meV gave
#: R_T dI/dV = 1.9e146, a broadening of 1e300 ueV 1.2e-5 for 1); only a typing error gets there.
ENERGY_MAX_MEV = 1000.0


class ProbeParameterError(ValueError):
    """A probe parameter out of its range: ``field`` (the attribute of :class:`ProbeParameters`), its
    ``value`` and the ``reason``, for callers that name their own option (``--g``, ``[probe] g``)."""

    def __init__(self, field: str, value, reason: str):
        self.field, self.value, self.reason = field, value, reason
        super().__init__(f"probe {field} = {value!r}: {reason}")


@dataclass(frozen=True)
class ProbeParameters:
    """A BCS probe with Dynes broadening, possibly Zeeman split.

    Attributes
    ----------
    gap_meV : zero-temperature gap Delta(0) in meV (0 gives a normal probe).
    dynes_meV : Dynes broadening Gamma_D in meV (> 0 when gap_meV > 0).
    temperature_K : probe temperature in K, below T_c = Delta(0) / (1.764 k_B).
    field_T : magnetic field in T; spins split by g mu_B B.
    g : electron g factor.
    """

    gap_meV: float
    dynes_meV: float = 1e-3
    temperature_K: float = 0.0
    field_T: float = 0.0
    g: float = 2.0

    def __post_init__(self):
        for name in ("gap_meV", "dynes_meV", "temperature_K", "field_T", "g"):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise ProbeParameterError(name, value, "must be a finite number")
        for name in ("gap_meV", "dynes_meV", "temperature_K"):
            if getattr(self, name) < 0:
                raise ProbeParameterError(name, getattr(self, name), "must be >= 0")
        for name in ("gap_meV", "dynes_meV"):
            if getattr(self, name) > ENERGY_MAX_MEV:
                raise ProbeParameterError(name, getattr(self, name), f"must be at most {ENERGY_MAX_MEV:g} meV (1 eV, "
                                          "over ten times the largest superconducting gap known)")
        if not 0 < self.g <= G_MAX:
            raise ProbeParameterError("g", self.g, f"the g factor of the probe's electrons must lie in (0, {G_MAX:g}] "
                                      "(2 for a free electron)")
        if self.gap_meV > 0 and self.dynes_meV == 0:
            raise ProbeParameterError("dynes_meV", self.dynes_meV, "leaves the BCS DOS singular; give a broadening > 0")
        if self.gap_meV > 0 and self.temperature_K >= self.critical_temperature_K:
            raise ProbeParameterError("temperature_K", self.temperature_K, f"is not below the probe's T_c = "
                                      f"{self.critical_temperature_K:.4g} K (gap {self.gap_meV:g} meV)")
        if self.gap_meV > 0 and abs(self.zeeman_meV) > ZEEMAN_GAPS_MAX * self.gap_meV:
            raise ProbeParameterError("field_T", self.field_T, f"the spin shift g mu_B B/2 = {abs(self.zeeman_meV):.4g} "
                                      f"meV (g = {self.g:g}) exceeds {ZEEMAN_GAPS_MAX:g} times the gap "
                                      f"{self.gap_meV:g} meV: no superconductor survives such a field")

    @property
    def critical_temperature_K(self) -> float:
        return self.gap_meV / (BCS_RATIO * BOLTZMANN_MEV_PER_K)

    @property
    def gap_at_temperature_meV(self) -> float:
        """Delta(T) of the BCS gap equation (``bcs_gap_ratio``)."""
        if self.gap_meV == 0 or self.temperature_K == 0:
            return self.gap_meV
        return self.gap_meV * bcs_gap_ratio(BOLTZMANN_MEV_PER_K * self.temperature_K / self.gap_meV)

    @property
    def zeeman_meV(self) -> float:
        """Spin shift h = g mu_B B / 2: the two spin DOS sit at E +- h (splitting 2h = g mu_B B)."""
        return 0.5 * self.g * BOHR_MAGNETON_MEV_PER_T * self.field_T


def _antiderivative(energy, gap, dynes):
    """A(E) with dA/dE = Re[z / sqrt(z^2 - Delta^2)]; the product of roots is continuous for Im z > 0."""
    z = np.asarray(energy, dtype=float) + 1j * dynes
    return (np.sqrt(z - gap) * np.sqrt(z + gap)).real


def dos(energy, gap, dynes, zeeman=0.0):
    """Probe DOS n_S(E) per normal DOS (energies in any one unit): BCS-Dynes, spin-averaged."""
    energy = np.asarray(energy, dtype=float)
    if gap == 0:
        return np.ones_like(energy)
    out = np.zeros_like(energy)
    for shift in (zeeman, -zeeman):
        z = energy + shift + 1j * dynes
        out += 0.5 * np.abs((z / (np.sqrt(z - gap) * np.sqrt(z + gap))).real)
    return out


def conductance(energy, f, bias, gap, dynes, zeeman=0.0, chunk=4_000_000):
    """R_T dI/dV at the probe biases eV = ``bias`` for f on the grid ``energy``.

    All energies in one unit (the caller's choice: meV, or the file's E0 = eU). ``energy`` must be
    increasing; f beyond the grid is 1 below and 0 above.
    """
    energy = np.asarray(energy, dtype=float)
    f = np.asarray(f, dtype=float)
    bias = np.atleast_1d(np.asarray(bias, dtype=float))
    if energy.ndim != 1 or energy.shape != f.shape or energy.size < 2:
        msg = f"energy and f must be equal 1-d arrays of at least 2 points, got {energy.shape} and {f.shape}"
        raise ValueError(msg)
    if bias.ndim != 1:
        msg = f"bias must be a number or a 1-d array; got shape {bias.shape}"
        raise ValueError(msg)
    for name, values in (("energy", energy), ("f", f), ("bias", bias)):
        if not np.all(np.isfinite(values)):  # the curve would be NaN without a word
            msg = f"{name} holds non-finite values (NaN or inf)"
            raise ValueError(msg)
    for name, value in (("gap", gap), ("dynes", dynes)):  # a negative one gave the curve of its magnitude
        if not (math.isfinite(value) and value >= 0):
            msg = f"{name} must be a finite number >= 0; got {value!r}"
            raise ValueError(msg)
    if not math.isfinite(zeeman):
        msg = f"zeeman must be a finite number; got {zeeman!r}"
        raise ValueError(msg)
    if np.any(np.diff(energy) <= 0):
        msg = "the energy grid must be strictly increasing"
        raise ValueError(msg)
    if gap == 0:  # normal probe: int dE (-df/dE) = f(-inf) - f(+inf) = 1 for any f
        return np.ones_like(bias)
    # -df/dE on each cell, times the cell's width: the weight of the exact cell integral of n_S
    slope = (f[:-1] - f[1:]) / np.diff(energy)
    jumps = (1.0 - f[0], f[-1])  # point masses where f meets its reservoir limits
    out = np.empty_like(bias)
    step = max(1, chunk // energy.size)
    species = ((zeeman, 0.5), (-zeeman, 0.5)) if zeeman else ((0.0, 1.0),)  # no field: the two spins coincide
    for start in range(0, bias.size, step):
        ev = bias[start:start + step, None]
        total = np.zeros(ev.shape[0])
        for shift, weight in species:
            a = _antiderivative(energy[None, :] + ev + shift, gap, dynes)
            total += weight * (np.diff(a, axis=1) @ slope)
        total += jumps[0] * dos(energy[0] + ev[:, 0], gap, dynes, zeeman)
        total += jumps[1] * dos(energy[-1] + ev[:, 0], gap, dynes, zeeman)
        out[start:start + step] = total
    return out


@functools.lru_cache(maxsize=1024)
def bcs_gap_ratio(t: float) -> float:
    """Delta(T)/Delta(0) of weak-coupling BCS at ``t = k_B T / Delta(0)``: the root d of the gap equation

        ln(1/d) = 2 int_0^inf dx f(sqrt(x^2 + d^2) / t) / sqrt(x^2 + d^2),   f(y) = 1/(e^y + 1),

    and 0 from T_c on (``t >= e^gamma / pi``). The tanh interpolation it replaces was off by 1.3 % at
    T = 0.4 T_c and 1.9 % at 0.6 T_c."""
    from scipy import integrate, optimize

    if t <= 0:
        return 1.0
    if t >= 1.0 / BCS_RATIO:
        return 0.0

    def mismatch(d):
        def integrand(x):
            E = math.hypot(x, d)
            return 1.0 / (E * (math.exp(E / t) + 1.0)) if E / t < 700 else 0.0

        reach = d + 60 * t  # e^-60 of the integrand is left out
        integral = integrate.quad(integrand, 0.0, reach, points=[min(d, reach / 2)], epsabs=1e-14, epsrel=1e-12,
                                  limit=200)[0]
        return math.log(1.0 / d) - 2.0 * integral

    if mismatch(1.0) >= 0:  # T far below T_c: the thermal term is below the rounding of ln(1/d)
        return 1.0
    return optimize.brentq(mismatch, 1e-10, 1.0, xtol=1e-15, rtol=1e-13)


def coarse_f_message(f) -> str | None:
    """Why the probe's curve of ``f`` is inaccurate, when f changes by more than ``COARSE_F_CHANGE``
    between neighbouring energies (None otherwise)."""
    change = float(np.max(np.abs(np.diff(f)))) if np.size(f) > 1 else 0.0
    if change <= COARSE_F_CHANGE:
        return None
    return (f"f changes by up to {change:.2f} between neighbouring energies: the probe's curve, which takes f "
            f"linear between them, is then off by more than about 2 % of its peak (a Fermi edge needs a change of "
            f"at most {COARSE_F_CHANGE:g}, an energy step of k_B T/2); raise [grid] n_energy")


def probe_conductance(energy_meV, f, bias_mV, probe: ProbeParameters):
    """R_T dI/dV(V) in physical units: f on ``energy_meV``, probe biases ``bias_mV``."""
    return conductance(energy_meV, f, bias_mV, probe.gap_at_temperature_meV, probe.dynes_meV,
                       probe.zeeman_meV)
