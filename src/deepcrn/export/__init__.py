"""Exporters: SBML (python-libsbml), Antimony, CRNSimulator (Mathematica) and the text format.

Each exporter takes a :class:`~deepcrn.crn.CRN` and optional input values; imports of torch
are never needed here.
"""

from .common import EXPORT_FORMATS, export_crn

__all__ = ["EXPORT_FORMATS", "export_crn"]
