"""Pytest configuration of the cluster tests: registers the ``cluster`` marker."""

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``cluster`` marker, so that ``-m cluster`` selects the Slurm proof."""
    config.addinivalue_line(
        "markers",
        "cluster: builds a single-node Slurm cluster and runs a workflow on it "
        "(root, apt-get; only with COEXPLORE_SLURM_PROOF=1)",
    )
