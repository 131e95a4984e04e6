"""The registry of deep models: ``build_model(name, **cfg)`` builds one by name."""

from __future__ import annotations

import inspect

from torch import nn

from ..errors import ConfigError
from .cnn import CNNOnly
from .cnn_lstm import CNNLSTM
from .lstm import LSTMOnly
from .mdnn import MultimodalDNN
from .resnet50 import ResNet50
from .transformer import TemporalTransformer

#: registry name -> model class
MODELS: dict[str, type[nn.Module]] = {
    "cnn_lstm": CNNLSTM,
    "cnn": CNNOnly,
    "lstm": LSTMOnly,
    "transformer": TemporalTransformer,
    "mdnn": MultimodalDNN,
    "resnet50": ResNet50,
}


def model_parameters(name: str) -> list[str]:
    """Names of the constructor arguments of model ``name``.

    Raises
    ------
    ConfigError
        If ``name`` is not registered.
    """
    if name not in MODELS:
        raise ConfigError(f"model {name!r} is unknown; choose one of {sorted(MODELS)}")
    return list(inspect.signature(MODELS[name]).parameters)


def build_model(name: str, **cfg: object) -> nn.Module:
    """Build a registered model.

    Parameters
    ----------
    name
        Registry name: ``cnn_lstm``, ``cnn``, ``lstm``, ``transformer``, ``mdnn``, ``resnet50``.
    **cfg
        Constructor arguments (``in_channels`` is required by all).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ConfigError
        If the name is unknown, ``cfg`` has an argument the model does not take
        or lacks one it needs.

    Examples
    --------
    >>> m = build_model("lstm", in_channels=4, n_external=8, lstm_hidden=16)
    >>> type(m).__name__
    'LSTMOnly'
    """
    accepted = model_parameters(name)
    unknown = sorted(set(cfg) - set(accepted))
    if unknown:
        raise ConfigError(f"model {name!r} does not take {unknown}; its settings are {accepted}")
    signature = inspect.signature(MODELS[name]).parameters
    missing = [k for k, p in signature.items() if p.default is p.empty and k not in cfg]
    if missing:
        raise ConfigError(f"model {name!r} needs {missing}; add them to its settings")
    return MODELS[name](**cfg)
