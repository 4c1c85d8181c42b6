"""The paper's experiments and beyond: task registry (:mod:`.tasks`), datasets (:mod:`.datasets`),
training (:mod:`.train`, the only PyTorch user), ``deepcrn run`` (:mod:`.run`), rate sweeps on
Dask (:mod:`.sweep`), metrics and figures (:mod:`.metrics`, :mod:`.report`)."""
