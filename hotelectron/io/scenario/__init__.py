"""Scenario files: a wire experiment in physical units, validated once and turned into a WireProblem.

A scenario is a TOML file. Quantities are strings with their units (``"0.3 mV"``, ``"25 mK"``,
``"5 um"``, ``"60 ppm"``), read with pint (:func:`hotelectron.units.parse_quantity`); plain numbers
(spin, grid sizes, dimensionless strengths) are written without quotes. Every problem is a
``ValueError`` whose message names the key as ``[section] key``, the value and what is allowed:
unknown sections and keys (typos), missing keys, missing or wrong units, non-numbers, NaN or inf,
values out of range.

.. code-block:: toml

    [wire]
    material = "Au"                     # Cu, Ag or Au (free-electron constants, hotelectron.materials)
    length = "5 um"
    diffusion_constant = "0.01 m^2/s"

    [reservoirs]
    temperature = "25 mK"
    bias = "0.3 mV"

    [impurities]                        # magnetic-impurity pairs (optional)
    spin = 2.5
    concentration = "60 ppm"
    kondo_temperature = "0.3 K"

    [electron_electron]                 # optional
    exponent = 1.5
    kappa = "0.1 1/ns/meV^0.5"

    [grid]
    n_x = 33
    n_energy = 801
    half_width = 4.0

    [run]
    mode = "evolve"
    end_time = "2 tau_D"
    output_every = "0.1 tau_D"

Units of the solver
-------------------
Energies are in E0 = eU (the bias) when the bias is non-zero, else E0 = k_B T of the hotter
reservoir; lengths in the wire length L; times in the diffusion time tau_D = L^2/D
(:mod:`hotelectron.wire`). ``Scenario.energy_unit_J``, ``Scenario.energy_unit`` (e.g.
``"eU = 0.3 meV"``) and ``Scenario.tau_D_s`` give the conversions.

[wire] (required unless [dimensionless])
----------------------------------------
material
    ``"Cu"``, ``"Ag"`` or ``"Au"``. Or, instead, all three of
    ``dos_per_spin`` (nu, density of states **per spin**, e.g. ``"5e46 1/(J m^3)"``),
    ``fermi_velocity`` (``"1.4e6 m/s"``) and ``atomic_density`` (``"5.9e28 1/m^3"``, ppm refer to it).
length
    Wire length L (> 0), e.g. ``"5 um"``. Required.
diffusion_constant
    D, e.g. ``"0.01 m^2/s"``. Or, instead, ``resistance`` (``"100 ohm"``) and ``cross_section``
    (``"50 nm * 100 nm"`` or ``"5e-15 m^2"``), from which D = L / (R A e^2 2 nu): the Einstein
    relation sigma = e^2 (2 nu) D with the density of states of **both** spins.

[reservoirs] (required unless [dimensionless])
----------------------------------------------
temperature
    Of both reservoirs, > 0 (``"25 mK"``; an energy such as ``"2 ueV"`` is divided by k_B). Or
    ``temperature_left`` and ``temperature_right``.
bias
    The voltage U (``"0.3 mV"``; an energy ``"0.3 meV"`` is taken as eU); the reservoirs sit at
    mu_left = +eU/2, mu_right = -eU/2. Or ``mu_left`` and ``mu_right`` (voltages times e, or energies).
    A zero bias is allowed (then E0 = k_B T).

[impurities] (optional: pair scattering, VGL 69-70)
---------------------------------------------------
spin
    S, a positive multiple of 1/2 (2.5 for Fe in Au, Mn in Ag). Required.
concentration
    n_s relative to the host atoms, ``"60 ppm"`` (or ``"0.006 percent"``). Required (Gamma needs n_s).
kondo_temperature
    T_K, ``"0.3 K"``. Then T_sg = n_s / (8 pi nu ln^2(hbar v_F n_s^(1/3) / T_K)) (VGL 10,
    :class:`hotelectron.transport.Alloy`) and the Nagaoka-Hamann rate
    1/tau_s = (n_s/(pi hbar nu_F)) pi^2 S(S+1) / (pi^2 S(S+1) + ln^2(E_hot/T_K)), nu_F = 2 nu
    (:func:`hotelectron.transport.spin_flip_time_s`), with the logarithm evaluated at the energy of the
    hot electrons, E_hot = max(k_B T, eU) (T of the hotter reservoir). Both use nu J = 1/(2 ln) of
    one-loop scaling for H = J S.sigma; VGL (2) prints 2/ln, so the printed VGL (10) and (52) are 16
    times larger (:func:`hotelectron.transport.exchange_coupling`).
spin_glass_temperature, spin_flip_rate
    Instead of kondo_temperature: T_sg (``"40 mK"``) and 1/tau_s (``"6e9 1/s"``) given directly.

Validity: the Kondo regime. With kondo_temperature, ln(E_hot/T_K) < 1
(:data:`hotelectron.transport.MIN_LOG`) is refused (the formula is meaningless there), naming
``[impurities] kondo_temperature``, ``[reservoirs] bias`` and ``[reservoirs] temperature``;
ln(E_hot/T_K) < 3 (a small perturbative logarithm) and a bath temperature below T_K (Kondo-screened
spins) are warned about (``Scenario.warnings``, the log and ``hotelectron show``). A directly given
spin_flip_rate above the unitary bound 2 n_s/(pi hbar nu) is refused; the bound is that of one
scattering channel, which the model assumes (an effective spin S in one conduction band). The
Nagaoka-Hamann rate never exceeds a quarter of it; ``unitary_spin_flip_rate_per_s`` is reported.
coupling_cutoff
    V_min (an energy ``"0.03 meV"`` or a temperature ``"0.4 K"``). Optional. Default: the smallest
    V_min with pair probability (8/3) T_sg / V_min <= 0.3, i.e. V_min = (8/3) T_sg / 0.3, but at
    least half an energy step. A given cutoff below half a step is refused; a pair probability above
    0.3 is warned about (``Scenario.warnings`` and the log), above 1 refused (SPEC section 2). V_min
    must lie on the energy grid (V_min <= half_width E0). Derived ``v_min_rule`` says which cutoff is
    active (``"given"``, ``"pair_probability"`` or ``"half_step"``), ``v_min_pair_probability`` the
    value of (8/3) T_sg / 0.3. Where half a step is active, the pairs with |V| below it count among
    the free spins (the unpaired fraction moves with the grid); that holds for V << Delta_Z, k_B T,
    and where free spins are in the model (a field, or [spin_mediated]) a V_min above 0.1
    min(Delta_Z, k_B T) (k_B T of the colder reservoir) is warned about, naming ``[grid] n_energy``
    (with one that fixes it) and this key.

From them: Gamma = 4 nu / (tau_s n_s S(S+1)) and the dimensionless strengths
``pair_rate = tau_D k_B T_sg / (tau_s E0)``, ``pair_relaxation = Gamma tau_D E0``,
``v_min = V_min / E0``. The coupling grid uses the energy step, up to
``k_max = (n_energy - 1)/2`` steps (v_max = half_width + step/2).

[electron_electron] (optional: kernel kappa |E|^-a, SPEC section 4)
-------------------------------------------------------------------
exponent
    a in (0, 3); 1.5 (screened Coulomb, default) or 2 (mediated by free magnetic impurities).
kappa
    kappa with units energy^(a-2)/time: ``"0.1 1/ns/meV^0.5"`` for a = 1.5, ``"1 1/ns"`` for a = 2.
    Converted with pint to ``kappa_dimensionless = kappa tau_D E0^(2-a)``; a wrong dimension is
    refused. Or ``kappa_dimensionless`` given directly (a plain number > 0).

[phonons] (optional: electron-phonon scattering, kernel kappa_ph |E|^p, SPEC section 9)
-------------------------------------------------------------------------------------
sigma
    Sigma of P/Vol = Sigma (T_e^(p+3) - T_ph^(p+3)) in W K^-(p+3) m^-3, ``"2e9 W K^-5 m^-3"`` for
    p = 2. Default (p = 2 only): the material's value (Cu 2e9, Ag 0.5e9, Au 2.4e9, Giazotto et al.,
    RMP 78, 217 (2006); :mod:`hotelectron.materials`). Converted to
    kappa_ph = Sigma / (2 nu Gamma(p+3) zeta(p+3) k_B^(p+3)) and ``phonon_kappa = kappa_ph tau_D E0^(p+1)``
    (:mod:`hotelectron.kinetics.mechanisms.phonons`). Or ``kappa_dimensionless`` given directly (> 0).
temperature
    Of the phonon bath, ``"25 mK"``; default the reservoirs' temperature (required when they differ).
exponent
    p in [1, 6], default 2 (3D phonons, the T^5 law).

[spin_mediated] (optional: e-e scattering mediated by the free impurity spins, zero field only)
------------------------------------------------------------------------------------------
An empty section (it takes no keys) adds the a = 2 kernel kappa/E^2 of the unpaired impurities (a
fraction 1 - (8/3) T_sg/V_min of [impurities] concentration), kappa = 8 pi (n_free/nu)(nu J)^4 S(S+1)/hbar
(:mod:`hotelectron.kinetics.mechanisms.spin_mediated`) with the exchange of the scenario's spin-flip rate,
1/tau_s = 2 pi (n_s/nu)(nu J)^2 S(S+1)/hbar (derived ``spin_mediated_exchange``, ``spin_mediated_kappa``
= kappa tau_D, ``spin_mediated_kappa_per_s``). Needs [impurities]; refused with a field B > 0 (the
kernel in a field is not built).

[field] (optional: a magnetic field on the impurity spins, SPEC section 9; :mod:`.zeeman`)
------------------------------------------------------------------------------------
B
    The field (``"0.5 T"``, ``"500 mT"``, or in Gaussian units ``"5000 G"``, ``"5 kG"``, ``"5000 Oe"``:
    1e-4 T each). Only |B| enters: a negative field is a field in the other direction. Required in the
    section.
g
    The impurity g factor, a plain number in [0.1, 20], default 2. The Zeeman energy
    Delta_Z = g mu_B B (0.1158 meV per tesla for g = 2) must be a whole number of energy steps: it is
    rounded to one when that changes it by at most 0.5 %; a given ``[grid] n_energy`` that would change
    it more is refused naming ``[field] B`` (with an n_energy and a field that fit), and the default
    n_energy is the smallest valid one. A Zeeman energy beyond 2 half_width, or below half an energy
    step, is refused; the fields and grids a refusal suggests are accepted as printed.

With impurities and B > 0 the pairs are resolved into their states (J, M) (``FieldPairScattering``)
and the unpaired impurities, a fraction 1 - (8/3) T_sg/V_min, are free spins with the levels
Delta_Z M (``FreeSpinScattering``, rate t0 (1 - p)/tau_s: derived ``free_spin_rate``; a
[dimensionless] scenario without spin_glass_temperature leaves them out, with a warning); at B = 0,
where free spins exchange no energy, the scenario is the one without the section. The field acts on the impurity spins only
(the electrons' Zeeman energy is neglected): without [impurities] it changes nothing (a warning).

[dimensionless] (alternative to all the physical sections above)
--------------------------------------------------------
For theorists: the solver's parameters as plain numbers, energies in E0, times in tau_D; no material
and no physical units (``Scenario.energy_unit = "E0"``, ``energy_unit_J`` and ``tau_D_s`` are None,
times in [run] are plain numbers or ``"x tau_D"``). Mixing it with a physical section is refused.

temperature
    Of both reservoirs in E0, >= 0 (T = 0 is allowed here only). Required.
bias
    mu_left - mu_right in E0 (default 1); the potentials are +-bias/2.
pair_rate, pair_relaxation, spin
    Pair scattering (all three together, > 0): the ``rate``, ``relaxation`` and ``S`` of
    :class:`hotelectron.kinetics.mechanisms.PairScattering`.
v_min
    Coupling cutoff in E0 (>= half an energy step). Required with pairs unless
    ``spin_glass_temperature`` (T_sg in E0, optional) is given, which also enables the default
    cutoff and the pair-probability check of [impurities].
kappa, exponent
    Electron-electron strength ``kappa`` (> 0, in 1/tau_D E0^(a-2)) and exponent (default 1.5).
phonon_kappa, phonon_temperature, phonon_exponent
    Electron-phonon strength (> 0, in 1/(tau_D E0^(p+1))), phonon temperature in E0 (default the
    reservoirs') and p (default 2).
zeeman
    The impurity Zeeman energy Delta_Z in E0 (a negative value is a field in the other direction:
    |zeeman| runs), on the grid in whole steps as ``[field] B``.

[grid] (optional)
-----------------
n_x
    Odd integer, 5 to 10001, default 33 (odd so that x = L/2, where tunnel spectroscopy measures,
    is a node).
half_width
    The energy grid spans [-half_width, half_width] E0. It must reach beyond both reservoir
    potentials by at least 1 eU and by at least 24 k_B T (Fermi tails below 1e-10 at the edges);
    with pairs a margin under 2 eU is warned about (their hot tail leaks at the edges). Default:
    3.5 eU (or 24 k_B T if larger) beyond the potentials, rounded up to a multiple of 0.5 E0: 4.0
    for a symmetric bias at low temperature.
n_energy
    Odd integer, 5 to 1048577. Both reservoir potentials must sit on grid points, and the step
    2 half_width/(n_energy - 1) must be at most 2 k_B T of the colder reservoir (so the Fermi edge,
    4 k_B T wide between f = 0.88 and 0.12, spans at least two steps; results converge as the
    square of the step, so check by doubling n_energy). A refused n_energy is answered with the
    next valid one. In a [dimensionless] scenario (where T = 0 is allowed) a step above 2 k_B T
    is only warned about: the grid is then the theorist's numerical choice. Default: the smallest
    valid n_energy >= 801 (801 for the example above).

[run] (optional)
----------------
mode
    ``"evolve"`` (time evolution in the wire, default), ``"steady"`` (steady state; then end_time,
    output_every, pairs_every and bump are refused) or ``"box"`` (a closed uniform box without
    diffusion: relaxation of a hot bump, which is then required).
end_time
    ``"2 tau_D"`` (default) or a physical time ``"1 ns"`` (divided by tau_D).
output_every
    Frame interval, ``"0.1 tau_D"`` (default) or a physical time; <= end_time, at most 1e5 frames
    (end_time / output_every). end_time is at most 1e6 tau_D (far beyond every relaxation time).
pairs_every
    Store the pair populations every this many frames (integer >= 1, default 1).
initial
    ``"quench"`` (default: the bias is switched on at t = 0, the wire starts in equilibrium at the
    mean potential and temperature of the reservoirs) or ``"equilibrium"``.

max_memory, max_output
    Optional limits of the resource estimate (:mod:`hotelectron.io.resources`): sizes such as
    ``"8 GiB"`` or ``"500 MB"`` (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB). A run whose estimated memory
    or output file exceeds them, the available memory or the free disk at the output is refused
    before anything is written.

[run.bump] (optional; required for mode = "box")
    A hot bump added to the initial distribution: ``energy`` (its centre: an energy or voltage
    ``"0.2 meV"``, or in E0 as ``"0.7 E0"``), ``width`` (> 0, same forms) and ``height`` (its peak
    occupation, 0 < height <= 1). Stored in E0 in ``Scenario.bump``.

Derived quantities
------------------
``Scenario.derived`` records every number the loader computed, with the unit in the key: physical
ones (``tau_D_s``, ``length_m``, ``diffusion_m2_s``, ``nu_per_spin_J_m3``, ``fermi_velocity_m_s``,
``atomic_density_m3``, ``resistance_ohm``, ``cross_section_m2``, ``temperature_left_K``,
``temperature_right_K``, ``mu_left_meV``, ``mu_right_meV``, ``bias_mV``, ``energy_unit_J``,
``energy_unit_meV``, ``energy_unit_K``, ``energy_step_meV``, ``end_time_s``, ``output_every_s``;
with impurities ``spin``, ``n_s_ppm``, ``n_s_m3``, ``kondo_temperature_K``, ``hot_energy_K``,
``kondo_log``, ``unitary_spin_flip_rate_per_s``, ``T_sg_K``, ``tau_s_s``, ``spin_flip_rate_per_s``, ``Gamma_per_J_s``, ``V_min_K``,
``V_min_meV``, ``pair_probability``; with electron-electron scattering ``kappa_J^(a-2)_per_s`` (and, for a = 3/2
with a cross-section, the wire's screened Coulomb value ``kappa_coulomb_theory_J^-0.5_per_s`` and
``kappa_over_coulomb_theory``); with phonons ``phonon_sigma_W_per_m3_K^(p+3)``
(Sigma in W m^-3 K^-(p+3); files written before call it ``phonon_sigma_W_K^-(p+3)_m3``),
``phonon_kappa_per_s_J^(p+1)``, ``phonon_temperature_K``; with a field ``field_T``, ``g_factor``,
``zeeman_meV``, ``zeeman_run_meV`` and ``field_run_T`` (the field whose Zeeman energy runs)) and
dimensionless ones (``energy_unit``, ``n_x``, ``n_energy``, ``half_width_E0``, ``energy_step_E0``,
``mu_left_E0``, ``mu_right_E0``, ``temperature_left_E0``, ``temperature_right_E0``,
``temperature_E0`` (the hotter reservoir), ``edge_margin_E0``, ``T_sg_E0``, ``pair_rate``,
``pair_relaxation``, ``v_min``, ``v_max``, ``k_min``, ``k_max``, ``exponent``,
``kappa_dimensionless``, ``phonon_kappa``, ``phonon_temperature_E0``, ``phonon_exponent``, ``unpaired_fraction``
(1 - pair_probability), ``zeeman_E0``, ``zeeman_steps``, ``zeeman_run_E0``, ``zeeman_rounding``, ``mode``, ``initial``, ``end_time_tau_D``, ``output_every_tau_D``,
``pairs_every``, ``bump_energy``, ``bump_width``, ``bump_height``). Keys that do not apply are absent.
All values are JSON-serialisable floats, ints and strings.
"""

from .loader import Scenario, load_scenario, parse_scenario, scenario_text

__all__ = ["Scenario", "load_scenario", "parse_scenario", "scenario_text"]
