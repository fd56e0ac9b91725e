"""The [kernel] section of a fit file: what it sets, and refusals naming ``[kernel] key``."""

import math

import numpy as np
import pytest

from hotelectron.experiment.kernelfile import parse_kernel_section

SECTION = {"tabulated": "electrons", "nodes": 5, "range": ["3 ueV", "0.3 meV"],
           "start": {"kappa": "2 1/ns/meV^0.5", "exponent": 1.5}}


def test_the_section_sets_log_spaced_nodes_and_a_power_law_start():
    settings = parse_kernel_section({**SECTION, "cutoff": "1 ueV", "regularisation": "l-curve", "max_iterations": 7},
                                    "fit.toml")
    np.testing.assert_allclose(settings["energies_meV"], np.geomspace(0.003, 0.3, 5), rtol=1e-12)
    np.testing.assert_allclose(settings["start"], 2.0 * np.geomspace(0.003, 0.3, 5) ** -1.5, rtol=1e-12)
    assert settings["partner"] == "electrons" and settings["regularisation"] == "l-curve"
    assert settings["cutoff_meV"] == pytest.approx(1e-3) and settings["max_iterations"] == 7


def test_kappa_is_converted_to_mev_and_ns_for_any_exponent():
    """kappa = 1 meV/ns with a = 3 is 1e-3 eV/ns = 1e-12 meV/ps: K(1 meV) = 1 1/(ns meV^2) either way."""
    for kappa in ("1 meV/ns", "1e-3 eV/ns", "1e-3 meV/ps"):
        settings = parse_kernel_section({**SECTION, "range": ["1 meV", "4 meV"],
                                         "start": {"kappa": kappa, "exponent": 3.0}}, "fit.toml")
        assert settings["start"][0] == pytest.approx(1.0, rel=1e-12)
    settings = parse_kernel_section({**SECTION, "start": {"kappa": "1 1/ns", "exponent": 2}, "regularisation": 0.5},
                                    "fit.toml")
    assert settings["start"][-1] == pytest.approx(0.3**-2, rel=1e-12) and settings["regularisation"] == 0.5
    assert not math.isnan(settings["start"][0])


@pytest.mark.parametrize("change, key", [
    ({"tabulated": "phonons"}, "tabulated"),
    ({"nodes": 2}, "nodes"),
    ({"nodes": 5.0}, "nodes"),
    ({"range": ["0.3 meV", "3 ueV"]}, "range"),
    ({"range": ["3 ueV"]}, "range"),
    ({"range": ["3 K", "0.3 meV"]}, "range"),
    ({"start": {"kappa": "2 1/ns/meV^0.5"}}, "start"),
    ({"start": {"kappa": "2 1/ns", "exponent": 1.5}}, "start"),
    ({"start": {"kappa": "2 1/ns/meV^0.5", "exponent": 5}}, "start"),
    ({"regularisation": "morozov"}, "regularisation"),
    ({"regularisation": -1.0}, "regularisation"),
    ({"regularisation": 0.0}, "regularisation"),
    ({"range": ["3 ueV", "1e300 meV"]}, "range: the start power law"),
    ({"cutoff": "1 meV"}, "cutoff"),
    ({"max_iterations": 0}, "max_iterations"),
    ({"smoothness": 1.0}, "smoothness"),
])
def test_bad_sections_are_refused_naming_the_key(change, key):
    with pytest.raises(ValueError, match=rf"fit.toml: \[kernel\] {key}"):
        parse_kernel_section({**SECTION, **change}, "fit.toml")


def test_missing_keys_are_named():
    for key in ("tabulated", "nodes", "range", "start"):
        section = {k: v for k, v in SECTION.items() if k != key}
        with pytest.raises(ValueError, match=rf"\[kernel\] {key}: required"):
            parse_kernel_section(section, "fit.toml")


@pytest.mark.parametrize("change, says", [
    ({"regularisation": 0.0}, "at 0 nothing fixes the nodes the data do not see"),
    ({"range": ["3 ueV", "1e300 meV"]}, "0 1/(ns meV^2) at the node"),
    ({"range": [3, "0.3 meV"]}, "[kernel] range = 3: the unit is missing; expected an energy"),
    ({"cutoff": "4 mK"}, "[kernel] cutoff = '4 mK': has dimension [temperature]"),
])
def test_refusals_say_why_in_one_plain_line(change, says):
    """The key once (not "[kernel] range: [kernel] range = ..."), numbers as numbers (not np.float64(...))."""
    with pytest.raises(ValueError) as caught:
        parse_kernel_section({**SECTION, **change}, "fit.toml")
    message = str(caught.value)
    assert says in message and "np.float64" not in message and "\n" not in message, message
    assert message.count("[kernel]") == 1, message
