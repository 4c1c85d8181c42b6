"""What a stochastic simulation reports for a batch of examples (one trajectory each).

>>> import numpy as np
>>> res = SSAResult(np.array([[0.5]]), np.array([[50]]), np.array([3.2]), np.array([50]), np.array([False]),
...                 100.0, np.ones(2), "levels", 0, t_max=3.2)
>>> res.incomplete, res.report()["per_example"]
([0], [{'example': 1, 'completed': False, 'completion_time': None, 'last_event_time': 3.2, 'events': 50}])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SSAResult:
    """Outcome of :func:`deepcrn.stochastic.simulate`, one trajectory per example.

    ``outputs`` ``(batch, n_outputs)``: ``(count(O+) - count(O-)) / (N * scale)`` when the
    trajectory completed (no reaction can fire), or at ``t_max`` for one that did not;
    ``output_counts`` int64 ``(batch, n_outputs)``: ``count(O+) - count(O-)`` then;
    ``times`` ``(batch,)``: time of the last reaction event (units of 1/k; the completion time when
    ``completed``); ``events`` int64 ``(batch,)``: reaction events fired; ``completed``
    ``(batch,)`` bool; ``trajectories``: per recorded example ``(t, values)``, ``t`` shape
    ``(T,)`` and ``values`` ``(T, n_outputs)``, the outputs at times ``t`` (exact counts at those
    times, from 0 to the last event).
    """

    outputs: np.ndarray
    output_counts: np.ndarray
    times: np.ndarray
    events: np.ndarray
    completed: np.ndarray
    molecules_per_unit: float
    rates: np.ndarray
    engine: str  #: "levels" or "rebop"
    seed: int
    t_max: float | None
    seconds: float = 0.0
    trajectories: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    @property
    def incomplete(self) -> list[int]:
        """Indices of the examples whose trajectory had not completed by ``t_max``."""
        return [int(i) for i in np.flatnonzero(~self.completed)]

    def report(self) -> dict[str, Any]:
        """A JSON-ready summary: settings, then per example its completion time (None when it
        did not complete), time of its last event, number of events and whether it completed."""
        return {
            "method": "ssa",
            "engine": self.engine,
            "molecules_per_unit": self.molecules_per_unit,
            "seed": self.seed,
            "t_max": self.t_max,
            "seconds": self.seconds,
            "examples": len(self.completed),
            "completed": int(self.completed.sum()),
            "per_example": [
                {
                    "example": i + 1,
                    "completed": bool(self.completed[i]),
                    "completion_time": float(self.times[i]) if self.completed[i] else None,
                    "last_event_time": float(self.times[i]),
                    "events": int(self.events[i]),
                }
                for i in range(len(self.completed))
            ],
        }
