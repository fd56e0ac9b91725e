"""The collision right-hand side: all mechanisms through one convolution, plus the pair kinetics.

``Collisions`` is what the wire solver, the closed-box integrator and the benchmarks call. States are
``f[x, i]`` on the energy grid and, when impurities with populations are present, ``P[x, ...]``:
``P[x, k, s]`` on the coupling grid for pairs alone (``s`` the multiplets J at zero field, the states
(J, M) in a field), ``P[x, M]`` for free spins alone, and ``P[x, n]`` with the species side by side
when there are several (``Impurities``). The solvers handle any of them alike: one population
mechanism, ``pairs``, and one array.
Units are dimensionless: energies in E0, times in t0 (see the mechanisms for the strengths).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from . import convolution
from .grids import EnergyGrid
from .mechanisms import Impurities, PopulationMechanism

__all__ = ["Collisions", "Linearisation"]


@dataclass(frozen=True)
class Linearisation:
    """A state at which Jacobian products are taken, with what the right-hand side computed there.

    ``stationary``: the pairs are not variables but take their stationary populations for the
    electrons (the f-only problem of the steady state), so their response enters every product.
    ``D`` and ``FK`` are None in a linearisation from ``linearise(products=False)`` until the first
    product (``Collisions.jvp``) makes them.
    """

    f: np.ndarray
    P: np.ndarray | None
    G: np.ndarray
    K: np.ndarray
    D: np.ndarray | None  # derivative of I_i by f_i at a fixed kernel
    FF: np.ndarray
    FK: np.ndarray | None
    stationary: bool


@dataclass(frozen=True)
class Collisions:
    """Collision integrals of a set of mechanisms on one energy grid.

    Parameters
    ----------
    grid : EnergyGrid
    mechanisms : sequence of mechanism objects (see ``hotelectron.kinetics.mechanisms``). Those with
        impurity populations (``PopulationMechanism``: ``PairScattering`` at zero field or
        ``FieldPairScattering``, ``FreeSpinScattering``) become ``pairs``: the one of them, or, for
        several, one ``Impurities`` holding them in the place of the first (so ``mechanisms`` holds it
        instead of them).
    path : {"fft", "direct"}
        How convolutions and the electron-hole function are evaluated.
    """

    grid: EnergyGrid
    mechanisms: tuple = ()
    path: str = "fft"
    pairs: PopulationMechanism | None = field(init=False, default=None)

    def __post_init__(self):
        object.__setattr__(self, "mechanisms", tuple(self.mechanisms))
        convolution._check_path(self.path)
        populations = [m for m in self.mechanisms if isinstance(m, PopulationMechanism)]
        if len(populations) > 1:  # several species evolve as one population array
            combined = Impurities(tuple(populations))
            mechanisms = [combined if m is populations[0] else m for m in self.mechanisms
                          if not any(m is other for other in populations[1:])]
            object.__setattr__(self, "mechanisms", tuple(mechanisms))
            populations = [combined]
        if populations:
            populations[0].check_grid(self.grid)
            object.__setattr__(self, "pairs", populations[0])

    # -- the states' shapes ------------------------------------------------------------------------
    def check_state(self, f, P=None, populations: bool = True) -> None:
        """Refuse ``f`` unless ``f[x, i]`` on this energy grid and, with ``populations`` and impurity
        populations present, ``P`` unless of their shape at those positions: the compiled passes index
        by the grid and the populations, so another shape would read and write beyond the arrays.
        A few comparisons per call: nothing next to the passes themselves."""
        shape = np.shape(f)
        if len(shape) != 2 or shape[1] != self.grid.n:
            msg = (f"f must have shape (n_x, {self.grid.n}): positions by the {self.grid.n} points of the "
                   f"energy grid; got shape {shape}")
            raise ValueError(msg)
        if populations and self.pairs is not None:
            expected = (shape[0],) + tuple(self.pairs.population_shape)
            if P is None or np.shape(P) != expected:
                got = None if P is None else np.shape(P)
                msg = (f"P must have shape {expected}: the impurity populations of "
                       f"{type(self.pairs).__name__} at the {shape[0]} positions of f; got {got}")
                raise ValueError(msg)

    # -- building blocks -------------------------------------------------------------------------
    def electron_hole(self, f) -> np.ndarray:
        """``G[x, n - 1 + m]`` for ``|m| <= n - 1`` (see ``convolution.electron_hole``)."""
        self.check_state(f, populations=False)
        return convolution.electron_hole(f, self.grid.step, self.path)

    def kernel(self, P, G, mechanisms=None, out=None) -> np.ndarray:
        """Sum of the out-kernels of ``mechanisms`` (default: all) in the compact form of width
        ``2n + 1`` (transfers beyond the grid width lumped into the end cells), into ``out`` if given."""
        mechanisms = self.mechanisms if mechanisms is None else tuple(mechanisms)
        n_x = (G if G is not None else P).shape[0]
        if out is None:
            K = np.zeros((n_x, 2 * self.grid.n + 1))
        else:
            K = out
            K[...] = 0.0
        for mechanism in mechanisms:
            mechanism.add_kernel(self.grid, P, G, K)
        return K

    def kernel_and_pair_rates(self, P, G, K=None, dP=None):
        """``(K, dP/dt)``: the compact kernel of all mechanisms (into ``K`` if given) and, with pairs,
        their rates (into ``dP`` if given), from one pass over the populations."""
        if K is None:
            K = np.zeros((G.shape[0], 2 * self.grid.n + 1))
        else:
            K[...] = 0.0
        return K, self._add_kernels(self.mechanisms, P, G, K, dP)

    def _add_kernels(self, mechanisms, P, G, K, dP=None):
        """Add the kernels of ``mechanisms`` into ``K`` and return dP/dt of the pairs (into ``dP`` if
        given; None without pairs)."""
        dP = self._check_rates(P, dP)
        for mechanism in mechanisms:
            if mechanism is self.pairs:
                mechanism.add_kernel_and_rates(self.grid, P, G, K, dP)
            else:
                mechanism.add_kernel(self.grid, P, G, K)
        return dP

    def _check_rates(self, P, dP):
        """The array for dP/dt: ``dP`` if given (refused unless a float array of P's shape, since the
        compiled passes would write beyond it), else a fresh one; None without pairs."""
        if dP is not None and (np.shape(dP) != np.shape(P) or np.asarray(dP).dtype != float):
            msg = f"dP must be a float array of the populations' shape {np.shape(P)}; got {np.shape(dP)}"
            raise ValueError(msg)
        return None if self.pairs is None else np.empty_like(P, dtype=float) if dP is None else dP

    @cached_property
    def _linear_in_G(self):
        """``(weights, others)``: the summed ``electron_hole_weights`` of the mechanisms whose kernel is
        weights times G (built in the pass that makes G; zeros if none) and the other mechanisms."""
        weights = np.zeros(2 * self.grid.n - 1)
        others = []
        for mechanism in self.mechanisms:
            w = mechanism.electron_hole_weights(self.grid)
            if w is None:
                others.append(mechanism)
            else:
                weights += w
        return weights, tuple(others)

    def _fft_kernel(self, f, P, FF, G, K, dP=None, stationary=False):
        """The FFT path's first half: f's spectrum into ``FF``, G into ``G``, the compact kernel of all
        mechanisms into ``K`` and ``(P, dP/dt)``: the populations given or, ``stationary``, those in
        balance with f (then dP/dt is None)."""
        weights, others = self._linear_in_G
        convolution._electron_hole_pass(f, self.grid.step, FF, G, K, weights)
        if stationary:  # the kernels alone: no rates
            P = self.stationary_pairs(f, G) if self.pairs is not None else None
            for mechanism in others:
                mechanism.add_kernel(self.grid, P, G, K)
            return P, None
        return P, self._add_kernels(others, P, G, K, dP)

    def _electron_hole_and_spectrum(self, f):
        """``(f, G, FF)``: f as a C-contiguous float array, its G and, on the FFT path, its spectrum.

        The spectrum of f serves both G and the convolutions, so one FFT of f per evaluation suffices.
        """
        f = np.ascontiguousarray(f, dtype=float)
        if self.path == "direct":
            return f, convolution._electron_hole(f, self.grid.step, "direct"), None
        n_x, n = f.shape
        FF = np.empty((n_x, convolution.fft_length(n) // 2 + 1), complex)
        G = np.empty((n_x, 2 * n - 1))
        convolution._electron_hole_pass(f, self.grid.step, FF, G)
        return f, G, FF

    # -- what the solvers call --------------------------------------------------------------------
    def integral(self, f, P=None, G=None, mechanisms=None) -> np.ndarray:
        """Collision integral ``I[x, i]`` (``df/dt = -I``) of the given mechanisms (default: all)."""
        self.check_state(f, P, populations=mechanisms is None or any(m is self.pairs for m in mechanisms))
        if G is None:
            f, G, FF = self._electron_hole_and_spectrum(f)
            return convolution._collision_integral(f, self.kernel(P, G, mechanisms), self.path, FF)
        return convolution.collision_integral(f, self.kernel(P, G, mechanisms), self.path)

    def pair_rates(self, f, P, G=None) -> np.ndarray:
        """``dP/dt`` of the impurity populations (pairs, free spins) for electrons ``f``."""
        self.check_state(f, P)
        G = self.electron_hole(f) if G is None else G
        return self.pairs.rates(P, G, self.grid)

    def rhs(self, f, P=None, out=None):
        """The full collision right-hand side ``(df/dt, dP/dt)``; ``dP/dt`` is None without pairs.

        Both are fresh arrays, or written into ``out = (df/dt, dP/dt)`` (either may be None): a caller
        that keeps them from call to call saves the page faults of fresh ones, about 9 ms of CPU time
        for the 75 MB of populations of pairs in a field at n_x = 128, n_energy = 2048
        (``benchmarks/bench_field_rhs.py``). On the FFT path three passes do it all: one makes f's
        spectrum, G and the kernels linear in G (e-e), one over the pair populations adds their kernel
        and writes dP/dt, one transforms the kernel and assembles df/dt
        (``convolution._electron_hole_pass``, ``_integral_pass``); f's spectrum, G and the kernel live
        in this thread's scratch (``convolution.scratch``), reused from call to call.
        """
        self.check_state(f, P)
        out_f, out_P = (None, None) if out is None else out
        if self.path == "direct":
            f, G, FF = self._electron_hole_and_spectrum(f)
            K, dPdt = self.kernel_and_pair_rates(P, G, dP=out_P)
            return convolution._collision_integral(f, K, self.path, FF, sign=-1.0, out=out_f), dPdt
        f = np.ascontiguousarray(f, dtype=float)
        dfdt = np.empty_like(f) if out_f is None else out_f
        weights, others = self._linear_in_G
        if len(others) == 1 and others[0] is self.pairs:  # populations and kernels linear in G alone
            P = np.ascontiguousarray(P, dtype=float)
            dPdt = self._check_rates(P, out_P)
            if self.pairs.rhs_in_one_pass(self.grid, f, P, weights, dfdt, dPdt):
                return dfdt, dPdt
        n_x, n = f.shape
        work = convolution.scratch(n_x, n)
        FF, G, K = work.spectrum("rhs: f"), work.array("rhs: G", (n_x, 2 * n - 1)), work.array("rhs: kernel", (n_x, 2 * n + 1))
        _, dPdt = self._fft_kernel(f, P, FF, G, K, out_P)
        convolution._integral_pass(f, FF, K, -1.0, dfdt)
        return dfdt, dPdt

    def linearise(self, f, P=None, stationary: bool = False, out=None, reuse=None, products: bool = True):
        """``(df/dt, dP/dt, lin)`` at ``(f, P)``, and the ``Linearisation`` for ``jvp`` (either path:
        the products are exact for both, since both compute the same discrete sums); ``df/dt`` and
        ``dP/dt`` are written into ``out = (df/dt, dP/dt)`` if given.

        With ``stationary`` the pairs take their stationary populations for f (``P`` is ignored and
        ``dP/dt`` is None): the right-hand side of the f-only problem.

        ``products=False``: for a caller that rarely takes Jacobian products (the time stepper: a few
        per evolution, against one linearisation per step). Where the right-hand side has its one
        pass (``rhs_in_one_pass``), that pass keeps f's spectrum, G and the kernel, and what only
        products need (``D``, ``FK``) is made by the first product: on the default scenario's 15 x 801
        wire with S = 5/2 pairs the step's first right-hand side took 0.38 ms with the full linearisation,
        0.23 ms as the one pass (minima of 300 calls).

        ``reuse``: a linearisation of the same shapes that is no longer needed. On the FFT path its
        spectra, G, kernel and diagonal are overwritten for the new one (not its P or f): a solver that
        linearises again and again then allocates no new large arrays for them, which on the benchmark
        wire cost a third of the process's system time in page faults.
        """
        self.check_state(f, P, populations=not stationary)
        out_f, out_P = (None, None) if out is None else out
        f = np.ascontiguousarray(f, dtype=float)
        if self.path == "direct":
            G = convolution._electron_hole(f, self.grid.step, "direct")
            if stationary:
                P = self.stationary_pairs(f, G) if self.pairs is not None else None
                K, dPdt = self.kernel(P, G), None
            else:
                K, dPdt = self.kernel_and_pair_rates(P, G, dP=out_P)
            I, D = convolution._direct_parts(f, K)
            I = np.negative(I, out=I if out_f is None else out_f)
            # the products use the spectra of the same sums
            return I, dPdt, Linearisation(f, P, G, K, D, convolution._spectrum(f),
                                          convolution._kernel_spectrum(K, self.grid.n), stationary)
        n_x, n = f.shape
        if not (products or stationary):
            weights, others = self._linear_in_G
            if len(others) == 1 and others[0] is self.pairs:
                P = np.ascontiguousarray(P, dtype=float)
                dPdt = self._check_rates(P, out_P)
                I = np.empty_like(f) if out_f is None else out_f
                FF = np.empty((n_x, convolution.fft_length(n) // 2 + 1), complex)
                G, K = np.empty((n_x, 2 * n - 1)), np.empty((n_x, 2 * n + 1))
                if self.pairs.rhs_in_one_pass(self.grid, f, P, weights, I, dPdt, keep=(FF, G, K)):
                    return I, dPdt, Linearisation(f, P, G, K, None, FF, None, False)
        if reuse is not None and reuse.f.shape == f.shape and reuse.D is not None:
            FF, FK, G, K, D = reuse.FF, reuse.FK, reuse.G, reuse.K, reuse.D
        else:
            spectrum_width = convolution.fft_length(n) // 2 + 1
            FF, FK = np.empty((n_x, spectrum_width), complex), np.empty((n_x, spectrum_width), complex)
            G, K, D = np.empty((n_x, 2 * n - 1)), np.empty((n_x, 2 * n + 1)), np.empty_like(f)
        P, dPdt = self._fft_kernel(f, P, FF, G, K, out_P, stationary)
        I = np.empty_like(f) if out_f is None else out_f
        convolution._integral_pass(f, FF, K, -1.0, I, D, FK)
        return I, dPdt, Linearisation(f, P, G, K, D, FF, FK, stationary)

    def jvp(self, lin: Linearisation, v_f, v_P=None, out=None):
        """``(d(df/dt), d(dP/dt))``: the Jacobian of the right-hand side at ``lin`` applied to
        ``(v_f, v_P)``, exactly (G is bilinear in f, the kernels and pair rates are linear in G and P).
        In the stationary problem ``v_P`` is not used and the second part is None. ``d(df/dt)`` is
        written into ``out`` if given.

        The spectra of f and of the kernel come with ``lin``; a product transforms v, the change of G
        and the change of the kernel, and two sums back: five real FFTs. The transforms, dG and the
        kernel's change live in this thread's scratch (``convolution.scratch``), reused from product
        to product."""
        v_f = np.ascontiguousarray(v_f, dtype=float)
        work = convolution.scratch(*v_f.shape)
        if lin.D is None:  # a linearisation without what products need (``linearise(products=False)``)
            D, FK = np.empty_like(lin.f), np.empty_like(lin.FF)
            convolution._integral_pass(lin.f, lin.FF, lin.K, -1.0, work.array("jvp: integral", lin.f.shape), D, FK)
            object.__setattr__(lin, "D", D)  # made once, for every later product at this state
            object.__setattr__(lin, "FK", FK)
        FV = convolution._spectrum(v_f, work.spectrum("jvp: v"))
        dG = convolution.electron_hole_change(lin.f, v_f, self.grid.step, lin.FF, FV,
                                              work.array("jvp: dG", lin.G.shape))
        dK = work.array("jvp: kernel change", lin.K.shape)
        dK[...] = 0.0
        d_rates = None
        for mechanism in self.mechanisms:
            if mechanism is not self.pairs:
                mechanism.add_kernel_change(self.grid, lin.P, lin.G, None, dG, dK)
            elif lin.stationary:
                mechanism.add_stationary_kernel_change(self.grid, lin.P, lin.G, dG, dK)
            else:
                d_rates = mechanism.add_kernel_and_rates_change(self.grid, lin.P, lin.G, v_P, dG, dK)
        dI = convolution.linear_response(lin.f, lin.D, lin.FF, lin.FK, v_f, dK, FV, sign=-1.0, out=out)
        return dI, d_rates

    def electron_hole_change(self, lin: Linearisation, v_f) -> np.ndarray:
        """The change of G at ``lin`` for a change ``v_f`` of the electrons (exact: G is bilinear in f)."""
        v_f = np.ascontiguousarray(v_f, dtype=float)
        return convolution.electron_hole_change(lin.f, v_f, self.grid.step, lin.FF, convolution._spectrum(v_f))

    def pair_response(self, lin: Linearisation, v_f) -> np.ndarray:
        """``d(dP/dt)`` for a change ``v_f`` of the electrons alone (the pairs held): how the pair
        rates follow the electrons, for preconditioners."""
        dG = self.electron_hole_change(lin, v_f)
        scratch = np.zeros_like(lin.K)
        return self.pairs.add_kernel_and_rates_change(self.grid, lin.P, lin.G, np.zeros_like(lin.P), dG, scratch)

    def stationary_pairs(self, f, G=None) -> np.ndarray:
        """Impurity populations in stationary balance with electrons ``f`` (VGL 65; in a field the
        balance of all states)."""
        self.check_state(f, populations=False)
        G = self.electron_hole(f) if G is None else G
        return self.pairs.stationary(G, self.grid)

    # -- diagnostics -------------------------------------------------------------------------------
    def electron_energy(self, f) -> np.ndarray:
        """``w_e[x] = sum_i eps_i f_i d`` relative to the filled Fermi sea (unit ``2 nu E0^2``)."""
        self.check_state(f, populations=False)
        eps = self.grid.values
        return self.grid.step * np.sum(eps * (f - (eps < 0)), axis=-1)

    def energy_rates(self, f, P=None):
        """``(dw_e/dt, dw_p/dt)`` per position from the collisions alone; ``w_p`` is the energy of all
        impurity populations (pairs and free spins; 0 without them), see ``impurity_energy_rates``
        for each kind apart."""
        self.check_state(f, P)
        f, G, FF = self._electron_hole_and_spectrum(f)
        I = convolution._collision_integral(f, self.kernel(P, G), self.path, FF)
        dwe = -self.grid.step * I @ self.grid.values
        if self.pairs is None:
            return dwe, np.zeros_like(dwe)
        return dwe, self.pairs.energy_rate(P, G, self.grid)

    def impurity_energies(self, P) -> dict:
        """``{kind: w[x]}``: the energy of each kind of impurity (``"pairs"``, ``"spins"``) per position,
        unit ``2 nu E0^2`` (empty without impurity populations). W_e plus their sum is conserved."""
        return self.pairs.energy_parts(P) if self.pairs is not None else {}

    def impurity_energy_rates(self, f, P, G=None) -> dict:
        """``{kind: dw/dt[x]}`` from the collisions (``impurity_energies`` of the population rates),
        species by species: no rates of all populations at once."""
        if self.pairs is None:
            return {}
        self.check_state(f, P)
        return self.pairs.energy_rate_parts(P, self.electron_hole(f) if G is None else G, self.grid)

    @property
    def conserves_energy(self) -> bool:
        """Whether every mechanism keeps the energy of electrons and pairs (no bath such as phonons)."""
        return all(m.conserves_energy for m in self.mechanisms)

    def bath_heat(self, f, P=None) -> np.ndarray:
        """Energy the electrons give to baths (the mechanisms that do not conserve energy, e.g. phonons)
        per position and unit time, unit ``2 nu E0^2 / t0``: ``sum_i eps_i I_i d`` of those mechanisms."""
        baths = [m for m in self.mechanisms if not m.conserves_energy]
        if not baths:
            return np.zeros(np.shape(f)[0])
        return self.grid.step * self.integral(f, P, mechanisms=baths) @ self.grid.values

    def edge_fluxes(self, f, P=None):
        """Gross jump rates ``(out, in)`` across the energy-grid edges per position (grid units)."""
        self.check_state(f, P)
        G = self.electron_hole(f)
        return convolution.edge_fluxes(f, self.kernel(P, G))

    def edge_particle_rate(self, f, P=None) -> np.ndarray:
        """Electrons leaving the energy grid per unit time and energy step, per position."""
        self.check_state(f, P)
        G = self.electron_hole(f)
        return convolution.edge_particle_rate(f, self.kernel(P, G))
