"""The figure of a sweep's summary table (PNG, matplotlib with the Agg backend, imported only when
drawing).

The figure has two rows. On the left, f(L/2, eps) of the finished points against eps/E0 (eps/eU for a
biased wire, so that a bias series collapses where the distribution scales with eU: the panel says so
when the curves lie on top of each other), one curve per value of the first swept parameter and, when
the other parameters take at most ``MAX_F_PANELS`` combinations, one column per combination (beyond,
one panel holds every point, a colour per value of the first parameter); the
collisionless double step is drawn for reference, and below each panel the difference f(L/2) - double
step shows the relaxation itself, which is often too small to see in f. On the right, against the
first swept parameter with one line per combination of the others (markers alone for a line of
fewer than ``MIN_LINE_POINTS`` points): that relaxation as one number, on an axis from 0,
int |f(L/2) - double step| d eps / E0 (in a sweep over the field, relative to its value at B = 0, so
that the lines of several biases share a scale); the Fano factor (with the cold-electron 1/3 and hot-electron
sqrt(3)/4 lines); T_eff(L/2) (with the Wiedemann-Franz value of each point, drawn as the points are). A panel whose values do
not change along the first parameter (beyond ``ROUND_OFF``: a conserved quantity, such as the current
in units of each point's own E0/eR, or T_eff in a steady state) is not drawn; the title says so. Where
the points are time evolutions, a last panel draws |dW_e/dt| (the electrons' whole energy) and
|dW_p/dt| (the energy handed to the pairs, and in a field to the free spins) against time on a log scale: how the wire settles from the
quench to the steady state.

The lines on the right share one legend below all panels, an entry per combination up to
``MAX_LINES``, beyond grouped by value (:class:`Colours`); colours never repeat. Reference lines are
named in the panel titles and beside the axes, where they cover no data. The energy rates are in W
where every point fixes E0 and the resistance (so that points of different eU compare), and a
curve of |dW_e/dt| ends, as its legend says, where the change of W_e reaches its round-off.

A sweep over the magnetic field, or a bias series in a field, marks on the right-hand panels where the impurity Zeeman energy
equals eU (g mu_B B = eU, from the Zeeman energy each point ran with): with ``field.B`` first, the
field of each bias's line; with the bias first and the field among the other axes, the bias of each
field's line. The field scale of the relaxation is proportional to U.

Where a panel of f holds points whose collisionless double steps differ (several biases: k_B T/eU
differs), each point's double step is drawn in its colour; one black line where they coincide.

The title says what was run (the base scenario as in :func:`hotelectron.io.plots.run_title`, without
the swept keys) and over which values.
"""

from __future__ import annotations

import json
import textwrap
import tomllib
from pathlib import Path

import h5py
import numpy as np
import tomli_w

from ..io.plots import double_step, run_title, save_figure, wiedemann_franz_reference
from ..io.quantities import OBSERVABLES, si_factor
from ..kinetics.grids import EnergyGrid
from ..units import BOLTZMANN_J_PER_K, registry
from .summary import read_summary

__all__ = ["plot_summary", "summary_figure"]

SUMMARY_OBSERVABLES = (("relaxation", "relaxation: int |f(L/2) - double step| d eps / E0"),
                       ("current_middle", "current I(L/2) / (E0 / eR)"), ("fano", "Fano factor S_I / 2eI"),
                       ("t_eff_mid_K", "T_eff(L/2) (K)"), ("t_eff_mid", "T_eff(L/2) / (E0/k_B)"))
MAX_F_PANELS = 3  # columns of f, one per combination of the other parameters; beyond, one panel for all
MAX_LINES = 10  # lines with a colour and legend entry each on the right; beyond, grouped (Colours)
MIN_LINE_POINTS = 4  # a line of fewer points is drawn as markers alone
LINE_STYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P")
SAME_CURVE = 0.01  # curves of f closer than this everywhere look the same in a panel
ROUND_OFF = 1e-4  # relative spread below which a column is a conserved quantity, not a trend
ROUND_OFF_W_E = 1e-12  # differences of W_e between frames below this fraction of W_e: round-off
TITLE_CHARS_PER_INCH = 13  # of a 10 pt title line
PANEL_TITLE_CHARS = 64  # of a 9 pt line across a panel
LEGEND_HEADROOM = 0.3  # of the decades of the energy-rate panel added above its curves
REFERENCE_FANO = ((1.0 / 3.0, "1/3 (cold, no e-e collisions)", "1/3", ":"),
                  (3.0 ** 0.5 / 4.0, "sqrt(3)/4 (hot electrons)", "sqrt(3)/4", "--"))


