"""Workflow steps: each reads its inputs, calls the library, writes its
outputs atomically. Rule scripts call exactly one of these, so every step is
reachable from tests without Snakemake."""
