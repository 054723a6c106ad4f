"""``fer evaluate``: accuracy, macro-F1, per-class scores, the confusion matrix and calibration of a model."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import DataArg, ModelOpt, QuietOpt, TtaOpt, announce_export
from fer_cli.errors import UsageError
from fer_cli.optional import check
from fer_cli.views import TTA


class ReportFormat(str, enum.Enum):
    table = "table"
    json = "json"


@handle_errors
def evaluate(
    data: DataArg = None,
    model: ModelOpt = None,
    tta: TtaOpt = TTA.none,
    split: Annotated[str, typer.Option("--split", "-s", help="Split to evaluate on. Data with one split only is evaluated on it, with a warning unless it is a plain folder of class folders.")] = "test",
    fmt: Annotated[Optional[ReportFormat], typer.Option("--format", "-f", help="table or json. Defaults to a table on a terminal, JSON when piped.", case_sensitive=False, show_default=False)] = None,
    confusion_png: Annotated[Optional[Path], typer.Option("--confusion-png", help="Also draw the confusion matrix to this PNG.", show_default=False)] = None,
    reliability_png: Annotated[
        Optional[Path],
        typer.Option("--reliability-png", help="Also draw the reliability diagram (accuracy per confidence bin, ECE) to this PNG; needs matplotlib.", show_default=False),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Measure a model on labelled data: accuracy, macro-F1, per-class precision/recall/F1, the confusion matrix,
    and how well its scores are calibrated (expected calibration error, negative log-likelihood, Brier score).

    [bold]Examples[/bold]

      fer evaluate images/

      fer evaluate images/ --model runs/train --format json | jq .accuracy

      fer evaluate fer2013.csv --split test --confusion-png confusion.png

      fer evaluate images/ --reliability-png reliability.png
    """
    from fer_cli.api import evaluate as run_evaluation

    if data is None:
        raise UsageError("missing DATA: a data folder, a fer2013.csv or a .npz cache")
    if reliability_png:
        check("matplotlib", feature="--reliability-png")  # before decoding anything
    with output.counting_progress("decoding", quiet) as on_start:
        report = run_evaluation(data, model, split=split, tta=tta, on_start=on_start, on_export=announce_export(quiet))
    if not quiet:
        for note in report.notes:
            output.warn(note)
    result = report.to_dict()
    _draw(result, confusion_png, reliability_png, quiet)
    if (fmt or (ReportFormat.table if output.stdout_is_terminal() else ReportFormat.json)) is ReportFormat.json:
        output.write_stdout(json.dumps(result) + "\n")
    else:
        _print_report(result)


def _draw(result: dict, confusion_png: Optional[Path], reliability_png: Optional[Path], quiet: bool) -> None:
    if confusion_png:
        from fer_cli.evaluation import save_confusion_png

        save_confusion_png(result, confusion_png)
        if not quiet:
            output.info(f"confusion matrix drawn to {confusion_png}")
    if reliability_png:
        from fer_cli.calibration.diagram import save_reliability_png

        save_reliability_png(result, reliability_png)
        if not quiet:
            output.info(f"reliability diagram drawn to {reliability_png}")


def _print_report(result: dict) -> None:
    from rich.table import Table

    temperature = f", temperature {result['temperature']:.3f}" if result.get("temperature") is not None else ""
    table = Table(title=output.escape(f"{result['model']}{temperature} on {result['data']} [{result['split']}], n={result['n']}"))
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, scores in result["per_class"].items():
        table.add_row(output.escape(name), f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}", str(scores["support"]))
    table.add_section()
    table.add_row("accuracy", "", "", f"{result['accuracy']:.4f}", str(result["n"]))
    table.add_row("macro-F1", "", "", f"{result['macro_f1']:.4f}", "")
    if result.get("ece") is not None:
        table.add_section()
        table.add_row("ECE (15 bins)", "", "", f"{result['ece']:.4f}", "")
        table.add_row("NLL", "", "", f"{result['nll']:.4f}", "")
        table.add_row("Brier", "", "", f"{result['brier']:.4f}", "")
        table.add_row("mean confidence", "", "", f"{result['mean_confidence']:.4f}", "")
    output.print_table(table)

    confusion = Table(title="confusion matrix (rows: true, columns: predicted)")
    confusion.add_column("")
    for name in result["classes"]:
        confusion.add_column(output.escape(name[:8]), justify="right")
    for name, row in zip(result["classes"], result["confusion"]):
        confusion.add_row(output.escape(name), *(str(v) for v in row))
    output.print_table(confusion)
