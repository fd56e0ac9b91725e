"""Benchmarks: the collision engine (:mod:`.collisions`), the wire solver (:mod:`.wire`) and sweeps
on Dask (:mod:`.sweep`). Each figure is measured in one run; speed targets are ratios or limits on
the reference 2-core machine, reported as PASS/MISS, never asserted in the test suite.
"""