def varies(values) -> bool:
    """Whether a column's spread exceeds round-off relative to its mean (worth a panel)."""
    values = [float(v) for v in values]
    scale = max(abs(sum(values) / len(values)), 1e-300)
    return (max(values) - min(values)) > ROUND_OFF * scale


def readable(column: str) -> str:
    """A summary column as a label: the scenario key without its section (``reservoirs.bias [mV]`` ->
    ``bias [mV]``)."""
    return column.split(".")[-1]


def _name_and_unit(column: str) -> tuple[str, str | None]:
    """``"field.B [T]"`` -> ``("B", "T")``; ``"reservoirs.bias"`` -> ``("bias", None)``."""
    name, _, unit = readable(column).partition(" [")
    unit = unit.rstrip("]") or None
    return name, None if unit == "1" else unit


def value_text(column: str, value) -> str:
    """One swept value with its unit: ``B = 0.5 T``, ``bias = 0.1 mV``."""
    name, unit = _name_and_unit(column)
    if isinstance(value, float):
        return f"{name} = {value:.4g}" + (f" {unit}" if unit else "")
    return f"{name} = {value}"


def axis_label(column: str) -> str:
    """The first swept parameter as an axis label: ``B (T)``."""
    name, unit = _name_and_unit(column)
    return f"{name} ({unit})" if unit else name


def _group_text(columns, values) -> str:
    return ", ".join(value_text(c, v) for c, v in zip(columns, values, strict=True))


def _sweep_axes(header: list[str]) -> list[tuple[str, str]]:
    """(axis, column to plot it with): the numeric ``"key [unit]"`` column where the axis has units."""
    keys = header[header.index("point") + 1: header.index("status")]
    numeric = {k.split(" [")[0]: k for k in keys if " [" in k}
    return [(k, numeric.get(k, k)) for k in keys if " [" not in k]


def _middle(folder: Path, row) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(energies, f(L/2), double step at L/2)`` of a point's last frame."""
    with h5py.File(folder / row["file"], "r") as fh:
        energies, x, f = fh["grid/energy"][:], fh["grid/x"][:], fh["f"][-1]
    middle = x.size // 2
    return energies, f[middle], double_step(f[0], f[-1], float(x[middle]))


def _title(folder: Path, done: list, axes_cols) -> str:
    """What was run (the base scenario without the swept keys) and the swept values."""
    with h5py.File(folder / done[0]["file"], "r") as fh:
        text, mode = fh.attrs.get("scenario", ""), str(fh.attrs.get("mode", "evolve"))
    text = text.decode() if isinstance(text, bytes) else str(text)
    try:
        data = tomllib.loads(text)
        for key, _ in axes_cols:
            *sections, leaf = key.split(".")
            table = data
            for section in sections:
                table = table.get(section, {})
            table.pop(leaf, None)
        base = run_title(tomli_w.dumps(data), mode)
    except (tomllib.TOMLDecodeError, AttributeError, TypeError):
        base = run_title("", mode)
    swept = []
    for _, col in axes_cols:
        values = sorted({row[col] for row in done}, key=lambda v: (isinstance(v, str), v))
        name, unit = _name_and_unit(col)
        shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in values)
        swept.append(f"{name} = {shown}" + (f" {unit}" if unit else ""))
    return f"{base}\n{'; '.join(swept)}: {len(done)} points"


def _energy_unit_is_bias(folder: Path, row) -> bool:
    with h5py.File(folder / row["file"], "r") as fh:
        return str(fh.attrs.get("energy_unit", "")).startswith("eU")


