"""Energy relaxation rate of a perturbed Fermi sea by equilibrium pairs: VGL (73), for checks and reports.

Normalisation. With ``W = 2 nu int eps delta f d eps`` (both spin directions) the collision integral of
SPEC section 3, which reproduces VGL (71-72) exactly, gives for S = 1/2 and Gibbs pairs at T

    -dW/dt = (16 T_sg / (3 tau_s)) int_0^inf dE/E (e^{2E/T} - 1)/[(3e^{E/T} + 1)(3 + e^{E/T})]
             * int 2 nu delta f(eps) sinh(eps/T)/[cosh(E/T) + cosh(eps/T)] d eps.

VGL (73) as printed carries ``nu`` instead of ``2 nu`` in the last factor, i.e. it is the rate for the
energy of one spin direction. The factor follows from (71-72) alone: in the hot-electron limit
``-dW/dt = (2 nu / (tau_s T_sg)) int E chi(E) dE int delta f``, whose E-integral is the one above. The
tests check the formula here against the direct collision integral.
"""

from __future__ import annotations

import numpy as np
from scipy import integrate

__all__ = ["vgl73_loss_rate"]


def _pair_factor(x):
    """``(e^{2x} - 1) / [(3 e^x + 1)(3 + e^x)]`` for x >= 0 without overflow."""
    e = np.exp(-x)
    return (1 - e * e) / ((3 + e) * (3 * e + 1))


def vgl73_loss_rate(delta_f, energies, temperature: float, rate: float) -> float:
    """Rate of decrease of ``w = int eps delta f d eps`` at the first moment, VGL (73), S = 1/2.

    Parameters
    ----------
    delta_f : ndarray
        Small perturbation of the Fermi function, sampled on the uniform grid ``energies``.
    energies : ndarray
        Uniform energy grid (unit E0).
    temperature : float
        Temperature of electrons and pairs (unit E0).
    rate : float
        ``t0 T_sg / (tau_s E0)``.

    Returns
    -------
    float
        ``-dw/dt`` in units of ``2 nu E0^2 / t0`` (the unit of ``w_e`` per unit time).
    """
    T = temperature
    step = energies[1] - energies[0]
    eps = energies / T

    def q(E):  # the electron factor, for one energy transfer E
        x = E / T
        # sinh(eps)/(cosh(x) + cosh(eps)) = (1 - e^{-2|eps|}) sign(eps) / (e^{x-|eps|} + e^{-x-|eps|} + 1 + e^{-2|eps|})
        a = np.abs(eps)
        ea = np.exp(-a)
        weight = np.sign(eps) * (1 - ea * ea) / (np.exp(np.minimum(x - a, 700.0)) + np.exp(-x - a) + 1 + ea * ea)
        return step * np.sum(delta_f * weight)

    def integrand(E):
        return _pair_factor(E / T) / E * q(E)

    upper = 60.0 * T + np.max(np.abs(energies))
    total = 0.0
    for a, b in [(0.0, T), (T, 10 * T), (10 * T, upper)]:
        total += integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-11, limit=400)[0]
    return 16.0 / 3.0 * rate * total
