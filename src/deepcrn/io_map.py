"""Between numbers and molecules: input values -> initial concentrations, final
concentrations -> output values -> classes. The one place these encodings are written.

- An input ``x`` declared dual rail (``InputSpec.neg`` set) puts ``max(x - offset, 0)`` on its
  positive species and ``max(offset - x, 0)`` on its negative one; a shifted single-rail input
  puts ``x - offset`` (which must be >= 0) on its one species. Encoded amounts add to the
  species' declared initial concentration.
- An output is ``(pos - neg) / scale``.
- With molecule counts (DESIGN section 9), ``N`` molecules per unit of concentration: every
  species starts with ``rint(N * amount)`` molecules, ``amount`` being its declared initial
  concentration plus what the inputs encode (summed first; ties round to even, as
  :func:`numpy.rint`), and an output is ``(count(pos) - count(neg)) / (N * scale)``.
- Classes are compared *tie-aware*: two outputs whose values are equal up to rounding are both
  the class of that example (:func:`agreement`), so no comparison depends on the machine's
  summation order.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn("input x = X_p - X_n\\noutput y = (Y_p - Y_n) / 2\\nX_p -> Y_p\\nX_n -> Y_n")
    >>> initial_state(crn, np.array([[-1.5]])).tolist()
    [[0.0, 1.5, 0.0, 0.0]]
    >>> OutputMap.of(crn).values(np.array([[0.0, 0.0, 1.0, 4.0]])).tolist()
    [[-1.5]]
    >>> agreement(np.array([[1.0, 1.0 + 1e-15, 0.0]]), np.array([[1.0, 1.0, 0.0]])).agree.tolist()
    [True]
    >>> to_counts(np.array([[0.125, 1.5, 2.5]]), 2.0).tolist()
    [[0, 3, 5]]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .crn import CRN, MAX_AMOUNT
from .errors import DataError

#: Largest molecule count integer arithmetic may reach: half of int64's range, so that the
#: difference of two counts never overflows (sums are checked before they are formed).
MAX_COUNT = 2**62

#: Two class scores closer than this, relative to the example's largest score (at least 1), are a tie.
TIE_RTOL = 1e-9


def _batch(x: np.ndarray, n_inputs: int) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n_inputs:
        raise DataError(f"inputs have shape {arr.shape}, expected (batch, {n_inputs})")
    return arr


def input_values(crn: CRN, x: np.ndarray, first: int = 1) -> np.ndarray:
    """Each input's value relative to its offset, ``x - offset``, shape ``(batch, n_inputs)``,
    after checking shape, finiteness, range (``|x| <= 1e100``) and lower bounds; shifted
    single-rail inputs are clipped at 0 where they dip below by rounding only. Messages number
    the examples from ``first``."""
    arr = _batch(x, len(crn.inputs))
    bad = ~np.isfinite(arr) | (np.abs(arr) > MAX_AMOUNT)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        value = float(arr[row, col])
        what = "NaN or infinite" if not np.isfinite(value) else f"{value:g}, larger than {MAX_AMOUNT:g} in size"
        raise DataError(
            f"input {crn.inputs[col].name} of example {row + first} is {what}; inputs must be finite numbers of size "
            f"at most {MAX_AMOUNT:g}"
        )
    offsets = np.array([spec.offset for spec in crn.inputs])
    values = arr - offsets if offsets.any() else arr
    single = [col for col, spec in enumerate(crn.inputs) if spec.neg is None]
    if single:
        values = values.copy() if values is arr else values
        for col in single:
            spec = crn.inputs[col]
            tol = 1e-9 * max(1.0, abs(spec.offset))
            below = values[:, col] < -tol
            if below.any():
                row = int(np.argmax(below))
                raise DataError(
                    f"input {spec.name} = {arr[row, col]:g} (example {row + first}) is below its declared "
                    f"lower bound {spec.offset:g}; a shifted single-rail input cannot be negative"
                )
            np.maximum(values[:, col], 0.0, out=values[:, col])
    return values


def input_amounts(crn: CRN, x: np.ndarray) -> dict[str, np.ndarray]:
    """What the inputs ``(batch, n_inputs)`` add to each input species, ``(batch,)`` each,
    after the checks of :func:`input_values`."""
    values = input_values(crn, x)
    amounts: dict[str, np.ndarray] = {}
    for col, spec in enumerate(crn.inputs):
        v = values[:, col]
        if spec.neg is not None:
            amounts[spec.neg] = np.maximum(-v, 0.0)
        amounts[spec.pos] = np.maximum(v, 0.0)
    return amounts


def initial_state(crn: CRN, x: np.ndarray | None = None) -> np.ndarray:
    """Initial concentrations, shape ``(batch, n_species)``, for inputs ``(batch, n_inputs)``:
    each species' declared initial concentration plus what the inputs encode."""
    base = np.zeros(len(crn.species))
    for name, value in crn.init.items():
        base[crn.index[name]] = value
    if x is None:
        if crn.inputs:
            raise DataError(f"this CRN has {len(crn.inputs)} inputs; give input values")
        return base[None, :]
    values = _batch(x, len(crn.inputs))
    amounts = input_amounts(crn, values)
    state = np.repeat(base[None, :], len(values), axis=0)
    for name, amount in amounts.items():
        state[:, crn.index[name]] += amount
    return state


