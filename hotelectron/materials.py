"""Free-electron constants of the noble-metal hosts Cu, Ag and Au.

Source: N. W. Ashcroft and N. D. Mermin, *Solid State Physics* (1976), table 2.1 (conduction-electron
density n, Fermi energy E_F, Fermi velocity v_F in the free-electron model). All three are monovalent,
so the atomic density equals n; impurity concentrations in ppm are relative to it.

Per-spin convention
-------------------
``dos_per_spin_J_m3`` is the density of states at the Fermi level **per spin** and per unit volume,
nu = 3 n / (4 E_F) for free electrons (the total, both spins, is 3n/(2E_F)). This is the nu of VGL and
of the whole package. Experimental papers often quote a density of states that counts *both* spins,
usually from the specific heat (about 1.0e47 J^-1 m^-3 for Ag, 1.1e47 for Au, 1.6e47 for Cu); using
such a number as nu here is a factor-2 error in kappa, in n_s/nu and in every rate built from them.

Electron-phonon coupling
------------------------
``electron_phonon_sigma_W_K5_m3`` is Sigma of P/Vol = Sigma (T_e^5 - T_ph^5), the power that hot
electrons give to the phonons (W K^-5 m^-3), from the table of measured values in F. Giazotto,
T. T. Heikkilae, A. Luukanen, A. M. Savin and J. P. Pekola, Rev. Mod. Phys. 78, 217 (2006): Cu 2e9,
Au 2.4e9, Ag 0.5e9. Measured films scatter by about a factor 2 around these values; a scenario can
give its own (``[phonons] sigma``).
"""

from __future__ import annotations

import dataclasses
import math

from .units import ELECTRON_VOLT_J

__all__ = ["MATERIALS", "Material", "material"]


@dataclasses.dataclass(frozen=True)
class Material:
    """A host metal in the free-electron model.

    Attributes
    ----------
    name : str
        Chemical symbol.
    n_electron_m3 : float
        Conduction-electron density (m^-3); equal to the atomic density (monovalent hosts).
    fermi_energy_eV : float
        Fermi energy (eV).
    fermi_velocity_m_s : float
        Fermi velocity (m/s).
    source : str
        Where the numbers come from.
    electron_phonon_sigma_W_K5_m3 : float or None
        Sigma of the T^5 law (W K^-5 m^-3), None when unknown (custom hosts).
    """

    name: str
    n_electron_m3: float
    fermi_energy_eV: float
    fermi_velocity_m_s: float
    source: str
    valence: int = 1
    electron_phonon_sigma_W_K5_m3: float | None = None

    def __post_init__(self):
        for field in ("n_electron_m3", "fermi_energy_eV", "fermi_velocity_m_s"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value > 0):
                msg = f"Material {self.name}: {field} must be finite and > 0; got {value!r}"
                raise ValueError(msg)

    @property
    def dos_per_spin_J_m3(self) -> float:
        """Density of states per spin at the Fermi level, nu = 3n/(4E_F), in J^-1 m^-3 (free electrons)."""
        return 3.0 * self.n_electron_m3 / (4.0 * self.fermi_energy_eV * ELECTRON_VOLT_J)

    @property
    def atomic_density_m3(self) -> float:
        """Host atoms per m^3 (n / valence); ppm concentrations refer to it."""
        return self.n_electron_m3 / self.valence


_AM = "Ashcroft & Mermin, Solid State Physics (1976), table 2.1 (free-electron values)"
_SIGMA = "; electron-phonon Sigma: Giazotto et al., Rev. Mod. Phys. 78, 217 (2006), table of Sigma"

MATERIALS = {
    m.name: m
    for m in (
        Material("Cu", 8.47e28, 7.00, 1.57e6, _AM + _SIGMA, electron_phonon_sigma_W_K5_m3=2.0e9),
        Material("Ag", 5.86e28, 5.49, 1.39e6, _AM + _SIGMA, electron_phonon_sigma_W_K5_m3=0.5e9),
        Material("Au", 5.90e28, 5.53, 1.40e6, _AM + _SIGMA, electron_phonon_sigma_W_K5_m3=2.4e9),
    )
}


def material(name) -> Material:
    """The host metal called ``name`` (``"Cu"``, ``"Ag"``, ``"Au"``; case-insensitive), or ``name`` itself if a Material."""
    if isinstance(name, Material):
        return name
    key = {k.lower(): k for k in MATERIALS}.get(str(name).strip().lower())
    if key is None:
        msg = f"material = {name!r}: unknown host metal; known: {', '.join(MATERIALS)}"
        raise ValueError(msg)
    return MATERIALS[key]
