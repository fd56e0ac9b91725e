"""``hotelectron fit`` with a [kernel] section: the kernel with its band written as JSON, CSV, figures and a
report; refusals (exit 2) naming [kernel] keys."""

import json

import numpy as np
import pytest
from systems import CU_FIT_SECTIONS, assert_one_line_refusal, cli

from hotelectron.experiment.data import MeasuredCurve, write_csv
from hotelectron.experiment.probe import ProbeParameters, probe_conductance
from hotelectron.io.scenario import parse_scenario
from hotelectron.wire.steady import steady_state

WIRE = CU_FIT_SECTIONS + """
[grid]
n_x = 5
n_energy = 241
half_width = 5.0

[run]
mode = "steady"
"""
TRUTH = '\n[electron_electron]\nexponent = 2.0\nkappa = "1 1/ns"\n'
PROBE = ProbeParameters(gap_meV=0.17, dynes_meV=2e-3, temperature_K=0.05)

FIT = """
base = "wire.toml"
data = ["curves.csv"]
sigma = 0.002
output = "out"

[probe]
gap = "0.17 meV"
dynes = "2 ueV"
temperature = "50 mK"

[kernel]
tabulated = "electrons"
nodes = 7
range = ["5 ueV", "0.5 meV"]
start = { kappa = "3 1/ns/meV^-0.25", exponent = 2.25 }
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """wire.toml and curves.csv: R_T dI/dV at U = 0.1, 0.2, 0.4 mV from ElectronElectron with a = 2 and
    kappa = 1/ns, 121 probe biases each, Gaussian noise 0.002 (seeded)."""
    path = tmp_path_factory.mktemp("kernel-fit")
    (path / "wire.toml").write_text(WIRE)
    rng = np.random.default_rng(7)
    curves = []
    for u in (0.1, 0.2, 0.4):
        scenario = parse_scenario((WIRE + TRUTH).replace('bias = "0.2 mV"', f'bias = "{u} mV"'))
        problem = scenario.problem
        f = steady_state(problem, f_tol=1e-12).f[problem.wire.n // 2]
        V = np.linspace(-(0.17 + 1.2 * u), 0.17 + 1.2 * u, 121)
        y = probe_conductance(problem.energy.values * scenario.derived["energy_unit_meV"], f, V, PROBE)
        curves.append(MeasuredCurve(u, None, None, "conductance", V, y + 0.002 * rng.standard_normal(V.size)))
    write_csv(path / "curves.csv", curves, ["synthetic: ElectronElectron a = 2, kappa = 1/ns"])
    return path


def test_a_kernel_fit_writes_the_kernel_with_its_band(folder):
    """The command infers the kernel (GCV by default), writes kernel.json, kernel.csv (units in the
    header, 200 rows), kernel.png, fit.png and report.txt, and the slope of K over its nodes is -2
    within 0.1. The folder held a parametric fit's outputs: refused without --overwrite, removed with it."""
    (folder / "fit.toml").write_text(FIT)
    out = folder / "out"
    out.mkdir()
    (out / "curve-00.h5").write_text("")
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", out), "already holds a fit (curve-00.h5)",
                            "--overwrite")
    result = cli("-q", "fit", folder / "fit.toml", "-o", out, "--overwrite", check=True)
    assert "the kernel itself" in result.stdout and "gcv" in result.stdout
    assert "U = 0.1 mV, T = 100 mK (base), 121 points" in result.stdout  # each curve's U, B, T
    assert {p.name for p in out.iterdir()} == {"kernel.json", "kernel.csv", "kernel.png", "report.txt", "fit.png"}
    data = json.loads((out / "kernel.json").read_text())
    assert data["partner"] == "electrons" and data["unit"] == "1/(ns meV^2)" and data["converged"]
    assert data["regularisation"]["method"] == "gcv"
    assert {"gcv_lambda", "reml_lambda", "l_curve_lambda"} <= set(data["regularisation"])
    energies, log_K = np.array(data["nodes"]["energy_meV"]), np.array(data["nodes"]["log_K"])
    slope = np.polyfit(np.log(energies), log_K, 1)[0]
    assert abs(slope + 2) < 0.1, slope
    header = [line for line in (out / "kernel.csv").read_text().splitlines() if line.startswith("#")]
    assert any("units: E_meV [meV]" in line and "K [1/(ns meV^2)]" in line for line in header)
    table = np.loadtxt(out / "kernel.csv", delimiter=",")
    assert table.shape == (200, 6) and np.all(table[:, 2] <= table[:, 1]) and np.all(table[:, 1] <= table[:, 3])
    for name in ("kernel.png", "fit.png", "report.txt"):
        assert (out / name).stat().st_size > 0


