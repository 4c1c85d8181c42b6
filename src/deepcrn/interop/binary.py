"""The compact binary companion of the CRN text format, for large CRNs.

The text format (:mod:`.text`) is the human one; a CRN with millions of product terms (the
reduced form of a 784-1024-1024-10 network writes 63 MB of text) reads back faster from this
companion: a NumPy ``.npz`` archive (a zip of arrays; loaded with ``allow_pickle=False``, so no
code can run) holding

- ``format`` (``"deepcrn-crn"``) and ``version`` (1);
- ``species`` (strings), and ``reactants_indptr/indices/data``, ``products_indptr/indices/data``:
  the coefficient matrices ``(n_reactions, n_species)`` in CSR form (coefficients in the smallest
  unsigned integer type that holds them);
- ``rates`` ``(n_reactions,)``, NaN where unspecified; ``init_index``/``init_value``;
- ``declarations``: JSON text with the inputs ``[name, pos, neg or null, offset]`` and outputs
  ``[name, pos, neg, scale]``.

``deepcrn compile NETWORK.json -o CRN.npz`` writes it, ``deepcrn export CRN.txt --to npz``
converts, and every command that reads a CRN recognises it by content.

    >>> import io
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = A - B\\noutput y = C - D\\ninit A = 1.5\\nA -> 2 C [k=3]\\nB -> D")
    >>> from_bytes(to_bytes(crn), "x.npz") == crn
    True
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import numpy as np
import scipy.sparse as sp

from .._io import atomic_write_bytes
from ..crn import CRN, InputSpec, OutputSpec, ReactionTable
from ..errors import CRNError, ParseError

FORMAT = "deepcrn-crn"
VERSION = 1
MAGIC = b"PK\x03\x04"  # a zip archive


def _table(crn: CRN) -> ReactionTable:
    if isinstance(crn.reactions, ReactionTable):
        return crn.reactions
    reactants, products = crn.stoichiometry
    rates = np.array([np.nan if r.rate is None else r.rate for r in crn.reactions])
    return ReactionTable(crn.species, reactants.T, products.T, rates)


def to_bytes(crn: CRN) -> bytes:
    """The ``.npz`` archive of ``crn`` (module docstring)."""
    table = _table(crn)
    declarations = {
        "inputs": [[s.name, s.pos, s.neg, s.offset] for s in crn.inputs],
        "outputs": [[o.name, o.pos, o.neg, o.scale] for o in crn.outputs],
    }
    init = [(crn.index[name], value) for name, value in crn.init.items()]
    species_array = np.array(crn.species, dtype=str)
    arrays: dict[str, Any] = {
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        "species": species_array,
        "rates": table.rates,
        "init_index": np.array([i for i, _ in init], dtype=np.int64),
        "init_value": np.array([v for _, v in init], dtype=np.float64),
        "declarations": np.array(json.dumps(declarations)),
    }
    for side, matrix in (("reactants", table.reactants), ("products", table.products)):
        arrays[f"{side}_indptr"] = matrix.indptr.astype(np.int64)
        arrays[f"{side}_indices"] = matrix.indices.astype(np.int32 if len(species_array) < 2**31 else np.int64)
        arrays[f"{side}_data"] = _compact(matrix.data)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _compact(coefficients: np.ndarray) -> np.ndarray:
    """Whole-number coefficients in the smallest unsigned type that holds them (float64 beyond
    2**32: exact up to 2**53, the largest coefficient a CRN may have)."""
    top = float(coefficients.max(initial=0.0))
    for kind in (np.uint8, np.uint16, np.uint32):
        if top <= np.iinfo(kind).max:
            return coefficients.astype(kind)
    return coefficients


def save_binary(crn: CRN, path: str | os.PathLike[str]) -> None:
    """Write ``crn`` as a ``.npz`` archive, atomically."""
    atomic_write_bytes(path, to_bytes(crn))


def from_bytes(data: bytes, source: str = "<npz>") -> CRN:
    """Read a CRN from the bytes of its ``.npz`` archive; any problem names ``source``."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ParseError(f"{source}: not a readable deepcrn binary CRN ({err})") from None
    try:
        if str(arrays.get("format")) != FORMAT:
            raise ParseError(f"{source}: 'format' must be {FORMAT!r}, got {arrays.get('format')!r}")
        if int(arrays["version"]) != VERSION:
            raise ParseError(f"{source}: unsupported version {arrays['version']}; this deepcrn reads version 1")
        species = tuple(str(s) for s in arrays["species"].tolist())
        n_species = len(species)

        def matrix(side: str) -> sp.csr_matrix:
            indptr = np.asarray(arrays[f"{side}_indptr"], dtype=np.int64)
            indices = np.asarray(arrays[f"{side}_indices"], dtype=np.int64)
            values = np.asarray(arrays[f"{side}_data"], dtype=np.float64)
            ok = (
                indptr.ndim == indices.ndim == values.ndim == 1
                and len(indptr) >= 1
                and indptr[0] == 0
                and np.all(np.diff(indptr) >= 0)
                and indptr[-1] == len(indices) == len(values)
                and (not len(indices) or (indices.min() >= 0 and indices.max() < n_species))
            )
            if not ok:
                raise ParseError(f"{source}: the {side} arrays do not form a matrix over {n_species} species")
            return sp.csr_matrix((values, indices, indptr), shape=(len(indptr) - 1, n_species))

        table = ReactionTable(species, matrix("reactants"), matrix("products"), np.asarray(arrays["rates"]))
        index, value = np.asarray(arrays["init_index"]), np.asarray(arrays["init_value"], dtype=np.float64)
        if index.shape != value.shape or (len(index) and (index.min() < 0 or index.max() >= n_species)):
            raise ParseError(f"{source}: the initial concentrations name species that do not exist")
        init = {species[int(i)]: float(v) for i, v in zip(index, value)}
        declarations = json.loads(str(arrays["declarations"]))
        inputs = tuple(InputSpec(*entry) for entry in declarations["inputs"])
        outputs = tuple(OutputSpec(*entry) for entry in declarations["outputs"])
        return CRN(species, table, init, inputs, outputs)
    except KeyError as err:
        raise ParseError(f"{source}: the archive lacks {err.args[0]!r}") from None
    except (CRNError, TypeError, ValueError) as err:
        raise ParseError(f"{source}: {err}") from None
