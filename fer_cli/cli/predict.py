"""``fer predict``: the expression of each face in image files, as table, JSON lines, CSV or JSON."""

from __future__ import annotations

import itertools
from typing import Annotated

import typer

from fer_cli import output
from fer_cli.cli.errors import handle_errors
from fer_cli.cli.options import TtaOpt, FormatOpt, ModelOpt, QuietOpt
from fer_cli.errors import UsageError
from fer_cli.runtimes.tta import TTA


@handle_errors
def predict(
    paths: Annotated[list[str], typer.Argument(help="Image files or folders (searched recursively); - reads paths from stdin, one per line.", show_default=False)],
    model: ModelOpt = None,
    tta: TtaOpt = TTA.none,
    fmt: FormatOpt = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Also list the K most likely classes (0 = off).", min=0)] = 0,
    quiet: QuietOpt = False,
) -> None:
    """Predict the expression of each image. The whole image is taken as the face (48x48 grayscale).

    One record per image: path, face, box, label, score and scores (every class).
    A table on a terminal, JSON lines when piped. Unreadable inputs are reported
    on stderr, the rest still predicted, and the exit code is 1.

    [bold]Examples[/bold]

      fer predict face.png

      fer predict photos/ --format csv > predictions.csv

      find . -name '*.jpg' | fer predict - | jq -r .label
    """
    from fer_cli.inference.inputs import expand_inputs
    from fer_cli.inference.predictor import Failure, Predictor
    from fer_cli.runtimes import open_runtime, resolve_model
    from fer_cli.runtimes.twin import onnx_twin

    if paths.count("-") > 1:
        raise UsageError("- (stdin) may be given only once")
    arguments = itertools.chain.from_iterable(output.iter_stdin_lines() if p == "-" else [p] for p in paths)
    ref = onnx_twin(resolve_model(model), quiet)
    predictor = Predictor(open_runtime(ref, tta.value), ref.class_names, top_k=top_k)
    failures = 0
    fmt = output.resolve_format(fmt)
    columns = ["path", "face", "label", "score"] + (["top_k"] if top_k else [])
    with output.RecordWriter(fmt, columns=columns) as writer:
        for result in predictor.run(expand_inputs(arguments)):
            if isinstance(result, Failure):
                failures += 1
                output.error(f"{result.path}: {result.reason}")
                continue
            if fmt is output.OutputFormat.table:
                result = {k: v for k, v in result.items() if k in columns}
            writer.write(result)
    if failures:
        raise typer.Exit(1)
