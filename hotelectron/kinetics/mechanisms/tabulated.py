"""A collision kernel given by a table: K(E) at node energies, interpolated (the kernel inference).

The kernel K(E) > 0 is known at node energies ``0 < E_0 < ... < E_{J-1}`` through its logarithms
``theta_j = ln K(E_j)`` (positive by construction, whatever the theta), interpolated linearly in ln K
against ln |E| (a power law between neighbouring nodes), continued below E_0 and above E_{J-1} by the
power laws of the end segments, and symmetric, ``K(-E) = K(E)``. Who takes the energy E that an
electron loses decides the collision integral (``bath_temperature``):

* the other electrons (``bath_temperature = None``, the default): the electron-electron integral of
  SPEC section 4 with the table in place of ``kappa |E|^-a``,

      I(eps) = int dE K(E) { f(eps)[1 - f(eps - E)] G(E) - [1 - f(eps)] f(eps - E) G(-E) },

  G = G[f] the local electron-hole function. It conserves the particles and the energy of the
  electrons, and every Fermi function (any T, any potential) is an exact fixed point: G of a Fermi
  function at T obeys ``G(-E) = exp(-E/T) G(E)`` and K is symmetric.
* a bath held in equilibrium at ``T_b = bath_temperature``: the same with G replaced by the
  electron-hole function of a Fermi gas at T_b, ``G_b(E) = E / (1 - exp(-E/T_b)) = E (1 + n_B(E))``,
  i.e. bosonic excitations of spectral density ``K(|E|) E`` with Bose occupations at T_b. It conserves
  the particles; the energy goes to the bath; the Fermi function at T_b (any potential) is an exact
  fixed point. This is what a kernel that carries the spectrum of another system is when that system
  stays at the bath temperature: impurity pairs at Gibbs populations (VGL 71-72), the spin glass of VGL
  (74), phonons (``K = kappa_ph |E|^(p-1)`` gives :class:`ElectronPhonon`).

Detailed balance is built in either way. A physical kernel such as the S = 1/2 pair kernel chi(E) of
VGL (72) is not symmetric: ``chi(-E) = exp(-E/T) chi(E)``, because pairs at T give energy less readily
than they take it. It is the out-kernel ``K(E) G_b(E)`` of the symmetric ``K = chi / G_b`` with the
bath at T, which is how the table represents it. The table does not represent pairs whose populations
follow hot electrons (stationary pairs out of equilibrium): their kernel depends on f.

Units are dimensionless: energies in E0, K in ``1/(t0 E0^2)`` (a physical K in ``1/(time energy^2)``
times ``t0 E0^2``).

Quadrature (as :class:`ElectronElectron`): the out-kernel is ``K[m] = w_m G(m d)``, ``w_m`` the exact
integral of the interpolant over the cell ``[(|m| - 1/2) d, (|m| + 1/2) d]`` (a sum of power-law
integrals, the cells split at the nodes), plus the centre correction
(:func:`~hotelectron.kinetics.mechanisms.electron_electron.central_correction`) of the innermost power
law, exponent ``a_0 = -(theta_1 - theta_0)/ln(E_1/E_0)``, on the cells ``m = +-1``. A table that samples
``kappa |E|^-a`` (any nodes) gives the kernel of ``ElectronElectron(kappa, a)`` to round-off; for any
other kernel the interpolation error ``|ln K_table - ln K| <= h^2/8 max |d^2 ln K / d(ln E)^2|`` is second
order in the node spacing h in ln E. As with ElectronElectron, the centre correction is made only for
``1.25 <= a_0 < 3``: a fit whose innermost slope crosses 1.25 sees the cell m = 1 jump.

Derivatives by the node values, for the kernel inference (:mod:`hotelectron.experiment.kernel`):
``cell_weight_derivatives`` and ``add_kernel_derivative``, exact (the centre correction's exponent
derivative by a central difference, relative error ~1e-9 of that one term).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..grids import EnergyGrid
from .base import Mechanism
from .electron_electron import _add_weighted, central_correction
from .phonons import _emission_factor

__all__ = ["TabulatedKernel"]

#: the bath's absorption beyond the grid width is summed up to this many T_b further (e^-40 ~ 4e-18)
BATH_TAIL_KT = 40.0


@dataclass(frozen=True)
class TabulatedKernel(Mechanism):
    """Kernel ``K(E)`` from ``ln K`` at the node energies; the partner the electrons or a bath at T_b.

    Parameters
    ----------
    energies : tuple of float
        Node energies E_j in E0, positive and strictly increasing, at least two.
    log_values : tuple of float
        ``ln K(E_j)`` with K in ``1/(t0 E0^2)``, finite.
    bath_temperature : float or None
        None: the partner is the electrons (an electron-electron kernel); else the temperature T_b of
        the bath (E0, >= 0) that takes and gives the energy.
    cutoff : float
        No transfer below this energy (E0): ``K = 0`` for ``|E| < cutoff``, as for impurity pairs below
        the coupling cutoff V_min, which exchange no energy. 0 (the default): the innermost power law
        continues to E = 0, with the centre correction.
    """

    energies: tuple
    log_values: tuple
    bath_temperature: float | None = None
    cutoff: float = 0.0
    name: ClassVar[str] = "tabulated"

    def __post_init__(self):
        energies = tuple(float(e) for e in np.atleast_1d(np.asarray(self.energies, dtype=float)))
        values = tuple(float(v) for v in np.atleast_1d(np.asarray(self.log_values, dtype=float)))
        if len(energies) < 2 or not all(math.isfinite(e) and e > 0 for e in energies) or any(
                b <= a for a, b in zip(energies, energies[1:])):
            msg = f"tabulated kernel: node energies must be at least two positive, strictly increasing numbers; got {self.energies!r}"
            raise ValueError(msg)
        if len(values) != len(energies) or not all(math.isfinite(v) for v in values):
            msg = (f"tabulated kernel: log_values must be {len(energies)} finite numbers (ln K at each node); "
                   f"got {self.log_values!r}")
            raise ValueError(msg)
        T = self.bath_temperature
        if T is not None and not (isinstance(T, int | float) and math.isfinite(T) and T >= 0):
            msg = f"tabulated kernel: bath_temperature must be None (partner: the electrons) or finite and >= 0; got {T!r}"
            raise ValueError(msg)
        if not (isinstance(self.cutoff, int | float) and math.isfinite(self.cutoff) and self.cutoff >= 0):
            msg = f"tabulated kernel: cutoff must be finite and >= 0 (E0); got {self.cutoff!r}"
            raise ValueError(msg)
        object.__setattr__(self, "cutoff", float(self.cutoff))
        object.__setattr__(self, "energies", energies)
        object.__setattr__(self, "log_values", values)
        object.__setattr__(self, "bath_temperature", None if T is None else float(T))

    @property
    def conserves_energy(self) -> bool:
        """An electron-electron kernel keeps the electrons' energy; a bath takes and gives it."""
        return self.bath_temperature is None

    @property
    def size(self) -> int:
        return len(self.energies)

    # -- the interpolant ---------------------------------------------------------------------------
    def log_weights(self, E) -> np.ndarray:
        """``Phi[..., j]`` with ``ln K(E) = sum_j Phi[..., j] theta_j`` (hat functions in ln |E|, the end
        ones continued linearly); E non-zero."""
        return log_interpolation(self.energies, E)

    def values(self, E) -> np.ndarray:
        """``K(E)`` at any non-zero energies (E0; symmetric in E)."""
        return np.exp(self.log_weights(E) @ np.asarray(self.log_values))

    # -- quadrature --------------------------------------------------------------------------------
    def _reach(self, grid: EnergyGrid) -> int:
        """Cells m = 1..reach needed: the grid width, plus the bath's absorption tail beyond it."""
        extra = 0 if not self.bath_temperature else int(math.ceil(BATH_TAIL_KT * self.bath_temperature / grid.step)) + 1
        return grid.n - 1 + extra

    def cell_weights(self, grid: EnergyGrid) -> np.ndarray:
        """``w_m`` for ``m = 1 .. n - 1`` (plus the bath tail): the cell integrals with the centre
        correction in ``w_1`` (read-only)."""
        return _weights(self._reach(grid), grid.step, self.energies, self.log_values, self.cutoff, False)[0]

    def cell_weight_derivatives(self, grid: EnergyGrid) -> np.ndarray:
        """``dw_m / dtheta_j`` for the cells of ``cell_weights``, shape (cells, J) (read-only)."""
        return _weights(self._reach(grid), grid.step, self.energies, self.log_values, self.cutoff, True)[1]

    def partner_row(self, grid: EnergyGrid) -> np.ndarray:
        """The bath's electron-hole function ``G_b(m d)`` for ``m = -reach .. reach`` (bath only)."""
        return _bath_row(self._reach(grid), grid.step, self.bath_temperature)

    def _add(self, grid: EnergyGrid, G, w, K) -> None:
        """Add the kernel of the (one-sided) cell weights ``w`` (m = 1..reach) into ``K``."""
        n = grid.n
        row = _row(w, n)
        if self.bath_temperature is None:
            _add_weighted(K, row, G, 1.0)  # K[:, 1:-1] += row * G without temporaries
            return
        reach = w.size
        G_b = self.partner_row(grid)
        K[:, 1:-1] += row * G_b[reach - (n - 1): reach + n]
        # cell -n lumps every absorption of n steps or more; emissions that long never change the grid
        K[:, 0] += float(np.sum(w[n - 1:] * G_b[: reach - n + 1][::-1]))

    def electron_hole_weights(self, grid: EnergyGrid):
        """The row of cell weights when the partner is the electrons (the kernel is then these weights
        times G, ``Mechanism.electron_hole_weights``); None for a bath."""
        if self.bath_temperature is not None:
            return None
        return _row(self.cell_weights(grid), grid.n)

    def add_kernel(self, grid: EnergyGrid, P, G, K) -> None:
        """Add ``w_m G(m d)`` (G of the electrons, or of the bath) into the compact kernel ``K``."""
        self._add(grid, G, self.cell_weights(grid), K)

    def add_kernel_change(self, grid: EnergyGrid, P, G, dP, dG, K) -> None:
        """Add the kernel's change for a change ``dG`` of the electron-hole function: ``w_m dG`` for the
        electron partner, nothing for a bath."""
        if self.bath_temperature is None:
            self._add(grid, dG, self.cell_weights(grid), K)

    def add_kernel_derivative(self, grid: EnergyGrid, G, direction, K) -> None:
        """Add the kernel's change (at fixed electrons) for a change ``direction`` of the node values
        theta (a vector over the nodes: a unit vector gives ``dK / dtheta_j``) into ``K``."""
        self._add(grid, G, self.cell_weight_derivatives(grid) @ np.asarray(direction, dtype=float), K)


