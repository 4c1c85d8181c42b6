"""Network -> CRN: the dual-rail construction, reduction and input shift (DESIGN section 2).

Example::

    >>> import numpy as np
    >>> from deepcrn.network import Layer, Network
    >>> from deepcrn.compile import compile_network
    >>> net = Network((Layer(np.array([[1, -1]]), np.array([0.5, 0.0]), "relu"),
    ...                Layer(np.array([[1], [1]]), np.array([0.0]), "linear")), "ternary")
    >>> crn = compile_network(net, form="full")
    >>> print(crn.reactions[0])
    X0_p -> I1_0_p + I1_1_n

Species names are deterministic: inputs ``X{i}_p``/``X{i}_n`` (``X{i}`` when shifted), hidden
node ``j`` of layer ``l`` has ``I{l}_{j}_p``/``_n`` (its pre-activation), ``M{l}_{j}`` and
``Y{l}_{j}_p``/``_n`` (its output); the outputs are ``O{j}_p``/``O{j}_n``.

Integer weights ``Z_l / d_l`` compile to coefficients ``|Z_l|`` with biases scaled by
``d_1 * ... * d_l``; each output declares the scale ``d_1 * ... * d_L`` so its value is the
network's own output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ._names import unique_identifiers
from .analysis import check_rate_independent
from .crn import CRN, InputSpec, OutputSpec, Reaction
from .errors import CRNError
from .network import Network, check_lower_bounds
from .split import split_products

Form = Literal["reduced", "full", "dsd", "dsd-reduced"]
FORMS: tuple[Form, ...] = ("reduced", "full", "dsd", "dsd-reduced")
#: The forms whose reactions have at most two reactants and ``max_products`` products.
DSD_FORMS: tuple[Form, ...] = ("dsd", "dsd-reduced")


def compile_network(
    net: Network,
    form: Form = "reduced",
    input_lower_bounds: Sequence[float] | np.ndarray | None = None,
    max_products: int = 2,
) -> CRN:
    """Compile ``net`` into a non-competitive, feed-forward CRN computing the same outputs.

    ``form="full"`` is the construction itself; ``"reduced"`` applies :func:`reduce`;
    ``"dsd"`` and ``"dsd-reduced"`` split the full or the reduced form's reactions into trees
    of reactions with at most ``max_products`` products (:func:`deepcrn.split.split_products`),
    ready for DNA strand displacement. ``input_lower_bounds`` (one per input) turns on the input
    shift: input ``i`` becomes one species holding ``x_i - lo_i >= 0`` and the shift is folded
    into the first bias.
    """
    if form not in FORMS:
        raise CRNError(f"unknown form {form!r}; choose one of {', '.join(FORMS)}")
    if form in DSD_FORMS:
        base = compile_network(net, "full" if form == "dsd" else "reduced", input_lower_bounds)
        return split_products(base, max_products)
    species: list[str] = []
    init: dict[str, float] = {}
    reactions: list[Reaction] = []
    inputs: list[InputSpec] = []
    in_names = unique_identifiers(net.input_names, prefix="x")
    out_names = unique_identifiers(net.output_names, prefix="y")

    lows = None if input_lower_bounds is None else check_lower_bounds(input_lower_bounds, net.n_inputs)

    # Upstream rails: list of (species, sign) feeding the next layer.
    upstream: list[tuple[str, int]] = []
    for i in range(net.n_inputs):
        if lows is None:
            pos, neg = f"X{i}_p", f"X{i}_n"
            species += [pos, neg]
            upstream += [(pos, 1), (neg, -1)]
            inputs.append(InputSpec(in_names[i], pos, neg))
        else:
            name = f"X{i}"
            species.append(name)
            upstream.append((name, 1))
            inputs.append(InputSpec(in_names[i], name, None, float(lows[i])))

    scale = 1.0
    n_layers = len(net.layers)
    for depth, layer in enumerate(net.layers, start=1):
        scale *= layer.scale
        bias = layer.bias * scale
        if depth == 1 and lows is not None:
            # Summed exactly (math.fsum per node), not by BLAS: a matrix product's rounding
            # depends on memory layout and threads, and the CRN must not depend on the machine.
            shift = np.array([math.fsum(col) for col in (lows[:, None] * layer.weights).T])
            bias = bias + shift * (scale / layer.scale)
        last = depth == n_layers
        pre = [(f"O{j}_p", f"O{j}_n") if last else (f"I{depth}_{j}_p", f"I{depth}_{j}_n") for j in range(layer.n_out)]
        for p, n in pre:
            species += [p, n]
        for j, (p, n) in enumerate(pre):
            if bias[j] > 0:
                init[p] = float(bias[j])
            elif bias[j] < 0:
                init[n] = float(-bias[j])
        # Fan-out: one reaction per upstream species.
        z = layer.weights.astype(np.int64)
        rows = len(upstream) // z.shape[0]  # rails per upstream node: 2 dual, 1 shifted
        for k, (name, sign) in enumerate(upstream):
            row = z[k // rows]
            nz = np.flatnonzero(row)
            if len(nz):
                rails = (sign * row[nz] < 0).astype(np.int64).tolist()
                products = tuple((pre[j][rail], c) for j, rail, c in zip(nz.tolist(), rails, np.abs(row[nz]).tolist()))
                reactions.append(Reaction.trusted(((name, 1),), products))
        if last:
            continue
        upstream = []
        for j, (p, n) in enumerate(pre):
            m, yp, yn = f"M{depth}_{j}", f"Y{depth}_{j}_p", f"Y{depth}_{j}_n"
            species += [m, yp, yn]
            reactions.append(Reaction.trusted(((p, 1),), ((m, 1), (yp, 1))))
            reactions.append(Reaction.trusted(((m, 1), (n, 1)), ((yn, 1),)))
            upstream += [(yp, 1), (yn, -1)]
    outputs = tuple(OutputSpec(out_names[j], f"O{j}_p", f"O{j}_n", scale) for j in range(net.n_outputs))
    crn = CRN(tuple(species), tuple(reactions), init, tuple(inputs), outputs)
    # The construction is non-competitive and feed-forward by design (the tests check it).
    return reduce(crn, check=False) if form == "reduced" else crn


def reduce(crn: CRN, *, check: bool = True) -> CRN:
    """One bimolecular reaction per ReLU node (the paper's Algorithm 2), for any CRN.

    Repeatedly removes a unimolecular reaction ``X -> P`` whose reactant is neither an input nor
    an output species: ``X``'s initial concentration goes to each product (times its
    coefficient) and ``X`` is replaced by ``P`` wherever it is produced (coefficients multiply).
    All removals are done at once by expanding each removable species into the species that
    remain, a nilpotent series over the feed-forward graph. Products that no reaction consumes
    and no output reads are then dropped (they cannot affect any output).

    The CRN must be non-competitive and feed-forward; the result is too and has the same
    outputs at equilibrium. ``check=False`` skips verifying that (for callers that guarantee it).
    """
    if check:
        check_rate_independent(crn)
    keep_names = crn.input_species | {s for o in crn.outputs for s in (o.pos, o.neg)}
    removable: dict[str, int] = {}
    for i, r in enumerate(crn.reactions):
        if len(r.reactants) == 1 and r.reactants[0][1] == 1:
            x = r.reactants[0][0]
            if x not in keep_names and all(p != x for p, _ in r.products):
                removable[x] = i
    idx = crn.index
    n = len(crn.species)
    removed = set(removable.values())
    kept = [i for i in range(len(crn.reactions)) if i not in removed]

    def product_matrix(rows: Sequence[int]) -> sp.csr_matrix:
        terms = [crn.reactions[i].products for i in rows]
        indptr = np.cumsum([0] + [len(t) for t in terms])
        cols = [idx[name] for t in terms for name, _ in t]
        data = [coef for t in terms for _, coef in t]
        return sp.csr_matrix(
            (np.array(data, dtype=np.int64), np.array(cols, dtype=np.int64), indptr), shape=(len(rows), n)
        )

    r_cols = np.array([idx[x] for x in removable], dtype=np.int64)
    is_removable = np.zeros(n, dtype=bool)
    is_removable[r_cols] = True
    keep_mask = sp.diags((~is_removable).astype(np.int64), format="csr", dtype=np.int64)

    a = product_matrix(list(removable.values()))  # |R| x n
    a_r = a[:, r_cols]  # |R| x |R|
    term = (a @ keep_mask).tocsr()
    expansion = term.copy()
    for _ in range(len(removable)):
        term = (a_r @ term).tocsr()
        if term.nnz == 0:
            break
        expansion = expansion + term
    b = product_matrix(kept)
    new_products = (b @ keep_mask + b[:, r_cols] @ expansion).tocsr()
    init = np.zeros(n)
    for name, value in crn.init.items():
        init[idx[name]] = value
    new_init = init * ~is_removable + np.asarray(init[r_cols] @ expansion.astype(np.float64)).ravel()
    if new_products.nnz and new_products.data.max() > 2**53:
        raise CRNError("reduction overflows: product coefficients exceed 2**53")

    consumed = {name for i in kept for name, _ in crn.reactions[i].reactants}
    live = np.array([s in consumed or s in keep_names for s in crn.species])
    new_products = (new_products @ sp.diags(live.astype(np.int64), format="csr", dtype=np.int64)).tocsr()
    new_products.eliminate_zeros()
    new_init = np.where(live, new_init, 0.0)

    new_products.sort_indices()
    names = np.array(crn.species, dtype=object)
    all_names = names[new_products.indices].tolist()
    all_coefs = new_products.data.tolist()
    reactions = []
    for k, i in enumerate(kept):
        lo, hi = new_products.indptr[k], new_products.indptr[k + 1]
        products = tuple(zip(all_names[lo:hi], all_coefs[lo:hi]))
        r = crn.reactions[i]
        reactions.append(Reaction.trusted(r.reactants, products, r.rate))
    used = set(keep_names) | consumed
    used.update(crn.species[c] for c in np.unique(new_products.indices))
    used.update(crn.species[c] for c in np.flatnonzero(new_init))
    species = tuple(s for s in crn.species if s in used)
    init_map = {crn.species[c]: float(new_init[c]) for c in np.flatnonzero(new_init) if crn.species[c] in used}
    return CRN(species, tuple(reactions), init_map, crn.inputs, crn.outputs)
