"""From a CRN to DNA: domain-level strand-displacement designs, their enumeration and verification.

- :mod:`.model`: domains, complexes (kernel notation), the design record.
- :mod:`.schemes`: translation schemes (formal CRN -> signals and fuels) and the supported class.
- :mod:`.pil`: the design in PIL, the format peppercornenumerator reads.
- :mod:`.enumerate`: peppercornenumerator's condensed reactions between resting complexes.
- :mod:`.verify`: crnverifier's CRN bisimulation, whole or per module with a crosstalk check.
- :mod:`.simulate`: mass-action kinetics of the enumerated reactions.

peppercornenumerator and crnverifier (the ``dsd`` extra) are imported only where used.
"""

from .model import Complex, Design, Domain, Module
from .pil import to_pil
from .schemes import SCHEME_NAMES, Lengths, design_crn, unsupported

__all__ = ["SCHEME_NAMES", "Complex", "Design", "Domain", "Lengths", "Module", "design_crn", "to_pil", "unsupported"]
