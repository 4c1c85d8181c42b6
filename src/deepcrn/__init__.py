"""deepcrn: compile binary/ternary/integer-weight ReLU networks into rate-independent CRNs.

The pipeline, one module or package per stage:
:mod:`deepcrn.network` (the network and its file format) -> :mod:`deepcrn.compile` (network ->
CRN, reduce, input shift) -> :mod:`deepcrn.crn` (the CRN records; :mod:`deepcrn.analysis` what
they do; :mod:`deepcrn.io_map` inputs in, outputs out) -> :mod:`deepcrn.exact` (the equilibrium,
exactly) and :mod:`deepcrn.kinetics` (mass-action ODE) -> :mod:`deepcrn.verify` (proof for
every input) and :mod:`deepcrn.interop` (files in and out). :mod:`deepcrn.experiments` trains,
runs and reports the paper's tasks; its ``train`` package is the only part that needs PyTorch.
"""

from .compile import compile_network, reduce
from .crn import CRN, InputSpec, OutputSpec, Reaction
from .errors import CircuitError, CRNError, DataError, DeepCRNError, NetworkError, ParseError, SimulationError
from .interop.text import format_crn, load_crn, parse_crn, save_crn
from .network import Layer, Network, load_network

__version__ = "0.2.0"

__all__ = [
    "CRN",
    "CRNError",
    "CircuitError",
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