def _field_scale(row, column: str) -> float | None:
    """Where g mu_B B = eU on the axis ``column`` for a point in a field: along ``field.B`` the field
    whose Zeeman energy is one E0 (eU), along ``reservoirs.bias`` the bias whose eU is the point's
    Zeeman energy; None for another axis or a point without a field."""
    unit = _name_and_unit(column)[1]
    if column.startswith("field.B") and row.get("zeeman_run_E0") and "field_run_T" in row:
        return float(registry().Quantity(row["field_run_T"] / row["zeeman_run_E0"], "T").to(unit or "T").magnitude)
    if column.startswith("reservoirs.bias") and row.get("zeeman_run_meV") and unit:
        reg = registry()  # eU = Delta_Z: U in mV is Delta_Z in meV (a bias given as an energy: in meV)
        zeeman = reg.Quantity(row["zeeman_run_meV"], "meV")
        as_bias = zeeman if zeeman.dimensionality == reg.Quantity(1, unit).dimensionality else reg.Quantity(
            row["zeeman_run_meV"], "mV")
        return float(as_bias.to(unit).magnitude)
    return None


def plot_summary(path, output=None) -> Path:
    """Draw the figure of a sweep's ``summary.csv``; returns the PNG path (default: next to it)."""
    return save_figure(summary_figure(path), path, output)