def _row(w, n) -> np.ndarray:
    """The one-sided cell weights ``w`` (m = 1, 2, ...) as a row over m = -(n - 1) .. n - 1."""
    return np.concatenate([w[: n - 1][::-1], [0.0], w[: n - 1]])


def log_interpolation(energies, E) -> np.ndarray:
    """Weights ``Phi[..., j]`` of linear interpolation in ln |E| on the nodes ``ln energies``, the end
    segments continued (so the kernel is a power law below the first and above the last node)."""
    xi = np.log(np.asarray(energies, dtype=float))
    u = np.log(np.abs(np.asarray(E, dtype=float)))
    seg = np.clip(np.searchsorted(xi, u, side="right") - 1, 0, xi.size - 2)
    t = (u - xi[seg]) / (xi[seg + 1] - xi[seg])
    Phi = np.zeros(u.shape + (xi.size,))
    np.put_along_axis(Phi, seg[..., None], (1.0 - t)[..., None], axis=-1)
    np.put_along_axis(Phi, seg[..., None] + 1, t[..., None], axis=-1)
    return Phi


def _phi1(z):
    """``int_0^1 exp(z t) dt = (e^z - 1)/z``."""
    out = np.ones_like(z)
    nz = z != 0
    out[nz] = np.expm1(z[nz]) / z[nz]
    return out


