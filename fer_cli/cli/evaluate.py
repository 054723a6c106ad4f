"""``fer evaluate``: accuracy, macro-F1, per-class scores, the confusion matrix and calibration of a model."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import DataArg, ModelOpt, QuietOpt, TtaOpt
from fer_cli.errors import UsageError
from fer_cli.optional import available, check
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
    from fer_cli.data import load_dataset
    from fer_cli.data.sources import SINGLE_SPLIT
    from fer_cli.evaluation import built_in_temperature, evaluate_split, save_confusion_png
    from fer_cli.runtimes import open_runtime, resolve_model

    if data is None:
        raise UsageError("missing DATA: a data folder, a fer2013.csv or a .npz cache")
    if reliability_png:
        check("matplotlib", feature="--reliability-png")  # before decoding anything
    ref = resolve_model(model)
    if ref.format == "keras" and not available("tensorflow"):
        # The light install: a Keras model's fresh ONNX twin (the shipped model has one) runs without TensorFlow.
        from fer_cli.runtimes.twin import find_twin

        ref = find_twin(ref) or ref
    with output.counting_progress("decoding", quiet) as on_start:
        dataset = load_dataset(data, on_start=on_start, splits=(split,))
    used, chosen = dataset.split_or_only(split)
    if used != split and used != SINGLE_SPLIT and not quiet:
        # Only a folder without split folders stands in silently; a lone train split
        # would otherwise report accuracy on the training data as if it were test.
        output.warn(f"no split {split!r} in {data}; evaluating on its only split, {used!r}")
    runtime = open_runtime(ref, tta.value)
    report = evaluate_split(runtime, ref.class_names, dataset.class_names, chosen.images, chosen.labels)
    report.model, report.data = str(ref.path), str(data)
    report.tta = tta.value
    report.split = used
    report.temperature = built_in_temperature(runtime, ref)
    result = report.to_dict()
    if confusion_png:
        save_confusion_png(result, confusion_png)
        if not quiet:
            output.info(f"confusion matrix drawn to {confusion_png}")
    if reliability_png:
        from fer_cli.calibration.diagram import save_reliability_png

        save_reliability_png(result, reliability_png)
        if not quiet:
            output.info(f"reliability diagram drawn to {reliability_png}")
    if (fmt or (ReportFormat.table if output.stdout_is_terminal() else ReportFormat.json)) is ReportFormat.json:
        output.write_stdout(json.dumps(result) + "\n")
    else:
        _print_report(result)


def _print_report(result: dict) -> None:
    from rich.table import Table

    temperature = f", temperature {result['temperature']:.3f}" if result.get("temperature") is not None else ""
    table = Table(title=f"{result['model']}{temperature} on {result['data']} [{result['split']}], n={result['n']}")
    for column in ("class", "precision", "recall", "f1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for name, scores in result["per_class"].items():
        table.add_row(name, f"{scores['precision']:.3f}", f"{scores['recall']:.3f}", f"{scores['f1']:.3f}", str(scores["support"]))
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
        confusion.add_column(name[:8], justify="right")
    for name, row in zip(result["classes"], result["confusion"]):
        confusion.add_row(name, *(str(v) for v in row))
    output.print_table(confusion)
