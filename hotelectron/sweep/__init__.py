"""Parameter sweeps: a base scenario plus parameter axes, run point by point on Dask.

A sweep file (TOML):

.. code-block:: toml

    base = "../scenarios/default.toml"   # the base scenario, relative to this file
    output = "bias_temperature"          # folder of the point files and summary.csv (optional)

    [axes]                               # Cartesian product; keys are "section.key" of the scenario
    "reservoirs.bias" = ["0.1 mV", "0.2 mV", "0.3 mV"]
    "reservoirs.temperature" = ["50 mK", "100 mK"]

    [[zip]]                              # varied together (equal lengths), times the axes above
    "impurities.concentration" = ["10 ppm", "20 ppm"]
    "impurities.kondo_temperature" = ["40 mK", "40 mK"]

A value given twice is refused: on a plain axis a repeated value, in a zipped group a repeated tuple
(a zipped column may repeat a value, as the Kondo temperature does here).

Any scenario key can be an axis, with the units a scenario accepts there; a key may add an entry the
base lacks. A base whose ``[reservoirs] bias`` is a list (a bias series) has its biases as the first
axis unless the sweep sets ``"reservoirs.bias"`` itself. Each point is the base with its values substituted, validated by the scenario loader and
run into ``point-NNNN.h5`` (the layout of a single run, the point's scenario text verbatim).
``summary.csv`` holds one row per point (:mod:`hotelectron.sweep.summary`).

A scenario whose ``[reservoirs] bias`` is a list is a bias series: ``hotelectron run`` runs it as a
one-axis sweep in its own process (:func:`bias_series`).
"""

from .execute import SweepResult, local_client, run_point, run_sweep
from .figure import plot_summary
from .spec import Point, Sweep, bias_series, load_sweep, parse_sweep
from .summary import read_summary, write_summary

__all__ = ["Point", "Sweep", "SweepResult", "bias_series", "load_sweep", "local_client", "parse_sweep",
           "plot_summary", "read_summary", "run_point", "run_sweep", "write_summary"]
