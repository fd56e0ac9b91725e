"""Transport of dilute magnetic alloys (VGL sections III-IV): Kondo resistivity and weak localisation.

* :mod:`.first_order` -- dimensionless first-order RKKY corrections from the pair correlator
  (VGL 15-16, 26, D1-D2), the closed-form limits and the derivations connecting them.
* :mod:`.alloy` -- the :class:`Alloy` in physical units and its scales (T_sg, T~_sg, n_s/nu, rho_U).
* :mod:`.regimes` -- Delta rho_K(T), Delta sigma_wl(T), tau_s(T), T* and T~* in every regime, each
  refusing temperatures outside its validity unless asked to extrapolate.
"""

from .alloy import MIN_LOG, Alloy, exchange_coupling
from .first_order import (
    PHI_OVER_U2_INTEGRAL,
    phi,
    resistivity_coefficient,
    spectral_density,
    wl_corrections,
    wl_high_temperature_coefficient,
    wl_high_temperature_coefficient_closed,
)
from .regimes import (
    MAX_FERMI_LIQUID,
    MAX_FIRST_ORDER,
    characteristic_temperature_estimate_K,
    characteristic_temperature_K,
    fermi_liquid_wl_coefficient,
    kondo_resistivity_high_T_ohm_m,
    kondo_resistivity_low_T_ohm_m,
    kondo_resistivity_ohm_m,
    kondo_resistivity_zero_T_ohm_m,
    spin_flip_time_s,
    underscreened_characteristic_temperature_estimate_K,
    underscreened_characteristic_temperature_K,
    underscreened_spin_flip_time_s,
    weak_localisation_high_T_S_m,
    weak_localisation_low_T_S_m,
    weak_localisation_S_m,
    weak_localisation_zero_T_S_m,
)

__all__ = [
    "MAX_FERMI_LIQUID",
    "MAX_FIRST_ORDER",
    "MIN_LOG",
    "PHI_OVER_U2_INTEGRAL",
    "Alloy",
    "characteristic_temperature_K",
    "exchange_coupling",
    "characteristic_temperature_estimate_K",
    "fermi_liquid_wl_coefficient",
    "kondo_resistivity_high_T_ohm_m",
    "kondo_resistivity_low_T_ohm_m",
    "kondo_resistivity_ohm_m",
    "kondo_resistivity_zero_T_ohm_m",
    "phi",
    "resistivity_coefficient",
    "spectral_density",
    "spin_flip_time_s",
    "underscreened_characteristic_temperature_K",
    "underscreened_characteristic_temperature_estimate_K",
    "underscreened_spin_flip_time_s",
    "weak_localisation_S_m",
    "weak_localisation_high_T_S_m",
    "weak_localisation_low_T_S_m",
    "weak_localisation_zero_T_S_m",
    "wl_corrections",
    "wl_high_temperature_coefficient",
    "wl_high_temperature_coefficient_closed",
]
