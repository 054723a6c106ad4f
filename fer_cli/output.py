"""The one place that writes to the terminal.

Data goes to stdout; progress, logs, warnings and errors go to stderr. Records
(one dict per row) render as a rich table on a terminal and as JSON lines when
stdout is piped, unless a format is asked for.
"""

from __future__ import annotations

import contextlib
import csv
import enum
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(str, enum.Enum):
    """How data records are written to stdout."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (people) rather than a pipe or file (programs)."""
    return sys.stdout.isatty()


def resolve_format(fmt: OutputFormat | None) -> OutputFormat:
    """Pick the output format: the one asked for, else a table on a terminal, else JSON lines.

    Args:
        fmt: the format asked for, or `None` to decide from stdout.

    Returns:
        The format to use.
    """
    if fmt is not None:
        return fmt
    return OutputFormat.table if stdout_is_terminal() else OutputFormat.jsonl


def show_progress(quiet: bool = False) -> bool:
    """Whether progress bars are wanted: only on a terminal stderr and when not quiet."""
    if quiet or os.environ.get("FER_NO_PROGRESS"):
        return False
    return stderr.is_terminal


def progress(quiet: bool = False) -> Progress:
    """A rich progress bar on stderr; disabled (but usable) when not wanted.

    Args:
        quiet: turn the bar off. Defaults to `False`.

    Returns:
        A `rich.progress.Progress` to use as a context manager.
    """
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        console=stderr,
        disable=not show_progress(quiet),
        transient=False,
    )


def info(message: str) -> None:
    """A line for people, on stderr (no markup is interpreted in `message`: paths may hold brackets)."""
    stderr.print(escape(message))


def warn(message: str) -> None:
    """A warning line on stderr (no markup is interpreted in `message`)."""
    stderr.print(f"[yellow]Warning:[/yellow] {escape(message)}")


def error(message: str) -> None:
    """A one-line error on stderr (no markup is interpreted in `message`)."""
    stderr.print(f"[red]Error:[/red] {escape(message)}")


def escape(text: str) -> str:
    """`text` with rich's markup escaped, so ``photo[red].png`` shows as it is."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def write_stdout(text: str) -> None:
    """Write data to stdout and flush, so pipelines see each piece as it comes."""
    sys.stdout.write(text)
    sys.stdout.flush()


def print_table(table: Table, to_stderr: bool = False) -> None:
    """Render a rich table to stdout (the human format of data), or to stderr (a summary for people)."""
    (stderr if to_stderr else Console(file=sys.stdout, highlight=False)).print(table)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, (list, dict)):
        return escape(json.dumps(value))
    return "" if value is None else escape(str(value))


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Flatten nested dicts one level (``scores.happy``) for CSV and tables."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v
        else:
            flat[key] = value
    return flat


class RecordWriter:
    """Streams records to stdout in one format.

    JSON lines and CSV rows are written as each record arrives; `json` and
    `table` collect and write on `close`. An empty stream is valid output:
    nothing for JSON lines, a CSV header alone, `[]` for JSON.

    Args:
        fmt: the output format.
        columns: column order for table and CSV; other keys are appended.
        title: table title. Defaults to `None`.
    """

    def __init__(self, fmt: OutputFormat, columns: Sequence[str] = (), title: str | None = None):
        self.fmt = fmt
        self.columns = list(columns)
        self.title = title
        self._rows: list[dict[str, Any]] = []
        self._csv_fields: list[str] | None = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, record: dict[str, Any]) -> None:
        """Write (or collect) one record."""
        if self.fmt is OutputFormat.jsonl:
            write_stdout(json.dumps(record) + "\n")
        elif self.fmt is OutputFormat.csv:
            flat = _flatten(record)
            if self._csv_fields is None:
                self._csv_fields = self._order(flat.keys())
                write_stdout(_csv_line(self._csv_fields))
            write_stdout(_csv_line([_csv_value(flat.get(k)) for k in self._csv_fields]))
        else:
            self._rows.append(record)

    def write_all(self, records: Iterable[dict[str, Any]]) -> None:
        for record in records:
            self.write(record)

    def _order(self, keys: Iterable[str]) -> list[str]:
        keys = list(keys)
        first = [c for c in self.columns if c in keys]
        return first + [k for k in keys if k not in first]

    def close(self) -> None:
        """Write what was collected (JSON array or table); an empty CSV still gets its header, from `columns`."""
        if self.fmt is OutputFormat.csv and self._csv_fields is None and self.columns:
            self._csv_fields = list(self.columns)
            write_stdout(_csv_line(self._csv_fields))
        if self.fmt is OutputFormat.json:
            write_stdout(json.dumps(self._rows, indent=2) + "\n")
        elif self.fmt is OutputFormat.table:
            if not self._rows:
                return
            flat_rows = [_flatten(r) for r in self._rows]
            columns = self._order(dict.fromkeys(k for r in flat_rows for k in r))
            table = Table(title=escape(self.title) if self.title else None)
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in flat_rows:
                table.add_row(*(_cell(row.get(c)) for c in columns))
            print_table(table)
        self._rows = []


def _csv_value(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return value


def _csv_line(values: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(values))
    return buffer.getvalue()


def iter_stdin_lines() -> Iterator[str]:
    """Non-empty, stripped lines of stdin (paths for ``-``)."""
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        if line.strip():
            yield line


@contextlib.contextmanager
def counting_progress(description: str, quiet: bool = False) -> Iterator[Callable[[int], Callable[[int], None]]]:
    """A progress bar for work whose size is known only once it starts.

    Yields:
        ``on_start(total)``, which adds the bar and returns ``advance(n)``.
    """
    bar = progress(quiet)
    with bar:

        def on_start(total: int) -> Callable[[int], None]:
            task = bar.add_task(description, total=total, info="")
            return lambda n: bar.advance(task, n)

        yield on_start
