"""One exception family for everything deepcrn reports to its users.

Every error a user can cause (a malformed file, a wrong shape, a CRN whose outcome depends on its
rates) is a :class:`DeepCRNError`. The command line prints its message as one line and exits
with status 2; library users can catch the family or a specific subclass.
"""

from __future__ import annotations


class DeepCRNError(Exception):
    """Base class of every user-facing deepcrn error."""


class NetworkError(DeepCRNError):
    """A network is malformed: shapes, weight set, activations, non-finite numbers."""


class CRNError(DeepCRNError):
    """A CRN is malformed, or lacks a property an operation needs (e.g. non-competition)."""


class ParseError(DeepCRNError):
    """A text or data file could not be read; the message names the file and line."""


class DataError(DeepCRNError):
    """Input data (CSV rows, concentrations, datasets) are unusable."""


class SimulationError(DeepCRNError):
    """A simulation could not be carried out as asked."""


class CircuitError(CRNError):
    """A CRN has reactions outside what :func:`deepcrn.simulate.circuit.relu_circuit` handles."""
