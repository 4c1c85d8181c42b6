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
``Y{l}_{j}_p``/``_n`` (its output); the outputs are ``O{j}_p``/``O{j}_n``. Each layer lists its
``M`` species first, then the ``I`` rails, then the ``Y`` rails, so that every reaction's terms,
kept in species order, read as the construction writes them (``M + I- -> Y-``).

Integer weights ``Z_l / d_l`` compile to coefficients ``|Z_l|`` with biases scaled by
``d_1 * ... * d_l``; each output declares the scale ``d_1 * ... * d_L`` so its value is the
network's own output. Compiled CRNs hold their reactions as arrays
(:class:`~deepcrn.crn.ReactionTable`): a network with millions of weights compiles in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import scipy.sparse as sp

from ._names import unique_identifiers
from ._sparse import product
from .analysis import check_rate_independent
from .crn import CRN, MAX_COEFFICIENT, InputSpec, OutputSpec, ReactionTable
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
    in_names = unique_identifiers(net.input_names, prefix="x")
    out_names = unique_identifiers(net.output_names, prefix="y")
    lows = None if input_lower_bounds is None else check_lower_bounds(input_lower_bounds, net.n_inputs)

    species: list[str] = []
    inputs: list[InputSpec] = []
    if lows is None:
        for i in range(net.n_inputs):
            species += [f"X{i}_p", f"X{i}_n"]
            inputs.append(InputSpec(in_names[i], f"X{i}_p", f"X{i}_n"))
        upstream = np.arange(2 * net.n_inputs)  # species feeding the next layer's fan-outs ...
        sign = np.tile([1, -1], net.n_inputs)  # ... the sign of the value each carries ...
        node = np.repeat(np.arange(net.n_inputs), 2)  # ... and the node whose weights row applies
    else:
        for i in range(net.n_inputs):
            species.append(f"X{i}")
            inputs.append(InputSpec(in_names[i], f"X{i}", None, float(lows[i])))
        upstream, sign, node = np.arange(net.n_inputs), np.ones(net.n_inputs, dtype=np.int64), np.arange(net.n_inputs)

    init: dict[str, float] = {}
    reactant_parts: list[tuple[np.ndarray, ...]] = []  # (reaction, species) entries, coefficient 1
    product_parts: list[tuple[np.ndarray, ...]] = []  # (reaction, species, coefficient)
    n_reactions = 0
    scale = 1.0
    for depth, layer in enumerate(net.layers, start=1):
        scale *= layer.scale
        bias = layer.bias * scale
        if depth == 1 and lows is not None:
            # Summed exactly (math.fsum per node), not by BLAS: a matrix product's rounding
            # depends on memory layout and threads, and the CRN must not depend on the machine.
            shift = np.array([math.fsum(col) for col in (lows[:, None] * layer.weights).T])
            bias = bias + shift * (scale / layer.scale)
        last = depth == len(net.layers)
        n = layer.n_out
        # Species of this layer, in an order that lists every reaction's terms as written:
        # M (hidden layers), then the pre-activation rails I+/I- (O+/O- for the outputs), then Y+/Y-.
        m_base = len(species)
        if not last:
            species += [f"M{depth}_{j}" for j in range(n)]
        pre_base = len(species)
        stem = "O" if last else f"I{depth}_"
        species += [f"{stem}{j}_{rail}" for j in range(n) for rail in ("p", "n")]
        for j in range(n):
            if bias[j] != 0:
                init[species[pre_base + 2 * j + (bias[j] < 0)]] = float(abs(bias[j]))
        # Fan-out: one reaction per upstream species with a non-zero weights row.
        w = layer.weights.astype(np.int64)[node]  # (n_upstream, n_out)
        fires = np.flatnonzero((w != 0).any(axis=1))
        row, col = np.nonzero(w[fires])
        coef = w[fires][row, col]
        rail = (sign[fires][row] * coef < 0).astype(np.int64)
        reactant_parts.append((n_reactions + np.arange(len(fires)), upstream[fires]))
        product_parts.append((n_reactions + row, pre_base + 2 * col + rail, np.abs(coef)))
        n_reactions += len(fires)
        if last:
            continue
        # Each ReLU node: I+ -> M + Y+ and M + I- -> Y-.
        y_base = len(species)
        species += [f"Y{depth}_{j}_{rail}" for j in range(n) for rail in ("p", "n")]
        nodes = np.arange(n)
        first, second = n_reactions + 2 * nodes, n_reactions + 2 * nodes + 1
        reactant_parts += [(first, pre_base + 2 * nodes), (second, m_base + nodes), (second, pre_base + 2 * nodes + 1)]
        ones = np.ones(n, dtype=np.int64)
        product_parts += [
            (first, m_base + nodes, ones),
            (first, y_base + 2 * nodes, ones),
            (second, y_base + 2 * nodes + 1, ones),
        ]
        n_reactions += 2 * n
        upstream, sign, node = y_base + np.arange(2 * n), np.tile([1, -1], n), np.repeat(nodes, 2)

    def matrix(parts: list[tuple[np.ndarray, ...]], with_data: bool) -> sp.csr_matrix:
        rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        data = np.concatenate([p[2] for p in parts]) if with_data and parts else np.ones(len(rows))
        return sp.csr_matrix((data.astype(np.float64), (rows, cols)), shape=(n_reactions, len(species)))

    table = ReactionTable(species, matrix(reactant_parts, False), matrix(product_parts, True))
    outputs = tuple(OutputSpec(out_names[j], f"O{j}_p", f"O{j}_n", scale) for j in range(net.n_outputs))
    crn = CRN(tuple(species), table, init, tuple(inputs), outputs)
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
    n = len(crn.species)
    consumes, produces = (m.T.tocsr() for m in crn.stoichiometry)  # (reactions, species)
    keep = np.zeros(n, dtype=bool)
    keep[[crn.index[s] for s in crn.input_species | crn.output_species]] = True
    # Removable: X -> P with X consumed once (coefficient 1), neither an input nor an output
    # species, and not among its own products.
    counts = np.diff(consumes.indptr)
    first = consumes.indptr[:-1]
    single = np.flatnonzero(counts == 1)
    single = single[consumes.data[first[single]] == 1]
    x = consumes.indices[first[single]]
    marks = sp.csr_matrix((np.ones(len(single)), (single, x)), shape=produces.shape)
    own = np.asarray(produces.multiply(marks).sum(axis=1)).ravel()[single] > 0
    chosen = ~keep[x] & ~own
    removed_rows, r_cols = single[chosen], x[chosen]
    kept = np.setdiff1d(np.arange(len(crn.reactions)), removed_rows)

    is_removable = np.zeros(n, dtype=bool)
    is_removable[r_cols] = True
    keep_mask = sp.diags((~is_removable).astype(np.float64), format="csr")
    # Float64 throughout: integers stay exact below 2**53, and an overflow shows as a value above
    # it (every term is non-negative, so no partial sum exceeds the result: BLAS is exact too).
    a = produces[removed_rows]  # |R| x n: what each removed reaction makes
    a_r = a[:, r_cols]  # |R| x |R|
    term = (a @ keep_mask).tocsr()
    expansion = term.copy()
    for _ in range(len(r_cols)):
        term = product(a_r, term)
        if term.nnz == 0:
            break
        if term.data.max() > MAX_COEFFICIENT:
            raise CRNError("reduction overflows: product coefficients exceed 2**53")
        expansion = expansion + term
    b = produces[kept]
    new_products = (b @ keep_mask + product(b[:, r_cols], expansion)).tocsr()
    init = np.zeros(n)
    for name, value in crn.init.items():
        init[crn.index[name]] = value
    new_init = init * ~is_removable + np.asarray(init[r_cols] @ expansion).ravel()
    if new_products.nnz and new_products.data.max() > MAX_COEFFICIENT:
        raise CRNError("reduction overflows: product coefficients exceed 2**53")

    reactants = consumes[kept]
    consumed = np.diff(reactants.tocsc().indptr) > 0
    live = consumed | keep
    new_products = (new_products @ sp.diags(live.astype(np.float64), format="csr")).tocsr()
    new_products.eliminate_zeros()
    new_init = np.where(live, new_init, 0.0)
    used = keep | consumed | (np.diff(new_products.tocsc().indptr) > 0) | (new_init != 0)
    cols = np.flatnonzero(used)
    species = tuple(crn.species[c] for c in cols)
    rates = _given_rates(crn)[kept]
    table = ReactionTable(species, reactants[:, cols], new_products[:, cols], rates)
    init_map = {crn.species[c]: float(new_init[c]) for c in cols if new_init[c] != 0}
    return CRN(species, table, init_map, crn.inputs, crn.outputs)


def _given_rates(crn: CRN) -> np.ndarray:
    """Each reaction's rate constant as written, NaN where unspecified."""
    if isinstance(crn.reactions, ReactionTable):
        return np.array(crn.reactions.rates)
    return np.array([np.nan if r.rate is None else r.rate for r in crn.reactions])
