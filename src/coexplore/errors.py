"""Exception classes. Every message names the offending file or value, the
problem, and what to do about it."""

from __future__ import annotations

from pathlib import Path


class CoexploreError(Exception):
    """Base class of all errors raised by coexplore."""


class InputError(CoexploreError):
    """A raw input file is missing, unreadable or malformed.

    Parameters
    ----------
    path
        The offending file.
    problem
        What is wrong with it.
    fix
        What the user should do.
    """

    def __init__(self, path: str | Path, problem: str, fix: str) -> None:
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        super().__init__(f"{path}: {problem}; {fix}")


class MetadataError(InputError):
    """A metadata file (MTL, SAFE annotation) lacks a needed key."""


class GeometryError(InputError):
    """Geometric correction cannot be done (too few GCPs, degenerate fit)."""


class ConfigError(CoexploreError):
    """The configuration is invalid."""


class SceneSkipped(CoexploreError):
    """A scene is valid but unusable (all cloud, outside the study area).

    The workflow records the skip with a warning instead of failing.
    """

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: skipped: {reason}")


class CheckpointMismatch(ConfigError):
    """A training checkpoint was written with other settings than the run's."""


class DataError(CoexploreError):
    """An in-memory array or table lacks what a computation needs
    (a band, a class, a non-empty selection)."""
