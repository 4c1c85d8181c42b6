"""Training binary / ternary / integer-weight ReLU networks with PyTorch (the only torch user).

>>> from deepcrn.experiments.train import TrainConfig, train_network   # doctest: +SKIP
"""

from .layers import QuantMLP, quantize
from .loop import TrainConfig, TrainResult, train_network

__all__ = ["QuantMLP", "TrainConfig", "TrainResult", "quantize", "train_network"]
