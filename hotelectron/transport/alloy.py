"""A dilute magnetic alloy in physical units and its energy scales (VGL 2, 10, 34, 37, 45, 52, 59).

Temperatures and energies are in kelvin (an energy E is given as E/k_B), times in seconds, densities
in m^-3, resistivities in ohm m and wire conductivities (conductance times length) in S m. Formulas
are written with hbar = k_B = 1 in the docstrings and converted with the CODATA constants of
:mod:`hotelectron.units`. nu is the density of states per spin (see :mod:`hotelectron.materials`).
"""

from __future__ import annotations

import dataclasses
import math

from .. import spin
from ..materials import Material, material
from ..units import BOLTZMANN_J_PER_K, ELEMENTARY_CHARGE_C, HBAR_J_S

__all__ = ["MIN_LOG", "Alloy", "exchange_coupling"]

#: The leading-logarithm formulas need ``ln(T/T_K) >> 1`` (or ``ln(T_K/T) >> 1``); below ``MIN_LOG``
#: they are refused.
MIN_LOG = 1.0


def exchange_coupling(log: float) -> float:
    """Dimensionless exchange ``nu J = 1/(2 ln)`` at the scale ``T`` with ``ln = |ln(T/T_K)|``.

    For ``H = J S.sigma`` (Pauli matrices, nu per spin) the one-loop poor man's scaling equation is
    ``d(nu J)/dl = 2 (nu J)^2`` with ``l = ln(D_0/D)`` (Anderson; Hewson ch. 3: ``J S.s`` with
    ``s = sigma/2`` flows as ``d(nu J')/dl = (nu J')^2`` and ``J' = 2 J``). It integrates to
    ``T_K = D_0 exp(-1/(2 nu J_0))`` and ``nu J(T) = 1/(2 ln(T/T_K))``. VGL (2) prints
    ``nu J = 2/ln(T/T_K)``, a factor 4 in J and 16 in every quantity quadratic in J (1/tau_s of VGL 52
    and 59, T_sg of VGL 10 and 37, Delta rho_K of VGL 27, 30, 38, 40). The corrected J reproduces the
    Nagaoka-Hamann spin-flip rate and Kondo resistivity at large logarithm (Hamann, Phys. Rev. 158,
    570 (1967)), which experiments use; this package uses it throughout. Below ``T_K`` the residual
    (ferromagnetic) coupling of underscreened spins has the same magnitude with ``ln(T_K/T)``.
    """
    if not (math.isfinite(log) and log > 0):
        msg = f"exchange_coupling needs ln = |ln(T/T_K)| finite and > 0; got {log!r}"
        raise ValueError(msg)
    return 1.0 / (2.0 * log)


def _positive(name, value):
    if not (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0):
        msg = f"{name} must be a finite number > 0; got {value!r}"
        raise ValueError(msg)
    return float(value)


