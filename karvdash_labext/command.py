"""A karvdashctl command as a row of data (:class:`Command`), its arguments (:func:`arg`) and
the tables it prints (:func:`table`): what :mod:`karvdash_labext.cli` makes its parser and
its dispatch from, and what the rows of every group of commands are written with."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Argument = tuple[tuple[str, ...], dict[str, Any]]


def arg(*flags: str, **options: Any) -> Argument:
    """An argument of a command, as ``ArgumentParser.add_argument`` takes it."""
    return flags, options


@dataclass(frozen=True)
class Command:
    """One karvdashctl command.

    ``inputs`` turns the parsed arguments into the keyword arguments of the client's
    ``operation``; ``--user`` is passed on as ``user`` when ``for_user``. A command made of
    more than its one operation (a transfer, several files) has ``run``, called as
    ``run(client, **inputs)`` instead; ``operation`` still names the API operation it
    stands for. ``result`` may replace the answer (e.g. an operation that answers
    nothing); ``show`` prints it for people, and ``--json`` prints it as JSON unless
    ``text``.
    """

    name: str
    help: str
    description: str
    show: Callable[[Any], str]
    arguments: tuple[Argument, ...] = ()
    inputs: Callable[[argparse.Namespace], dict[str, Any]] = lambda args: {}
    operation: str = ""  # the client's method; "" means the one named like the command
    for_user: bool = True
    text: bool = False
    result: Callable[[argparse.Namespace, Any], Any] | None = None
    run: Callable[..., Any] | None = None

    def __post_init__(self):
        if not self.operation:
            object.__setattr__(self, "operation", self.name)


def table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    cells = [[title for _, title in columns]]
    for row in rows:
        cells.append(["" if row.get(key) is None else str(row.get(key)) for key, _ in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells
    )
