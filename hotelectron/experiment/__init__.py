"""Measurement side: what a tunnel probe sees of a simulated distribution, and measured data files."""
