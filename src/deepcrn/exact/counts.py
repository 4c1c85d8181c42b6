"""The exact equilibrium with integer molecule counts, and how far rounding can move it.

With ``N`` molecules per unit of concentration every species starts with ``rint(N * amount)``
molecules (:func:`deepcrn.io_map.to_counts`: declared initial amount plus encoded input, summed
first). A non-competitive, feed-forward CRN still ends in one final state whatever the order of
its reactions (DESIGN section 9), computed here without simulation, in exact integer arithmetic,
by two engines that give identical counts:

- ``"fire"``: :meth:`FiringPlan.fire_counts <deepcrn.exact.fire.FiringPlan.fire_counts>` on
  int64 counts; any rate-independent CRN.
- ``"circuit"``: the ReLU circuit derived from the CRN whose initial amounts are replaced by
  their counts. Its weights are the CRN's integer coefficients, so on integer inputs (each
  input's count ``rint(N * (x - offset))``) it computes integer counts exactly. It needs input
  species that declare no initial amount: the count of a rail is then ``max(+-count, 0)`` of its
  input's count, whereas ``rint(N * (init + x))`` cannot be split between a bias and an input.
- ``"auto"``: the circuit where it applies (and its algebra stays exact), else firing.

Outputs are ``(count(O+) - count(O-)) / (N * scale)``.

**Rounding bound** (:func:`rounding_bound`). Rounding moves each initial count by at most 1/2
molecule from ``N`` times its real amount. Push that through the reactions in topological
order: a reaction's extent moves by at most ``max over the species s it net-consumes of (E_s +
k_s - 1) / n_s`` (``E_s`` the bound on ``s`` when the reaction fires, ``k_s`` its reactant
coefficient, ``n_s`` its net consumption: the minimum of numbers each within ``d`` of another
minimum's terms is within ``d`` of it, and flooring a count to whole firings costs at most
``(k_s - 1) / n_s``); each species collects ``|net change| * that`` from every reaction that
makes or consumes it. The bound on ``|output - the real-valued CRN's output|`` is ``(E_{O+} +
E_{O-}) / (N * scale)``, the same for every input, and shrinks as ``1 / N``. A reaction with a
catalyst has no such bound (rounding can make a catalyst vanish): its outputs' bounds are
infinite.

Example::

    >>> import numpy as np
    >>> from deepcrn.interop.text import parse_crn
    >>> crn = parse_crn('''
    ...     input x = X_p - X_n
    ...     output y = Y_p - Y_n
    ...     init B = 0.3
    ...     X_p -> M + Y_p
    ...     M + X_n -> Y_n
    ...     B -> Y_p''')
    >>> x = np.array([[0.26], [-0.33]])
    >>> [count_evaluator(crn, 10, e).evaluate(x).ravel().tolist() for e in ("fire", "circuit")]
    [[0.6, 0.3], [0.6, 0.3]]
    >>> rounding_bound(crn, 10).tolist()  # |0.6 - 0.56| and |0.3 - 0.3| are within it
    [0.15]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..analysis import check_rate_independent, reaction_levels
from ..crn import CRN
from ..errors import CircuitError, SimulationError
from ..io_map import check_molecules_per_unit, count_output_values, input_values, to_counts
from .circuit import ReluCircuit, relu_circuit
from .fire import FiringPlan


@dataclass(frozen=True)
class CountFiring:
    """Integer-count equilibrium by firing (module docstring), built once per CRN and ``N``."""

    plan: FiringPlan
    molecules_per_unit: float

    def output_counts(self, x: np.ndarray | None = None) -> np.ndarray:
        """``count(O+) - count(O-)``, int64 ``(batch, n_outputs)``, for inputs ``(batch, n_inputs)``."""
        out = self.plan.output_map
        assert out is not None
        counts = self.plan.run_counts(x, self.molecules_per_unit)[0]
        return counts[:, out.pos] - counts[:, out.neg]

    def evaluate(self, x: np.ndarray | None = None) -> np.ndarray:
        """Output values ``(batch, n_outputs)``: ``(count(O+) - count(O-)) / (N * scale)``."""
        scale = np.array([o.scale for o in self.plan.crn.outputs])
        return count_output_values(self.output_counts(x), self.molecules_per_unit, scale)


@dataclass(frozen=True)
class CountCircuit:
    """Integer-count equilibrium by the ReLU circuit of the CRN holding counts (module
    docstring), built once per CRN and ``N``."""

    circuit: ReluCircuit
    crn: CRN  # the CRN as given (the circuit's is the one with counts as initial amounts)
    molecules_per_unit: float

    def output_counts(self, x: np.ndarray | None = None) -> np.ndarray:
        """``count(O+) - count(O-)``, int64 ``(batch, n_outputs)``, for inputs ``(batch, n_inputs)``."""
        values = np.zeros((1, len(self.crn.inputs))) if x is None else input_values(self.crn, x)
        labels = [f"input {spec.name}" for spec in self.crn.inputs]
        return self.circuit.evaluate_counts(to_counts(values, self.molecules_per_unit, labels))

    def evaluate(self, x: np.ndarray | None = None) -> np.ndarray:
        """Output values ``(batch, n_outputs)``: ``(count(O+) - count(O-)) / (N * scale)``."""
        return count_output_values(self.output_counts(x), self.molecules_per_unit, self.circuit.scale)


def circuit_obstacle(crn: CRN) -> str | None:
    """Why the circuit cannot evaluate ``crn`` on counts (an input species declaring an initial
    amount), or None."""
    mixed = sorted(crn.input_species & set(crn.init))
    if mixed:
        return (
            f"input species {mixed[0]} also has a declared initial amount, so its count rint(N * (init + input)) "
            "cannot be split between a bias and an input"
        )
    return None


def count_evaluator(crn: CRN, molecules_per_unit: float, engine: str = "auto") -> CountCircuit | CountFiring:
    """The integer-count engine for ``crn`` and ``N = molecules_per_unit`` (module docstring).

    Raises :class:`~deepcrn.errors.CRNError` for a CRN whose final state depends on its rates,
    :class:`~deepcrn.errors.CircuitError` for ``engine="circuit"`` where the circuit does not
    apply, and :class:`~deepcrn.errors.DataError` for a bad ``N`` or counts that would overflow.
    """
    n = check_molecules_per_unit(molecules_per_unit)
    if engine not in ("auto", "circuit", "fire"):
        raise SimulationError(f"unknown exact engine {engine!r}; choose one of auto, circuit, fire")
    if engine == "fire":
        return CountFiring(FiringPlan.for_outputs(crn), n)
    reason = circuit_obstacle(crn)
    if reason is None:
        names = list(crn.init)
        counts = to_counts(np.array([crn.init[s] for s in names]), n, [f"species {s}" for s in names])
        rounded = replace(crn, init=dict(zip(names, counts.astype(np.float64).tolist())))
        try:
            return CountCircuit(relu_circuit(rounded, integer_constants=True), crn, n)
        except CircuitError:
            if engine == "circuit":
                raise
    elif engine == "circuit":
        check_rate_independent(crn)
        raise CircuitError(reason)
    return CountFiring(FiringPlan.for_outputs(crn), n)


def final_counts(crn: CRN, x: np.ndarray | None, molecules_per_unit: float) -> np.ndarray:
    """Final molecule counts of every species, int64 ``(batch, n_species)``, by firing."""
    return FiringPlan(crn).run_counts(x, check_molecules_per_unit(molecules_per_unit))[0]


def extents(crn: CRN, x: np.ndarray | None, molecules_per_unit: float) -> np.ndarray:
    """How many times each reaction fires on the way to the integer-count equilibrium, int64
    ``(batch, n_reactions)``: the same in every stochastic trajectory that completes."""
    return FiringPlan(crn).run_counts(x, check_molecules_per_unit(molecules_per_unit))[1]


def species_error_bounds(crn: CRN) -> np.ndarray:
    """Bound on ``|final count - N * real final amount|`` of every species, in molecules,
    ``(n_species,)``, when each initial count is within 1/2 of ``N`` times its real amount
    (module docstring); independent of ``N`` and of the inputs; inf downstream of catalysts."""
    check_rate_independent(crn)

    def compute() -> np.ndarray:
        reactants, products = crn.stoichiometry
        change = abs(products - reactants).tocsc()  # |net change| (species, reactions)
        err = np.zeros(len(crn.species))
        for name in set(crn.init) | crn.input_species:
            err[crn.index[name]] = 0.5
        for group in reaction_levels(crn):
            moved = np.zeros(len(group))
            for k, i in enumerate(group):
                r = crn.reactions[i]
                net = r.net()
                if any(net.get(name, 0) >= 0 for name, _ in r.reactants):
                    moved[k] = np.inf  # a catalyst: rounding can switch the reaction off
                    continue
                moved[k] = max((err[crn.index[name]] + coef - 1) / -net[name] for name, coef in r.reactants)
            cols = change[:, group]
            finite = np.isfinite(moved)
            err += cols[:, finite] @ moved[finite]
            if not finite.all():
                err[np.unique(cols[:, ~finite].indices)] = np.inf
        return err

    if "count_error_bounds" not in crn.cache:
        crn.cache["count_error_bounds"] = compute()
    return np.array(crn.cache["count_error_bounds"])


def rounding_bound(crn: CRN, molecules_per_unit: float) -> np.ndarray:
    """Per output, a proven bound on ``|output at integer counts - output of the real-valued
    CRN|`` for every input, ``(n_outputs,)``, in output units (module docstring)."""
    n = check_molecules_per_unit(molecules_per_unit)
    err = species_error_bounds(crn)
    return np.array([(err[crn.index[o.pos]] + err[crn.index[o.neg]]) / (n * o.scale) for o in crn.outputs])
