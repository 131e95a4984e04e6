"""Models: the classical classifiers (:mod:`.classical`, scikit-learn) and the
deep models, one ``nn.Module`` per file, all called as ``model(x, external)``
with ``x`` ``(N, T, C, H, W)`` and ``external`` ``(N, T, F)``, all returning
``(logits, regression, attention_or_None)`` so one training loop serves all.

``build_model(name, **cfg)`` builds a deep model by registry name
(:mod:`.registry`). The deep-model names load lazily (PEP 562), so that the
classical branch, which imports :mod:`.classical` through this package,
does not load torch (about 250 MB of memory in every such job).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: public name -> submodule that defines it
_LAZY = {
    "CNNLSTM": "cnn_lstm",
    "FrameCNN": "cnn_lstm",
    "joint_loss": "cnn_lstm",
    "CNNOnly": "cnn",
    "LSTMOnly": "lstm",
    "MultimodalDNN": "mdnn",
    "ResNet50": "resnet50",
    "TemporalTransformer": "transformer",
    "MODELS": "registry",
    "build_model": "registry",
    "model_parameters": "registry",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_LAZY)
