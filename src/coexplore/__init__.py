"""coexplore: multi-source remote sensing time cubes for the joint exploration
of mineral resources and renewable energy."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coexplore")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
