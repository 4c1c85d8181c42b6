"""The tasks ``deepcrn run`` knows: one registry, read by the command line, the runner and the tests.

Each :class:`Task` names its dataset loader, the options that apply to it and its training
defaults (hidden widths, epochs, batch size, learning rate, input shift, loss, dropout, early
stopping patience).

    >>> sorted(TASKS)
    ['heart', 'iris', 'mnist', 'pattern', 'virus']
    >>> TASKS["virus"].shift, TASKS["iris"].needs_data
    (True, False)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from .datasets import Dataset, load_iris, load_mnist, load_pattern, load_virus


@dataclass(frozen=True)
class Task:
    """A ``deepcrn run`` task: how to load its data and how to train for it by default."""

    name: str
    summary: str
    loader: Callable[..., Dataset]  # loader(seed, **options)
    hidden: tuple[int, ...]
    epochs: int
    batch_size: int
    lr: float
    shift: bool  # input shift by default (inputs with a known lower bound)
    loss: str = "hinge"
    dropout: float = 0.0
    patience: int = 60
    options: frozenset[str] = frozenset()  # task-specific options: image, mnist_size, mnist_train
    needs_data: bool = True  # reads DEEPCRN_DATA (only IRIS ships with a package)

    def load(self, seed: int, **options: Any) -> Dataset:
        """The dataset, with the task-specific ``options`` (others must be None)."""
        given = {k for k, v in options.items() if v is not None}
        stray = sorted(given - self.options)
        if stray:
            flag = "--" + stray[0].replace("_", "-")
            raise DataError(f"{flag} does not apply to the {self.name} task")
        return self.loader(seed, **{k: options[k] for k in given})


def _pattern(seed: int, image: str | Path | None = None) -> Dataset:
    if image is None:
        raise DataError("task 'pattern' needs --image FILE (a black-and-white PNG mask)")
    return load_pattern(image)


TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "iris",
            "IRIS flowers (scikit-learn)",
            lambda seed: load_iris(seed),
            (8,),
            200,
            16,
            0.01,
            False,
            needs_data=False,
        ),
        Task(
            "virus",
            "virus infection from gene expression (GSE73072)",
            lambda seed: load_virus(seed),
            (8,),
            200,
            32,
            0.01,
            True,
        ),
        Task(
            "mnist",
            "MNIST digits (14x14 by default)",
            lambda seed, mnist_size=None, mnist_train=None: load_mnist(seed, mnist_size or 14, mnist_train),
            (256, 128),
            100,
            64,
            0.005,
            True,
            dropout=0.2,
            patience=30,
            options=frozenset({"mnist_size", "mnist_train"}),
        ),
        Task(
            "heart",
            "draw the heart pattern",
            lambda seed: load_pattern(name="heart"),
            (64, 64),
            1000,
            32,
            0.01,
            False,
            patience=300,
        ),
        Task(
            "pattern",
            "draw any black-and-white PNG mask (--image)",
            _pattern,
            (64, 64),
            1000,
            32,
            0.01,
            False,
            patience=300,
            options=frozenset({"image"}),
        ),
    )
}


def get_task(name: str) -> Task:
    """The task called ``name``, or an error listing the tasks."""
    try:
        return TASKS[name]
    except KeyError:
        raise DataError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}") from None