@dataclasses.dataclass(frozen=True)
class Alloy:
    """Host metal with magnetic impurities of spin S at concentration ``n_s_ppm`` and Kondo temperature ``T_K``.

    Attributes
    ----------
    host : Material or str
        ``"Cu"``, ``"Ag"``, ``"Au"`` or a :class:`~hotelectron.materials.Material`.
    spin : float
        Impurity spin S (multiple of 1/2).
    n_s_ppm : float
        Impurity concentration in ppm of the host's atomic density.
    kondo_temperature_K : float
        T_K in kelvin.
    diffusion_m2_s : float, optional
        Diffusion constant D of the wire (needed for weak localisation only).
    """

    host: Material
    spin: float
    n_s_ppm: float
    kondo_temperature_K: float
    diffusion_m2_s: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "host", material(self.host))
        object.__setattr__(self, "spin", spin.check_spin(self.spin))
        object.__setattr__(self, "n_s_ppm", _positive("n_s_ppm", self.n_s_ppm))
        if self.n_s_ppm >= 1e6:
            msg = f"n_s_ppm must be below 1e6 (a fraction of the atoms); got {self.n_s_ppm!r}"
            raise ValueError(msg)
        object.__setattr__(self, "kondo_temperature_K", _positive("kondo_temperature_K", self.kondo_temperature_K))
        if self.diffusion_m2_s is not None:
            object.__setattr__(self, "diffusion_m2_s", _positive("diffusion_m2_s", self.diffusion_m2_s))

    # -- densities and energy scales -------------------------------------------------------------
    @property
    def n_s_m3(self) -> float:
        """Impurity density n_s in m^-3."""
        return self.n_s_ppm * 1e-6 * self.host.atomic_density_m3

    @property
    def n_s_over_nu_K(self) -> float:
        """``n_s / nu`` as a temperature (kelvin): the energy scale of all impurity rates."""
        return self.n_s_m3 / (self.host.dos_per_spin_J_m3 * BOLTZMANN_J_PER_K)

    @property
    def fermi_energy_density_K(self) -> float:
        """``hbar v_F n_s^{1/3}`` in kelvin, the upper cut-off of the RKKY logarithm of VGL (10)."""
        return HBAR_J_S * self.host.fermi_velocity_m_s * self.n_s_m3 ** (1 / 3) / BOLTZMANN_J_PER_K

    @property
    def spin_glass_temperature_K(self) -> float:
        """``T_sg = n_s (nu J_0)^2 / (2 pi nu) = n_s / (8 pi nu ln^2(hbar v_F n_s^{1/3} / T_K))`` (VGL 10).

        For ``T_K`` below that cut-off. VGL (10) prints ``2 n_s/(pi nu ln^2)`` from its ``nu J = 2/ln``;
        with the scaling result ``nu J_0 = 1/(2 ln)`` (:func:`exchange_coupling`) it is 16 times smaller.
        """
        log = math.log(self.fermi_energy_density_K / self.kondo_temperature_K)
        if log < MIN_LOG:
            msg = (
                f"T_sg (VGL 10) needs hbar v_F n_s^(1/3) >> T_K; got {self.fermi_energy_density_K:.4g} K "
                f"vs kondo_temperature_K = {self.kondo_temperature_K:g}"
            )
            raise ValueError(msg)
        return self.n_s_over_nu_K * exchange_coupling(log) ** 2 / (2.0 * math.pi)

    @property
    def underscreened_spin_glass_temperature_K(self) -> float:
        """``T~_sg = n_s / (8 pi nu ln^2(T_K nu / n_s))`` (VGL 37 corrected as VGL 10), for ``n_s/nu << T_K``."""
        log = math.log(self.kondo_temperature_K / self.n_s_over_nu_K)
        if log < MIN_LOG:
            msg = (
                f"T~_sg (VGL 37) needs n_s/nu << T_K; got n_s/nu = {self.n_s_over_nu_K:.4g} K and "
                f"kondo_temperature_K = {self.kondo_temperature_K:g} (lower n_s_ppm)"
            )
            raise ValueError(msg)
        return self.n_s_over_nu_K * exchange_coupling(log) ** 2 / (2.0 * math.pi)

    @property
    def unitary_resistivity_ohm_m(self) -> float:
        """``Delta rho_U = (3/pi) n_s / (e^2 nu^2 v_F^2)`` (VGL 34), hbar restored: ohm m."""
        nu = self.host.dos_per_spin_J_m3
        v = self.host.fermi_velocity_m_s
        return 3.0 / math.pi * self.n_s_m3 / (HBAR_J_S * ELEMENTARY_CHARGE_C**2 * nu**2 * v**2)

    def kelvin_to_seconds(self, rate_K: float) -> float:
        """Time ``hbar / (k_B rate)`` in seconds of a rate given as an energy in kelvin."""
        return HBAR_J_S / (BOLTZMANN_J_PER_K * rate_K)

    def require_diffusion(self) -> float:
        """D in m^2/s, or a ValueError saying that weak localisation needs it."""
        if self.diffusion_m2_s is None:
            msg = "weak localisation needs the diffusion constant: diffusion_m2_s is not set"
            raise ValueError(msg)
        return self.diffusion_m2_s

    def wl_scale_S_m(self, tau_s_s: float) -> float:
        """``Delta sigma_0 = (e^2 / (2 pi hbar)) sqrt(D tau_s / 2)`` (VGL 45), in S m."""
        return ELEMENTARY_CHARGE_C**2 / (2 * math.pi * HBAR_J_S) * math.sqrt(self.require_diffusion() * tau_s_s / 2)
