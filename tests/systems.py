"""Small collision systems and wires shared by the tests."""

import contextlib
import importlib.util
import io
import json
import logging
import os
import subprocess
import tomllib
from pathlib import Path

import numpy as np

# AGMN_SECTIONS: Ag with 1 ppm Mn, the sections that tests complete with their own [grid], [run], [field], ...
from hotelectron.bench.fit import AGMN_SECTIONS  # noqa: F401
from hotelectron.kinetics.collisions import Collisions
from hotelectron.kinetics.grids import CouplingGrid, EnergyGrid, WireGrid
from hotelectron.kinetics.mechanisms import ElectronElectron, PairScattering
from hotelectron.wire import WireProblem


def fermi(energies, temperature, mu=0.0):
    x = (np.asarray(energies) - mu) / temperature
    return 0.5 * (1 - np.tanh(x / 2))  # no overflow for large |x|


def system(n=401, half_width=10.0, S=0.5, rate=1.0, relaxation=3.0, kappa=0.7, exponent=1.5, v_min=None, k_max=None, path="fft"):
    """Pairs and electron-electron scattering on a grid of n points over [-half_width, half_width]."""
    grid = EnergyGrid(n, 2 * half_width / (n - 1))
    couplings = CouplingGrid(grid.step, v_min or grid.step / 2, k_max or (n - 1) // 2)
    mechanisms = []
    if rate is not None:
        mechanisms.append(PairScattering(S, rate, relaxation, couplings))
    if kappa is not None:
        mechanisms.append(ElectronElectron(kappa, exponent))
    return Collisions(grid, tuple(mechanisms), path)


def wire(n_x=17, n=161, half_width=4.0, bias=1.0, T=0.02, pairs=True, ee=True, S=0.5, rate=2.0, kappa=0.3, exponent=1.5, mu=0.0):
    """A wire of n_x nodes between reservoirs at +-bias/2 (around mu), pairs and/or e-e scattering."""
    step = 2 * half_width / (n - 1)
    grid = EnergyGrid(n, step)
    mechanisms = []
    if pairs:
        mechanisms.append(PairScattering(S, rate, 30.0, CouplingGrid(step, 0.1, (n - 1) // 2)))
    if ee:
        mechanisms.append(ElectronElectron(kappa, exponent))
    return WireProblem(grid, WireGrid(n_x), mu + bias / 2, mu - bias / 2, T, T, tuple(mechanisms))


def closed_box_trajectory(collisions, f0, P0, t_end):
    """A closed uniform box, ``(df/dt, dP/dt) = collisions.rhs``, from ``f0[1, n]`` and ``P0[1, ...]`` to
    ``t_end`` by RK45 (an explicit Runge-Kutta method keeps every linear invariant of the right-hand
    side exactly); returns ``(f[t, n], P[t, ...])`` at the accepted steps."""
    from scipy.integrate import solve_ivp

    n_f = f0.size

    def rhs(t, y):
        dfdt, dPdt = collisions.rhs(y[:n_f].reshape(f0.shape), y[n_f:].reshape(P0.shape))
        return np.concatenate([dfdt.ravel(), dPdt.ravel()])

    sol = solve_ivp(rhs, (0, t_end), np.concatenate([f0.ravel(), P0.ravel()]), method="RK45", rtol=1e-9, atol=1e-12)
    assert sol.success, sol.message
    return sol.y[:n_f].T, sol.y[n_f:].T.reshape((-1,) + P0.shape[1:])


def two_step(grid, mu=0.6, T=(0.08, 0.2)):
    """Two positions of non-thermal electrons on ``grid``: a double step and a hotter, shifted one."""
    e = grid.values
    return np.stack([0.5 * (fermi(e, T[0], mu) + fermi(e, T[0], -mu)),
                     0.7 * fermi(e, T[1], 0.5 * mu) + 0.3 * fermi(e, T[0], -mu)])


def central_difference(func, h):
    """Richardson-extrapolated central difference of ``func(h)`` (a list of arrays): exact for
    polynomials of degree <= 4 (collision right-hand sides are cubic in (f, P)), O(h^4) otherwise."""
    def once(step):
        return [(a - b) / (2 * step) for a, b in zip(func(step), func(-step))]

    coarse, fine = once(h), once(h / 2)
    return [(4 * b - a) / 3 for a, b in zip(coarse, fine)]


SMALL_SCENARIO = """
[dimensionless]
temperature = {temperature}
bias = 1.0
spin = 0.5
pair_rate = 2.0
pair_relaxation = 30.0
v_min = 0.1
kappa = 0.3
exponent = 1.5

[grid]
n_x = 9
n_energy = 161
half_width = 4.0

[run]
mode = "evolve"
end_time = "{end_time}"
output_every = "0.01 tau_D"
pairs_every = 3
"""


def small_scenario(temperature=0.02, end_time="3 tau_D", zeeman=None) -> str:
    """A dimensionless 9 x 161 evolution with S = 1/2 pairs and e-e scattering (command-line tests);
    with ``zeeman`` (Delta_Z in E0, whole steps of 0.05) the pairs are in a field, beside the free spins
    (T_sg = 0.002: 5.3 % of the impurities are paired)."""
    text = SMALL_SCENARIO.format(temperature=temperature, end_time=end_time)
    field = f"zeeman = {zeeman}\nspin_glass_temperature = 0.002\n"
    return text if zeeman is None else text.replace("exponent = 1.5\n", "exponent = 1.5\n" + field)


# subprocesses read files other tests hold open
ENV = dict(os.environ, HDF5_USE_FILE_LOCKING="FALSE")


SERIES = """
[wire]
material = "Cu"
length = "1.5 um"
diffusion_constant = "0.0145 m^2/s"

[reservoirs]
temperature = "25 mK"
bias = ["0.1 mV", "0.2 mV"]

[electron_electron]
exponent = 1.5
kappa_dimensionless = 0.3

[grid]
n_x = 9
n_energy = 401
half_width = 2.0

[run]
mode = "evolve"
end_time = "0.2 tau_D"
output_every = "0.1 tau_D"
"""


# A Cu wire, 5 um, 100 mK, 0.2 mV: the sections the fits' scenarios complete with their own
CU_FIT_SECTIONS = """
[wire]
material = "Cu"
length = "5 um"
diffusion_constant = "0.0145 m^2/s"

[reservoirs]
temperature = "100 mK"
bias = "0.2 mV"
"""

# That wire with e-e scattering, whose steady state takes ~50 ms: the fits fit it
FIT_WIRE = CU_FIT_SECTIONS + """
[electron_electron]
exponent = 1.5
kappa = "1 1/ns/meV^0.5"

[grid]
n_x = 17
n_energy = 241
half_width = 3.0

[run]
mode = "steady"
"""


def cli(*args, check=False):
    """``hotelectron ARGS`` run in this process (no interpreter start, no imports): its exit status, its
    standard output, and as standard error what a terminal would show (the log lines in the command's
    format, argparse's messages); ``check`` asserts exit status 0. For what needs a real process (signals, a full disk mid-run, the
    ``python -m hotelectron`` entry point) the tests start one."""
    from hotelectron.commands.main import main

    args = [str(a) for a in args]
    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("hotelectron")
    level = logger.level
    logger.setLevel(logging.WARNING if "--quiet" in args or "-q" in args else logging.INFO)
    logger.addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:  # argparse: usage errors and --help
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    result = subprocess.CompletedProcess(["hotelectron", *args], code, out.getvalue(), err.getvalue())
    if check:
        assert code == 0, f"hotelectron {' '.join(args)} exited {code}: {result.stderr}"
    return result


def assert_one_line_refusal(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert str(word) in errors[0], errors[0]


def tiny(path) -> str:
    """A shipped scenario on a small grid for a short time (the first bias of a series)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    data.setdefault("grid", {}).update(n_x=5)  # n_energy: the scenario resolves its temperature
    run = data.setdefault("run", {})
    if run.get("mode", "evolve") != "steady":
        run.update(end_time="0.02 tau_D", output_every="0.01 tau_D")
    for table in data.values():
        for key, value in table.items():
            if isinstance(value, list):
                table[key] = value[0]
    return to_toml(data)


def to_toml(data: dict) -> str:
    return "\n".join(f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in table.items())
                     for name, table in data.items())


def toml_value(value) -> str:
    if isinstance(value, dict):  # an inline table ([run.bump])
        return "{" + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


#: the shipped examples, each a folder with a fit file and the script that makes its synthetic data
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def example_script(name: str):
    """The module ``make_synthetic.py`` of the shipped example ``scenarios/<name>``."""
    spec = importlib.util.spec_from_file_location(f"make_synthetic_{name}", SCENARIOS / name / "make_synthetic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_fresh_generation(script, committed, tmp_path) -> str:
    """The example's script writes the committed CSV ``committed`` byte for byte, and marks it SYNTHETIC in
    its first line; returns its text."""
    fresh = script.write(tmp_path / committed.name)
    text = committed.read_text(encoding="utf-8")
    assert fresh.read_text(encoding="utf-8") == text
    assert "SYNTHETIC" in text.splitlines()[0]
    return text