def _phi2(z):
    """``int_0^1 t exp(z t) dt = (e^z (z - 1) + 1)/z^2``; its series below |z| = 1 (no cancellation)."""
    out = np.empty_like(z)
    small = np.abs(z) < 1.0
    zs = z[small]
    power = np.ones_like(zs)
    total = 0.5 * power
    for k in range(1, 25):  # sum_k z^k / (k! (k + 2)); the last term < 1/25! ~ 6e-26
        power = power * zs / k
        total += power / (k + 2)
    out[small] = total
    zl = z[~small]
    out[~small] = (np.exp(zl) * (zl - 1.0) + 1.0) / zl**2
    return out


def cell_integrals(edges, energies, log_values, derivatives: bool = False):
    """``(w, dw)``: integrals of the interpolant over ``[edges[k], edges[k+1]]`` and (with
    ``derivatives``) their derivatives by the node values, shape (cells, J); else ``dw`` is None.

    Each cell is split at the nodes inside it; on a piece ``[a, b]`` of the segment with log-slope s,
    ``K(E) = K(a) (E/a)^s``, so with ``u = ln(E/a)``, ``L = ln(b/a)``, ``z = (s + 1) L``:
    ``int K dE = K(a) a L phi1(z)`` and ``int u K dE = K(a) a L^2 phi2(z)``; ln K is linear in theta
    with coefficients ``(1 - t(E), t(E))`` on the segment's two nodes, ``t = t(a) + u/h``.
    """
    edges = np.asarray(edges, dtype=float)
    nodes = np.asarray(energies, dtype=float)
    theta = np.asarray(log_values, dtype=float)
    xi = np.log(nodes)
    h = np.diff(xi)
    slope = np.diff(theta) / h
    points = np.union1d(edges, nodes[(nodes > edges[0]) & (nodes < edges[-1])])  # sorted, no repeats
    a, b = points[:-1], points[1:]
    mid = 0.5 * (a + b)
    cell = np.searchsorted(edges, mid) - 1
    seg = np.clip(np.searchsorted(xi, np.log(mid), side="right") - 1, 0, xi.size - 2)
    la = np.log(a)
    t = (la - xi[seg]) / h[seg]
    L = np.log(b / a)
    z = (slope[seg] + 1.0) * L
    base = np.exp(theta[seg] + slope[seg] * (la - xi[seg]) + la) * L  # K(a) a L
    I0 = base * _phi1(z)
    n_cells = edges.size - 1
    w = np.bincount(cell, I0, minlength=n_cells)
    if not np.all(np.isfinite(w)):
        msg = f"tabulated kernel: cell integrals are not finite (ln K = {theta.tolist()} at E = {nodes.tolist()} E0)"
        raise FloatingPointError(msg)
    if not derivatives:
        return w, None
    I1 = base * L * _phi2(z)
    J = nodes.size
    dw = np.bincount(cell * J + seg, (1.0 - t) * I0 - I1 / h[seg], minlength=n_cells * J)
    dw += np.bincount(cell * J + seg + 1, t * I0 + I1 / h[seg], minlength=n_cells * J)
    return w, dw.reshape(n_cells, J)


