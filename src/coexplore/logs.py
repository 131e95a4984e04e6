"""Logging set-up for workflow steps."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path


def setup_logging(path: str | Path | None, *, level: int = logging.INFO) -> logging.Logger:
    """Send the ``coexplore`` loggers (and warnings) to ``path`` and stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    warnings.simplefilter("default")
    logger = logging.getLogger("coexplore")

    def _log_uncaught(exc_type, exc, tb):  # the traceback goes to the rule's log too
        logger.critical("uncaught %s: %s", exc_type.__name__, exc, exc_info=(exc_type, exc, tb))

    sys.excepthook = _log_uncaught
    return logger