def test_a_kernel_fit_logs_its_iterations_not_each_steady_state(folder):
    """Without -q the log holds a line per Gauss-Newton iteration, as a parametric fit's holds one per
    evaluation; the steady solver's line per solve (dozens to hundreds a fit) is held back."""
    (folder / "fit.toml").write_text(FIT)
    result = cli("fit", folder / "fit.toml", "-o", folder / "logged", check=True)
    assert "hotelectron.experiment.kernel: kernel: lambda" in result.stderr
    assert "steady state of" not in result.stderr
    assert "hotelectron.wire.steady" not in result.stderr


@pytest.mark.parametrize("extra, words", [
    ('\n[parameters."probe.gap"]\nstart = 0.17\n', ["parameters", "[kernel]"]),
    ("\nmax_evaluations = 10\n", ["max_evaluations", "[kernel]"]),
])
def test_a_kernel_fit_holds_no_parameters(folder, extra, words):
    text = FIT.replace('output = "out"\n', 'output = "out"\n' + extra) if "max_" in extra else FIT + extra
    (folder / "bad.toml").write_text(text)
    assert_one_line_refusal(cli("fit", folder / "bad.toml", "-o", folder / "bad"), *words)


@pytest.mark.parametrize("old, new, key", [
    ("nodes = 7", "nodes = 2", "[kernel] nodes"),
    ('tabulated = "electrons"', 'tabulated = "phonons"', "[kernel] tabulated"),
    ('range = ["5 ueV", "0.5 meV"]', 'range = ["5 ueV", "0.5 mK"]', "[kernel] range"),
    ("sigma = 0.002", "sigma = 0.0", "bad.toml: sigma: sigma must give one positive"),  # a top-level key
])
def test_bad_kernel_sections_are_refused_naming_the_key(folder, old, new, key):
    (folder / "bad.toml").write_text(FIT.replace(old, new))
    assert_one_line_refusal(cli("fit", folder / "bad.toml", "-o", folder / "bad"), "bad.toml", key)


@pytest.mark.parametrize("option", [["--workers", "2"], ["--resume"]])
def test_a_kernel_fit_runs_in_this_process_from_its_start(folder, option):
    (folder / "fit.toml").write_text(FIT)
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", folder / "elsewhere", *option), option[0],
                            "does not apply")


def test_a_folder_holding_a_kernel_fit_is_refused_without_overwrite(folder):
    (folder / "fit.toml").write_text(FIT)
    (folder / "held").mkdir(exist_ok=True)
    (folder / "held" / "kernel.json").write_text("{}")
    assert_one_line_refusal(cli("fit", folder / "fit.toml", "-o", folder / "held"), "already holds a [kernel] fit",
                            "--overwrite")


@pytest.mark.parametrize("value, words", [
    # refused while the fit file is read: at lambda = 0 nothing fixes the nodes the data do not see
    ("0.0", ["bad.toml: [kernel] regularisation: 0.0", "a number > 0", "Gauss-Newton diverges"]),
    # refused once the scale of the problem is known, after the power-law stage
    ("1e300", ["bad.toml: [kernel] regularisation = 1e+300 lies outside", "leaves only the power law"]),
])
def test_a_fixed_lambda_of_zero_or_far_out_is_refused_and_leaves_no_folder(folder, value, words):
    (folder / "bad.toml").write_text(FIT.replace("[kernel]\n", f"[kernel]\nregularisation = {value}\n"))
    assert_one_line_refusal(cli("fit", folder / "bad.toml", "-o", folder / "lam"), *words)
    assert not (folder / "lam").exists()


def test_nodes_beyond_every_curves_energy_grid_are_warned_about(folder, caplog):
    """A range typed in MeV for meV puts nodes where no curve's grid reaches: the fit still runs (the
    penalty sets them), but the loader says how many and up to where the data reach."""
    import logging

    from hotelectron.experiment.fitfile import parse_fit_file
    from hotelectron.experiment.kernel import KernelModel

    path = folder / "fit.toml"
    with caplog.at_level(logging.WARNING, logger="hotelectron"):
        shipped = parse_fit_file(FIT, path=path)
        assert not [r for r in caplog.records if "range" in r.getMessage()]
        wide = parse_fit_file(FIT.replace('"0.5 meV"]', '"5 MeV"]'), path=path)
    reach = KernelModel(wide.problem).largest_transfer_meV
    # the energy grid's full width at the widest of the curves' biases, from their scenarios
    widths = []
    for u in (0.1, 0.2, 0.4):
        scenario = parse_scenario(WIRE.replace('bias = "0.2 mV"', f'bias = "{u} mV"'))
        energies = scenario.problem.energy.values * scenario.derived["energy_unit_meV"]
        widths.append(energies[-1] - energies[0])
    assert reach == pytest.approx(max(widths), rel=1e-12)
    assert shipped.problem.energies_meV[-1] < reach
    beyond = sum(E > reach for E in wide.problem.energies_meV)
    assert 0 < beyond < len(wide.problem.energies_meV)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"{path}: [kernel] range: {beyond} of 7 nodes lie above {reach:.3g} meV, the largest energy "
                        "exchange on any curve's energy grid: no data constrain them (the smoothness penalty alone "
                        "sets them); narrow the range"]
