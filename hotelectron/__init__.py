"""hotelectron: energy relaxation of hot electrons in diffusive wires with magnetic-impurity pairs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hotelectron")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