def check_molecules_per_unit(value: float) -> float:
    """``value`` as a float if it is a usable number of molecules per unit of concentration
    (finite and > 0), else a :class:`DataError`."""
    try:
        n = float(value)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"molecules per unit must be a number, got {value!r}") from None
    if not (np.isfinite(n) and n > 0):
        raise DataError(f"molecules per unit must be a finite number > 0, got {value!r}")
    return n


def to_counts(
    amounts: np.ndarray, molecules_per_unit: float, labels: list[str] | None = None, first_example: int = 0
) -> np.ndarray:
    """Molecule counts ``rint(N * amounts)`` as int64, same shape as ``amounts``; a
    :class:`DataError` naming the culprit (``labels``: one per last-axis column, e.g. ``"species
    X0_p"``) when a count would pass :data:`MAX_COUNT`. ``amounts``: concentrations, already
    summed (declared initial concentration plus the inputs' encoding); ``(batch, ...)`` rows are
    examples ``first_example + 1, ...`` in messages."""
    n = check_molecules_per_unit(molecules_per_unit)
    scaled = np.rint(n * np.asarray(amounts, dtype=np.float64))
    bad = ~(scaled <= MAX_COUNT)  # also catches inf and NaN
    if bad.any():
        where = np.argwhere(np.atleast_2d(bad))[0]
        value = float(np.atleast_2d(scaled)[tuple(where)])
        what = labels[int(where[-1])] if labels is not None else "a species"
        example = f" of example {first_example + int(where[0]) + 1}" if np.ndim(amounts) == 2 else ""
        raise DataError(
            f"{n:g} molecules per unit give {what}{example} {value:.3g} molecules, more than the {MAX_COUNT:.3g} "
            "that exact integer (int64) arithmetic can hold; use fewer molecules per unit"
        )
    return scaled.astype(np.int64)


def initial_counts(crn: CRN, x: np.ndarray | None, molecules_per_unit: float) -> np.ndarray:
    """Initial molecule counts, int64 ``(batch, n_species)``: :func:`to_counts` of
    :func:`initial_state`."""
    return to_counts(initial_state(crn, x), molecules_per_unit, [f"species {s}" for s in crn.species])


def closed(crn: CRN, row: np.ndarray) -> CRN:
    """``crn`` with one example's inputs folded into its initial concentrations and the input
    declarations dropped: a closed CRN (nothing left to feed)."""
    state = initial_state(crn, np.asarray(row, dtype=np.float64)[None, :])[0]
    return replace(crn, init=dict(zip(crn.species, state.tolist())), inputs=())