def summary_figure(path):
    """The matplotlib Figure of a sweep's ``summary.csv`` (not saved)."""
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError:  # e.g. a trajectory saved under a .csv name: say so with the file's name
        msg = f"{path} is not a sweep summary (not UTF-8 text; a trajectory is plotted from its .h5 name)"
        raise ValueError(msg) from None
    if not header or "point" not in header or "status" not in header:
        msg = f"{path} is not a sweep summary (no 'point' and 'status' columns)"
        raise ValueError(msg)
    rows = read_summary(path)
    done = [row for row in rows if row["status"] == "finished"]
    if not done:
        msg = f"{path}: no finished point to plot ({len(rows)} rows)"
        raise ValueError(msg)
    folder = path.parent
    missing = [row for row in done if not (folder / str(row["file"])).is_file()]
    if missing:  # a summary copied away from its folder: name the file, not h5py's errno
        msg = (f"{path}: the point file {folder / str(missing[0]['file'])} of {missing[0]['point']} is missing "
               f"({len(missing)} of {len(done)} finished points); a summary is plotted in the folder of its point files")
        raise ValueError(msg)
    axes_cols = _sweep_axes(header)
    first, rest = axes_cols[0][1], [col for _, col in axes_cols[1:]]
    groups: dict[tuple, list] = {}
    for row in done:
        groups.setdefault(tuple(row[col] for col in rest), []).append(row)
    for members in groups.values():
        members.sort(key=lambda r: r[first])
    middles = {row["point"]: _middle(folder, row) for row in done}
    for row in done:  # the run's own observable (hotelectron.wire.observables.relaxation), in the summary
        if not np.isfinite(row.get("relaxation", np.nan)):  # a point file written before it was recorded
            energies, f, step = middles[row["point"]]
            row["relaxation"] = float(np.sum(np.abs(f - step)) * (energies[1] - energies[0]))
    bias_unit = _energy_unit_is_bias(folder, done[0])

    shown = [(name, label) for name, label in SUMMARY_OBSERVABLES if name in done[0]]
    if _relative_to_zero_field(groups, first):
        shown[0] = ("relaxation_ratio", "relaxation / its value at B = 0")
    if any(name == "t_eff_mid_K" for name, _ in shown):
        shown = [(n, l) for n, l in shown if n != "t_eff_mid"]
    along = [members for members in groups.values() if len(members) > 1] or [done]
    constant = [(n, l) for n, l in shown if not any(varies([r[n] for r in members]) for members in along)]
    shown = [item for item in shown if item not in constant]
    evolving = _evolved(folder / done[0]["file"])
    colours = Colours(done, first, rest, groups)

    if 1 < len(groups) <= MAX_F_PANELS:  # a column per value of the other parameters, a curve per first
        f_groups = [(_group_text(rest, key), members) for key, members in groups.items()]
    else:
        f_groups = [("", done)]
    right = len(shown) + evolving
    columns = len(f_groups) + (right + 1) // 2
    width = 4.6 * columns
    markers_only = all(len(members) < MIN_LINE_POINTS for members in groups.values())
    shared = colours.legend_entries(markers_only)  # the lines of the right-hand panels, shared below them
    legend_rows = -(-len(shared) // _legend_columns(shared, width)) if shared else 0
    fig = plt.figure(figsize=(width, 8.4 + 0.2 * legend_rows), layout="constrained")
    axes = fig.subplots(2, columns, squeeze=False)
    for j, (title, members) in enumerate(f_groups):
        _f_panels(axes[0, j], axes[1, j], members, middles, colours, title, len(groups) > MAX_F_PANELS)
    slots = [axes[i, j] for j in range(len(f_groups), columns) for i in range(2)]
    for ax, (name, label) in zip(slots, shown):
        _observable_panel(ax, folder, name, label, groups, first, colours)
    if evolving:
        _energy_rates(slots[len(shown)], folder, done, axes_cols, colours)
    for ax in slots[right:]:
        ax.set_visible(False)
    field_swept = any(col.startswith("field.B") for _, col in axes_cols)
    if field_swept or (first.startswith("reservoirs.bias") and any(r.get("zeeman_run_meV") for r in done)):
        _mark_field_scale(slots[:len(shown)], groups, first, rest, "eU" if bias_unit else "E0", colours)
    if shared:
        handles, labels = zip(*shared, strict=True)
        fig.legend(handles, labels, loc="outside lower center", ncol=_legend_columns(shared, width), fontsize=8,
                   title=colours.legend_title, title_fontsize=8, frameon=False)
    failed = len(rows) - len(done)
    notes = [_constant_note(name, label, done, first, bias_unit) for name, label in constant]
    title = (_title(folder, done, axes_cols) + (f", {failed} failed" if failed else "")
             + (f"\n(not drawn: {'; '.join(notes)})" if notes else ""))
    fig.suptitle(_wrapped(title, width), fontsize=10)
    return fig


def _wrapped(text: str, width_in: float) -> str:
    """Each line of a title broken at spaces to fit a figure ``width_in`` inches wide (10 pt text)."""
    return "\n".join(textwrap.fill(line, max(40, int(width_in * TITLE_CHARS_PER_INCH)), break_long_words=False)
                     for line in text.split("\n"))


def _legend_columns(entries, width_in: float) -> int:
    """As many legend columns as labels of the longest entry fit across the figure (8 pt text)."""
    longest = max(len(label) for _, label in entries)
    return max(1, min(len(entries), int(width_in / (0.065 * longest + 0.7))))


def _constant_note(name: str, label: str, done: list, first: str, bias_unit: bool) -> str:
    """Why a panel is not drawn. The current is in units of each point's E0/(eR): it grows with the bias,
    but for a biased wire (E0 = eU) it is U/R at every point, the conservation of charge."""
    if name == "current_middle":
        values = [float(r[name]) for r in done]
        mean = sum(values) / len(values)
        if bias_unit and not varies([*values, 1.0]):
            return "current I(L/2) = U/R to round-off at every point"
        return f"current I(L/2) = {mean:.6g} E0/(eR) at every point"
    return f"{label.split(':')[0].split(' (')[0].split(' /')[0]} does not change with {_name_and_unit(first)[0]}"


class Colours:
    """The colours of a sweep's figure, none repeated.

    On the left (f and the energy rates) a colour per value of the first swept parameter. On the
    right a line per combination of the others: with at most ``MAX_LINES`` combinations each has its
    own colour and legend entry; beyond, the lines are grouped: a colour per value of the other
    parameter with the most values (parameters zipped together count as one) and a line style and
    marker per combination of the rest, so the legend has an entry per value, not per combination.
    Colours come from tab10 up to 10, else from a sequential colormap sampled at as many points as
    needed, and never repeat; the 24 styles (4 line styles x 6 markers) repeat only beyond 24
    combinations of the rest.
    """

    def __init__(self, done, first, rest, groups):
        self.first = first
        values = sorted({r[first] for r in done}, key=lambda v: (isinstance(v, str), v))
        self.first_colour = dict(zip(values, _palette(len(values)), strict=True))
        self.rest = rest
        keys = list(groups)
        self.styles, self.entries, self.legend_title = {}, [], None
        if len(keys) <= 1:
            self.styles = {key: {"color": "C0", "ls": "-", "marker": "o"} for key in keys}
        elif len(keys) <= MAX_LINES:
            for key, colour in zip(keys, _palette(len(keys)), strict=True):
                self.styles[key] = {"color": colour, "ls": "-", "marker": "o"}
                self.entries.append(({"color": colour, "ls": "-", "marker": "o"}, _group_text(rest, key)))
        else:
            self._grouped(done, keys)

    def _grouped(self, done, keys):
        factors = [f for f in _factors(done, self.rest) if len({r[f[0]] for r in done}) > 1]  # constants tell nothing
        lead = max(factors, key=lambda f: len({r[f[0]] for r in done}))  # the colours for the most values
        others = [c for f in factors if f is not lead for c in f]
        index = {c: self.rest.index(c) for c in self.rest}
        leads = list(dict.fromkeys(tuple(key[index[c]] for c in lead) for key in keys))
        combos = list(dict.fromkeys(tuple(key[index[c]] for c in others) for key in keys))
        colour = dict(zip(leads, _palette(len(leads)), strict=True))
        styles = [{"ls": LINE_STYLES[(j // len(MARKERS)) % len(LINE_STYLES)], "marker": MARKERS[j % len(MARKERS)]}
                  for j in range(len(combos))]
        for key in keys:
            self.styles[key] = {"color": colour[tuple(key[index[c]] for c in lead)],
                                **styles[combos.index(tuple(key[index[c]] for c in others))]}
        self.entries = [({"color": colour[v], "ls": "-"}, _group_text(lead, v)) for v in leads]
        others = others if len(combos) > 1 else []  # the same for every line: nothing to tell apart
        if others:
            self.entries += [({"color": "0.4", **style}, _group_text(others, v))
                             for v, style in zip(combos, styles, strict=True)]
        self.legend_title = (f"{len(keys)} combinations (more than {MAX_LINES}): a colour per "
                             f"{', '.join(readable(c).split(' [')[0] for c in lead)}"
                             + (f", a line style and marker per {', '.join(readable(c).split(' [')[0] for c in others)}"
                                if others else ""))

    def legend_entries(self, markers_only: bool = False) -> list:
        """(handle, label) of the right-hand panels' lines; ``markers_only`` where none is joined."""
        from matplotlib.lines import Line2D

        return [(Line2D([], [], **{**style, **({"ls": "none"} if markers_only and "marker" in style else {})}), label)
                for style, label in self.entries]


def _palette(n: int) -> list:
    """``n`` colours, none repeated: tab10's up to 10, else viridis sampled at ``n`` points."""
    if n <= 10:
        return [f"C{i}" for i in range(n)]
    from matplotlib import colormaps

    return [colormaps["viridis"](x) for x in np.linspace(0.0, 0.92, n)]


def _factors(rows, columns) -> list[list[str]]:
    """The columns merged where one determines the other and back (a zipped group): each factor a
    list of columns whose values vary together over ``rows``."""
    factors: list[list[str]] = []
    for column in columns:
        for factor in factors:
            pairs = {(r[factor[0]], r[column]) for r in rows}
            if len(pairs) == len({a for a, _ in pairs}) == len({b for _, b in pairs}):
                factor.append(column)
                break
        else:
            factors.append([column])
    return factors


def _relative_to_zero_field(groups, first) -> bool:
    """In a sweep over the field whose every line starts at B = 0, the relaxation relative to it
    (``relaxation_ratio``): lines of very different size then share one scale."""
    if not first.startswith("field.B") or not all(members[0][first] == 0 for members in groups.values()):
        return False
    for members in groups.values():
        zero = members[0]["relaxation"]
        for row in members:
            row["relaxation_ratio"] = row["relaxation"] / zero if zero > 0 else np.nan
    return all(members[0]["relaxation"] > 0 for members in groups.values())


def _f_panels(top, bottom, members, middles, colours, title, grouped):
    """f(L/2, eps) of ``members`` with the collisionless double step (top) and f - double step (bottom),
    a colour per value of the first swept parameter: one black reference where the members' double
    steps coincide, else each member's in its colour. ``grouped``: the panel holds the curves of
    every combination of the other parameters, several per colour."""
    from matplotlib.lines import Line2D

    curves, steps, legend = [], [], {}
    for row in members:
        energies, f, step = middles[row["point"]]
        color = colours.first_colour[row[colours.first]]
        text = value_text(colours.first, row[colours.first])
        line, = top.plot(energies, f, color=color, lw=1.0 if grouped else 1.5, label=text)
        legend.setdefault(text, line)
        bottom.plot(energies, f - step, color=color, lw=1.0 if grouped else 1.5)
        curves.append(f)
        if not any(_same_curve(step, other) for _, other, _, _ in steps):
            steps.append((energies, step, color, row))
    if len(steps) == 1:
        reference, = top.plot(energies, step, "k:", lw=1.2, label="collisionless double step")
        legend["collisionless double step"] = reference
    else:
        for energies, step, color, row in steps:
            top.plot(energies, step, ":", color=color, lw=1.2,
                     label=f"collisionless double step, {value_text(colours.first, row[colours.first])}")
        legend["collisionless double step (dotted)"] = Line2D([], [], color="0.3", ls=":", lw=1.2)
    bottom.axhline(0.0, color="k", ls=":", lw=1.0)
    for ax in (top, bottom):
        ax.set_xlim(max(energies[0], -1.5), min(energies[-1], 1.5))
        ax.set_xlabel("energy eps / E0  (E0 = eU for a biased wire)")
    top.set_ylabel("f(L/2, eps), final frame")
    bottom.set_ylabel("f(L/2, eps) - double step")
    note = ""
    if len(curves) > 1 and all(_same_curve(c, curves[0]) for c in curves):
        bias_series = colours.first.startswith("reservoirs.bias")
        note = ("curves collapse on eps/eU" if bias_series else "curves on top of each other") + f" (differ by < {SAME_CURVE:g})"
    if grouped:
        others = ", ".join(readable(c).split(" [")[0] for c in colours.rest)
        combinations = len({tuple(r[c] for c in colours.rest) for r in members})
        note = "\n".join(t for t in (note, f"a colour per {_name_and_unit(colours.first)[0]}; its curves: "
                                             f"the {combinations} combinations of {others}") if t)
    top.set_title(textwrap.fill("\n".join(t for t in (title, note) if t), PANEL_TITLE_CHARS,
                                replace_whitespace=False, break_long_words=False), fontsize=9)
    # f falls from 1 (left) to 0 (right): the lower left quadrant is empty
    top.legend(list(legend.values()), list(legend), fontsize=7, loc="lower left", ncol=2 if len(legend) > 7 else 1)
    bottom.set_title("the relaxation: f(L/2) minus the collisionless double step", fontsize=8)


def _same_curve(a, b) -> bool:
    """Whether two curves of f on the same grid look the same (differ by less than ``SAME_CURVE``)."""
    return a.shape == b.shape and float(np.max(np.abs(a - b))) < SAME_CURVE


def _observable_panel(ax, folder, name, label, groups, first, colours):
    """One line per combination of the other parameters against the first; markers alone for a line
    of fewer than ``MIN_LINE_POINTS`` points (a straight line between two would suggest a trend
    that was not computed). The relaxation starts at 0, so that its scale shows."""
    for key, members in groups.items():
        style = dict(colours.styles[key])
        if len(members) < MIN_LINE_POINTS:
            style["ls"] = "none"
        ax.plot([r[first] for r in members], [r[name] for r in members], **style,
                label=_group_text(colours.rest, key) or None)
    ax.ticklabel_format(axis="y", useOffset=False)
    if name.startswith("relaxation"):
        top = np.nanmax([r[name] for members in groups.values() for r in members])
        ax.set_ylim(0.0, 1.08 * top if np.isfinite(top) and top > 0 else None)
    if name == "fano":
        import matplotlib.transforms as mtransforms

        beside = mtransforms.blended_transform_factory(ax.transAxes, ax.transData)
        for value, text, short, ls in REFERENCE_FANO:  # named in the right margin, clear of the data
            ax.axhline(value, color="k", ls=ls, lw=1, label=text)
            ax.text(1.01, value, short, transform=beside, fontsize=7, va="center", ha="left")
        _add_title_line(ax, "dotted 1/3: cold electrons (no e-e collisions)")
        _add_title_line(ax, "dashed sqrt(3)/4: hot electrons")
    if name.startswith("t_eff_mid"):  # the equilibrated wire of each point, drawn as its points are
        lines = any(len(members) >= MIN_LINE_POINTS for members in groups.values())
        for j, members in enumerate(groups.values()):
            style = (dict(ls="--", lw=1) if len(members) >= MIN_LINE_POINTS
                     else dict(ls="none", marker="_", ms=16, mew=1.5))
            ax.plot([r[first] for r in members], [_wiedemann_franz(folder, r, name) for r in members],
                    color="k", **style, label=None if j else "Wiedemann-Franz")
        _add_title_line(ax, f"{'dashed' if lines else 'black bars'}: the Wiedemann-Franz value of each point")
    ax.set_xlabel(axis_label(first))
    ax.set_ylabel(label)


def _add_title_line(ax, text: str) -> None:
    """A line of the panel's title saying what a reference line is: the title, unlike a legend, never
    covers the data or the reference lines."""
    ax.set_title("\n".join(t for t in (ax.get_title(), text) if t), fontsize=8)


def _mark_field_scale(axes, groups, first, rest, unit, colours):
    """A dotted line where g mu_B B = E0 (eU) for each group, in its colour: at its field along the
    field axis, at its bias along the bias axis (:func:`_field_scale`)."""
    marked = {}
    for key, members in groups.items():
        scale = next((b for b in (_field_scale(r, first) for r in members) if b is not None), None)
        if scale is None:
            continue
        text = _group_text(rest, key) or (f"B = {members[0]['field_run_T']:.4g} T" if "field_run_T" in members[0] else "")
        for ax in axes:
            low, high = ax.get_xlim()
            if low <= scale <= high:
                line = ax.axvline(scale, color=colours.styles[key]["color"], ls=":", lw=1.2,
                                  label=f"g mu_B B = {unit}" + (f" ({text})" if text else ""))
                ax.set_xlim(low, high)
                marked.setdefault(ax, []).append(line)
    for ax, lines in marked.items():
        _add_title_line(ax, f"dotted: g mu_B B = {unit}, in each line's colour" if len(groups) > 1
                        else f"dotted: {lines[0].get_label()}")


def _wiedemann_franz(folder, row, column: str) -> float:
    """T_WF(L/2) of a point's last frame, in the unit of ``column`` (K for ``t_eff_mid_K``, else E0)."""
    with h5py.File(folder / row["file"], "r") as fh:
        energies, f = fh["grid/energy"][:], fh["f"][-1]
    t_wf = float(wiedemann_franz_reference(EnergyGrid(energies.size, float(energies[1] - energies[0])), f, 0.5))
    return t_wf * row["energy_unit_J"] / BOLTZMANN_J_PER_K if column.endswith("_K") else t_wf


def _evolved(path) -> bool:
    with h5py.File(path, "r") as fh:
        return "observables/dw_e_dt" in fh and fh["time"].shape[0] > 2


def _energy_rates(ax, folder, rows, axes_cols, colours=None):
    """How each point settles: |dW_e/dt| of the electrons' whole energy (Joule heating, heat into the
    reservoirs and the exchange with the impurities; differences of W_e between frames, solid) and
    |dW_p/dt| of the pairs (dashed), against time on a log scale, a colour per value of the first swept
    parameter. The stored collisional dW_e/dt is not drawn: the collisions keep W_e + W_p, so it is
    -dW_p/dt up to the grid edges. The rates are in W where every point fixes E0 and the wire's
    resistance (comparable across points whose E0 = eU differ), else in W/m^3 where every point fixes
    E0, else in units of each point's own E0^2/(e^2 R). A solid curve ends where the difference of W_e
    between frames falls to its round-off (``ROUND_OFF_W_E`` of W_e): beyond, it is not drawn."""
    from matplotlib.lines import Line2D

    derived = []
    for row in rows:
        with h5py.File(folder / row["file"], "r") as fh:
            derived.append(json.loads(fh.attrs["derived"]) if "derived" in fh.attrs else {})
    factors, unit = _rate_unit(derived)
    first = axes_cols[0][1]
    legend, styles, cut = {}, {}, False
    for i, row in enumerate(rows):
        with h5py.File(folder / row["file"], "r") as fh:
            t = fh["time"][:]
            w_e = fh["observables/w_e"][:]
            dw_p = fh["observables/dw_p_dt"][:] if "observables/dw_p_dt" in fh else None
            spins = "observables/dw_spins_dt" in fh  # then dw_p_dt holds pairs and free spins
        color = colours.first_colour[row[first]] if colours is not None else f"C{i % 10}"
        text = value_text(first, row[first])
        rate = np.abs(np.diff(w_e) / np.diff(t)) * factors[i]
        resolved = rate >= ROUND_OFF_W_E * np.max(np.abs(w_e)) * factors[i]
        cut |= bool(np.any(~resolved[np.argmax(resolved):]))  # masked after the curve has begun
        rate[~resolved] = np.nan  # differences of W_e at its round-off: not drawn
        line, = ax.semilogy(0.5 * (t[1:] + t[:-1]), rate, color=color, label=f"{text}: electrons")
        legend.setdefault(text, line)
        if dw_p is not None and np.any(dw_p != 0):
            ax.semilogy(t[1:], abs(dw_p[1:]) * factors[i], color=color, ls="--",
                        label=f"{text}: to the {'pairs and free spins' if spins else 'pairs'}")
            styles.setdefault(f"dashed: to the {'pairs and free spins' if spins else 'pairs'}", "--")
    styles = {"solid: the electrons' whole energy" + (f" (ends at its round-off, {ROUND_OFF_W_E:g} W_e)" if cut else ""):
              "-", **styles}
    legend.update({text: Line2D([], [], color="0.3", ls=ls) for text, ls in styles.items()})
    taus = {d.get("tau_D_s") for d in derived}
    tau = taus.pop() if len(taus) == 1 else None
    ax.set_xlabel("time t / tau_D" + (f"  (tau_D = {tau * 1e9:.3g} ns)" if tau else ""))
    ax.set_ylabel(f"|dW/dt| ({unit})")
    ax.set_title("energy rates from the quench to the steady state", fontsize=9)
    low, high = ax.get_ylim()
    ax.set_ylim(low, high * (high / low) ** LEGEND_HEADROOM)  # room above the curves for the legend
    ax.legend(list(legend.values()), list(legend), fontsize=6, loc="upper right")


def _rate_unit(derived: list) -> tuple[list, str]:
    """The factor that takes each point's energy rate (in its E0^2/(e^2 R)) to the unit shared by all,
    and that unit: W when every point fixes E0 and R, W/m^3 (per unit volume of the wire) when every
    point fixes E0, else 1 and the dimensionless unit."""
    for quantity, unit in ((OBSERVABLES["joule_power"], "W"), (OBSERVABLES["dw_e_dt"], "W/m^3")):
        factors = [si_factor(quantity, d) for d in derived]
        if all(f is not None for f in factors):
            return factors, unit
    same = len({d.get("energy_unit_J") for d in derived}) == 1
    return [1.0] * len(derived), "units of E0^2 / (e^2 R)" if same else "units of each point's own E0^2 / (e^2 R)"
