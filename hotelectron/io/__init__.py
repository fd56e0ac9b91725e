"""Files and runs: scenario files in physical units, HDF5 trajectories, the runner that turns a
scenario into a file, and the figures of a file.

The submodules are imported on use (``hotelectron.io.scenario``, ``.storage``, ``.runner``,
``.plots``), so that the command line pays only for what it runs.
"""
