"""Other formats in and out: the CRN text format (:mod:`.text`), CSV tables of examples
(:mod:`.tables`), SBML (:mod:`.sbml`), Antimony (:mod:`.antimony`), CRNSimulator
(:mod:`.crnsimulator`), ONNX networks (:mod:`.onnx`); :func:`.load.load_any_crn` reads a CRN in
any of them by content, :func:`.export.export_crn` writes one. Nothing here imports torch.
"""

from .export import EXPORT_FORMATS, export_crn
from .load import load_any_crn
from .text import format_crn, load_crn, parse_crn, save_crn

__all__ = ["EXPORT_FORMATS", "export_crn", "format_crn", "load_any_crn", "load_crn", "parse_crn", "save_crn"]