@dataclass(frozen=True)
class OutputMap:
    """Where each output's two species sit in a state array, and its scale."""

    pos: np.ndarray  # (n_outputs,) column of each output's positive species
    neg: np.ndarray  # (n_outputs,) column of its negative species
    scale: np.ndarray  # (n_outputs,)

    @classmethod
    def of(cls, crn: CRN, columns: np.ndarray | None = None) -> OutputMap:
        """For state arrays holding every species in the CRN's order, or only the species
        ``columns`` (indices into ``crn.species``, in that order)."""
        where = crn.index if columns is None else {crn.species[int(s)]: k for k, s in enumerate(columns)}
        try:
            pos = np.array([where[o.pos] for o in crn.outputs], dtype=np.int64)
            neg = np.array([where[o.neg] for o in crn.outputs], dtype=np.int64)
        except KeyError as err:  # pragma: no cover - callers track every output species
            raise DataError(f"output species {err} is not in the state") from None
        return cls(pos, neg, np.array([o.scale for o in crn.outputs]))

    def values(self, state: np.ndarray) -> np.ndarray:
        """Output values ``(batch, n_outputs)`` of a state ``(batch, n_columns)``."""
        st = np.atleast_2d(state)
        return (st[:, self.pos] - st[:, self.neg]) / self.scale

    def values_t(self, block: np.ndarray) -> np.ndarray:
        """Output values ``(n_outputs, batch)`` of a species-major block ``(n_columns, batch)``."""
        return (block[self.pos] - block[self.neg]) / self.scale[:, None]

    def count_values(self, counts: np.ndarray, molecules_per_unit: float) -> np.ndarray:
        """Output values ``(batch, n_outputs)`` of integer counts ``(batch, n_columns)``."""
        st = np.atleast_2d(counts)
        return count_output_values(st[:, self.pos] - st[:, self.neg], molecules_per_unit, self.scale)


def count_output_values(difference: np.ndarray, molecules_per_unit: float, scale: np.ndarray) -> np.ndarray:
    """Output values from ``count(pos) - count(neg)`` (int64, ``(batch, n_outputs)``):
    ``difference / (N * scale)``, one float64 division, so equal counts give equal bits."""
    return np.asarray(difference).astype(np.float64) / (float(molecules_per_unit) * np.asarray(scale))


def output_values(crn: CRN, state: np.ndarray) -> np.ndarray:
    """Output values ``(batch, n_outputs)`` of full states ``(batch, n_species)``."""
    return OutputMap.of(crn).values(state)


def check_finite(values: np.ndarray, what: str) -> np.ndarray:
    """``values``, or a :class:`DataError` if a computation overflowed float64."""
    if not np.all(np.isfinite(values)):
        row = int(np.argwhere(~np.isfinite(np.atleast_2d(values)))[0][0])
        raise DataError(
            f"{what} overflowed float64 at example {row + 1}; the amounts involved are too large to compute with "
            f"(keep inputs and concentrations well below {MAX_AMOUNT:g})"
        )
    return values


# --------------------------------------------------------------------------- classes
def top_classes(scores: np.ndarray, tol: np.ndarray | float) -> np.ndarray:
    """``(batch, n_classes)`` bool: the classes whose score is within ``tol`` of the example's best."""
    s = np.atleast_2d(scores)
    return s >= s.max(axis=1, keepdims=True) - np.reshape(tol, (-1, 1))


@dataclass(frozen=True)
class Agreement:
    """Per example: whether two computations give the same class (tie-aware), and whether the
    reference has a near-tie (more than one class within tolerance of its best)."""

    agree: np.ndarray  # (batch,) bool
    ties: np.ndarray  # (batch,) bool

    @property
    def fraction(self) -> float:
        return float(np.mean(self.agree)) if self.agree.size else 1.0

    @property
    def n_ties(self) -> int:
        return int(np.sum(self.ties))


def agreement(
    reference: np.ndarray, other: np.ndarray, atol: float | np.ndarray = 0.0, rtol: float = TIE_RTOL
) -> Agreement:
    """Tie-aware class agreement of two ``(batch, n_classes)`` score arrays.

    The tolerance of an example is ``atol + rtol * max(1, its largest |score|)`` (``atol``: one
    number, or one per example). The two agree
    when ``other``'s argmax is among ``reference``'s classes within tolerance of its best and
    vice versa; a *tie* is a reference example with more than one such class.
    """
    a, b = np.atleast_2d(reference), np.atleast_2d(other)
    if a.shape != b.shape:
        raise DataError(f"cannot compare classes of arrays of shapes {a.shape} and {b.shape}")
    if a.shape[0] == 0:
        empty = np.zeros(0, dtype=bool)
        return Agreement(empty, empty)
    size = np.maximum(1.0, np.maximum(np.abs(a).max(axis=1), np.abs(b).max(axis=1)))
    tol = atol + rtol * size
    top_a, top_b = top_classes(a, tol), top_classes(b, tol)
    rows = np.arange(len(a))
    agree = top_a[rows, b.argmax(axis=1)] & top_b[rows, a.argmax(axis=1)]
    return Agreement(agree, top_a.sum(axis=1) > 1)
