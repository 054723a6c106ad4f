"""``fer predict``: the expression of each face in photos, face crops and videos."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import FormatOpt, ModelOpt, TtaOpt
from fer_cli.errors import UsageError
from fer_cli.views import TTA

if TYPE_CHECKING:
    from fer_cli.runtimes.resolve import ModelRef

COLUMNS = ["path", "frame", "time", "face", "box", "label", "score", "reason"]


@handle_errors
def predict(
    paths: Annotated[list[str], typer.Argument(help="Images, videos or folders (searched recursively); - reads paths from stdin, one per line.", show_default=False)],
    model: ModelOpt = None,
    tta: TtaOpt = TTA.none,
    fmt: FormatOpt = None,
    detect: Annotated[Optional[bool], typer.Option("--detect/--no-detect", help="Force face detection on, or off (the whole picture is the face).", show_default="detect, except in pictures of at most 128 px, taken as face crops")] = None,
    annotate: Annotated[Optional[Path], typer.Option("--annotate", help="Write a copy of each photo with the faces' boxes and labels drawn into this folder.", show_default=False)] = None,
    every: Annotated[Optional[int], typer.Option("--every", help="Videos: predict every N-th frame.", min=1, show_default=False)] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Videos: predict about F frames per second.", min=0.001, show_default=False)] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Also list the K most likely classes (0 = off).", min=0)] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the labels, one per face (- for a picture without a face); no progress.")] = False,
) -> None:
    """Find the faces in each photo or video frame and predict their expressions.

    One record per face: path, face (index), box [x, y, w, h], label, score and
    scores (every class); videos add frame and time. A picture without a face
    gives one record with label null and a reason. Pictures of at most 128 px
    are taken as face crops and used whole. A table on a terminal, JSON lines
    when piped. Bad inputs are reported on stderr, the rest still predicted,
    and the exit code is 1.

    [bold]Examples[/bold]

      fer predict photo.jpg

      fer predict photos/ --annotate annotated/ --format csv > faces.csv

      find . -name '*.jpg' | fer predict - | jq -r .label

      fer predict clip.mp4 --fps 2
    """
    from fer_cli.inference.faces import FaceFinder
    from fer_cli.inference.inputs import expand_inputs
    from fer_cli.inference.predictor import Failure, Predictor
    from fer_cli.runtimes import open_runtime, resolve_model

    if paths.count("-") > 1:
        raise UsageError("- (stdin) may be given only once")
    if every and fps:
        raise UsageError("use --every or --fps, not both")
    arguments = itertools.chain.from_iterable(output.iter_stdin_lines() if p == "-" else [p] for p in paths)
    ref = _fast_model(resolve_model(model), quiet)
    predictor = Predictor(open_runtime(ref, tta.value), ref.class_names, FaceFinder(detect), top_k=top_k)
    annotator = None
    if annotate:
        from fer_cli.inference.annotate import Annotator

        annotator = Annotator(annotate)
    fmt = output.resolve_format(fmt)
    failures = 0
    pending: list[dict] = []  # records of the photo being annotated
    with output.progress(quiet) as bar, output.RecordWriter(fmt, columns=COLUMNS + (["top_k"] if top_k else [])) as writer:

        def on_video(path: str):
            from fer_cli.inference.video import expected_samples

            task = bar.add_task(Path(path).name, total=expected_samples(path, every, fps), info="")
            return lambda: bar.advance(task)

        for result in predictor.run(expand_inputs(arguments), every=every, fps=fps, on_video=on_video):
            if isinstance(result, Failure):
                failures += 1
                output.error(f"{result.path}: {result.reason}")
                continue
            if annotator and "frame" not in result:
                if pending and pending[0]["path"] != result["path"]:
                    annotator.write(pending[0]["path"], pending)
                    pending = []
                pending.append(result)
            if quiet:
                output.write_stdout(f"{result['label'] or '-'}\n")
            elif fmt is output.OutputFormat.table:
                writer.write({k: v for k, v in result.items() if k in COLUMNS or k == "top_k"})
            else:
                writer.write(result)
        if annotator and pending:
            annotator.write(pending[0]["path"], pending)
    if failures:
        raise typer.Exit(1)


def _fast_model(ref: ModelRef, quiet: bool) -> ModelRef:
    """What to run for `ref`: a Keras model's fresh ONNX twin, exported now if missing or stale.

    Exporting imports TensorFlow, once per model version; every later predict
    runs the twin on ONNX Runtime. Other formats run as they are.

    Args:
        ref: the resolved model.
        quiet: no message when a twin is exported.

    Returns:
        The model to open.
    """
    from fer_cli.runtimes.resolve import ModelRef
    from fer_cli.runtimes.twin import find_twin, twin_target

    if ref.format != "keras":
        return ref
    twin = find_twin(ref)
    if twin is not None:
        return twin
    from fer_cli.export import export_model

    target = twin_target(ref)
    if not quiet:
        output.info(f"exporting {ref.path} to ONNX for fast prediction (once): {target}")
    export_model([ref.path], ref.class_names, "onnx", out=target)
    return ModelRef(target, "onnx")