def _centre_correction(step, energies, log_values):
    """``(c, dc)``: the centre correction ``c(a_0) K(d) d`` for w_1 (ElectronElectron's rule with the
    innermost exponent a_0) and its derivatives by the node values (zero but for the first two)."""
    xi = np.log(np.asarray(energies[:2], dtype=float))
    theta = np.asarray(log_values[:2], dtype=float)
    h = xi[1] - xi[0]
    a0 = -(theta[1] - theta[0]) / h
    t = (math.log(step) - xi[0]) / h
    scale = math.exp((1 - t) * theta[0] + t * theta[1]) * step  # K(d) d, the innermost power law at E = d
    c = central_correction(a0)
    dc = np.zeros(len(energies))
    if c != 0.0:
        da = 1e-4  # c(a) carries round-off ~1e-12 (a sum of 2000 terms): a step 1e-4 gives its slope to ~1e-8
        lo, hi = max(a0 - da, 1.25), min(a0 + da, 3 - 1e-9)
        slope_c = (central_correction(hi) - central_correction(lo)) / (hi - lo)
        # d a0 / d theta_0 = 1/h, d a0 / d theta_1 = -1/h
        dc[0] = c * scale * (1 - t) + slope_c * scale / h
        dc[1] = c * scale * t - slope_c * scale / h
    return c * scale, dc


@functools.lru_cache(maxsize=32)
def _weights(reach: int, step: float, energies: tuple, log_values: tuple, cutoff: float, derivatives: bool):
    # a cutoff clips the cells (a sharp cutoff, as the coupling grid's); the kernel then vanishes near 0
    edges = np.maximum((np.arange(1, reach + 2) - 0.5) * step, cutoff)
    w, dw = cell_integrals(edges, energies, log_values, derivatives)
    if cutoff == 0:
        c, dc = _centre_correction(step, energies, log_values)
        w[0] += c
        if dw is not None:
            dw[0] += dc
    w.setflags(write=False)
    if dw is not None:
        dw.setflags(write=False)
    return w, dw


@functools.lru_cache(maxsize=16)
def _bath_row(reach: int, step: float, T: float) -> np.ndarray:
    """``G_b(m d) = |E| (1 + n_B(E))`` continued to E < 0 (``|E| n_B(|E|)``), m = -reach..reach."""
    E = np.arange(-reach, reach + 1) * step
    row = np.abs(E) * _emission_factor(E, T)
    row[reach] = T  # the limit E -> 0 (its cell weight is 0)
    row.setflags(write=False)
    return row
