"""deepcrn: compile binary/ternary/integer-weight ReLU networks into rate-independent CRNs.

The pipeline: :mod:`deepcrn.network` (the network and its file format) ->
:mod:`deepcrn.compile` (network -> CRN, reduce, input shift) -> :mod:`deepcrn.crn` (the CRN,
its checks and :mod:`deepcrn.crn_text` format) -> :mod:`deepcrn.simulate` (exact equilibrium,
mass-action ODE). Training (:mod:`deepcrn.train`) is the only part that needs PyTorch.
"""

from .compile import compile_network, reduce
from .crn import CRN, InputSpec, OutputSpec, Reaction
from .crn_text import format_crn, load_crn, parse_crn, save_crn
from .errors import CRNError, DataError, DeepCRNError, NetworkError, ParseError, SimulationError
from .network import Layer, Network, load_network

__version__ = "0.1.0"

__all__ = [
    "CRN",
    "CRNError",
    "DataError",
    "DeepCRNError",
    "InputSpec",
    "Layer",
    "Network",
    "NetworkError",
    "OutputSpec",
    "ParseError",
    "Reaction",
    "SimulationError",
    "compile_network",
    "format_crn",
    "load_crn",
    "load_network",
    "parse_crn",
    "reduce",
    "save_crn",
    "__version__",
]
