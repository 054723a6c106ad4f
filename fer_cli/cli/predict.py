"""``fer predict``: the expression of each face in photos, face crops and videos."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import FormatOpt, ModelOpt, QuietOpt, TtaOpt, announce_export
from fer_cli.errors import UsageError
from fer_cli.optional import check
from fer_cli.views import TTA

COLUMNS = ["path", "frame", "time", "face", "track", "box", "label", "score", "reason"]
SUMMARY_COLUMNS = ["path", "track", "start", "end", "frames", "label", "share"]


@handle_errors
def predict(
    paths: Annotated[list[str], typer.Argument(help="Images, videos or folders (searched recursively); - reads paths from stdin, one per line.", show_default=False)],
    model: ModelOpt = None,
    tta: TtaOpt = TTA.none,
    fmt: FormatOpt = None,
    detect: Annotated[Optional[bool], typer.Option("--detect/--no-detect", help="Force face detection on, or off (the whole picture is the face).", show_default="detect, except in pictures of at most 128 px, taken as face crops")] = None,
    annotate: Annotated[Optional[Path], typer.Option("--annotate", help="Write into this folder a copy of each photo, and of each video (MP4), with the faces' boxes and labels (and track numbers) drawn.", show_default=False)] = None,
    every: Annotated[Optional[int], typer.Option("--every", help="Videos: predict every N-th frame.", min=1, show_default=False)] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Videos: predict about F frames per second.", min=0.001, show_default=False)] = None,
    smooth: Annotated[Optional[float], typer.Option("--smooth", help="Videos: average each track's scores over a window of this many seconds centred on each frame (the raw ones stay, as raw_label, raw_score, raw_scores).", min=0.001, show_default="off")] = None,
    track_gap: Annotated[Optional[float], typer.Option("--track-gap", help="Videos: seconds a track waits for a face it lost before it ends (at least 2 sampled frames).", min=0.0, show_default="1")] = None,
    summary: Annotated[bool, typer.Option("--summary", help="Videos: one record per track (start, end, frames, mean scores, dominant label, share of each label) instead of one per frame.")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Videos: draw each track's scores over time to this PNG (needs matplotlib: pip install 'fer-cli\\[plot]').", show_default=False)] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", help="Also list the K most likely classes (0 = off).", min=0)] = 0,
    quiet: QuietOpt = False,
) -> None:
    """Find the faces in each photo or video frame and predict their expressions.

    One record per face: path, face (index), box \\[x, y, w, h], label, score and
    scores (every class); videos add frame, time and track (the same number for
    one person while in view). A picture without a face gives one record with
    label null and a reason. Pictures of at most 128 px are taken as face crops
    and used whole. A table on a terminal, JSON lines when piped. Bad inputs are
    reported on stderr, the rest still predicted, and the exit code is 1.

    [bold]Examples[/bold]

      fer predict photo.jpg

      fer predict photos/ --annotate annotated/ --format csv > faces.csv

      find . -name '*.jpg' | fer predict - | jq -r .label

      fer predict clip.mp4 --fps 5 --smooth 1 | jq -c '{time, track, label}'

      fer predict clip.mp4 --fps 5 --summary --plot timeline.png
    """
    from fer_cli.api import Recognizer
    from fer_cli.api.files import chain_paths
    from fer_cli.inference.predictor import Failure

    _check_usage(paths, every, fps, plot)
    recognizer = Recognizer(model, detect=detect, tta=tta, top_k=top_k, on_export=announce_export(quiet))
    fmt = output.resolve_format(fmt)
    columns = SUMMARY_COLUMNS if summary else COLUMNS + (["top_k"] if top_k else [])
    render = _renderer(fmt, columns, summary, recognizer.class_names, smooth)
    with output.progress(quiet) as bar, output.RecordWriter(fmt, columns=columns) as writer:
        run = recognizer.predict_files(chain_paths(paths, output.iter_stdin_lines), every=every, fps=fps,
                                       smooth=smooth, track_gap=track_gap, summary=summary, annotate=annotate,
                                       plot=plot, on_video=_video_bar(bar, every, fps))
        for item in run:
            if isinstance(item, Failure):
                output.error(f"{item.path}: {item.reason}")
            else:
                writer.write_all(render(record) for record in item)
    if not quiet:
        for note in run.notes:
            output.warn(note)
    if run.failures:
        raise typer.Exit(1)


def _check_usage(paths: list[str], every: Optional[int], fps: Optional[float], plot: Optional[Path]) -> None:
    if paths.count("-") > 1:
        raise UsageError("- (stdin) may be given only once")
    if every and fps:
        raise UsageError("use --every or --fps, not both")
    if plot:
        check("matplotlib", feature="fer predict --plot")


def _video_bar(bar, every: Optional[int], fps: Optional[float]):
    """A progress bar per video: returns the callback `FileRun` calls for each sampled frame."""

    def on_video(path: str):
        from fer_cli.inference.video import expected_samples

        task = bar.add_task(output.escape(Path(path).name), total=expected_samples(path, every, fps), info="")
        return lambda: bar.advance(task)

    return on_video


def _renderer(fmt: output.OutputFormat, columns: list[str], summary: bool, class_names: tuple[str, ...],
              smooth: Optional[float]) -> Callable[[dict], dict]:
    """Record → what the format writes: a table leaves the scores by class to the machine formats; CSV fills every
    column its kind of record can have, since its header comes from the first record."""
    if fmt is output.OutputFormat.table:
        return lambda record: _table_row(record, summary, columns)
    if fmt is output.OutputFormat.csv:
        return lambda record: _complete(record, class_names, smooth)
    return lambda record: record


def _table_row(record: dict, summary: bool, columns: list[str]) -> dict:
    if summary:
        from fer_cli.inference.summary import describe_shares

        return {**{k: record[k] for k in columns}, "labels": describe_shares(record["shares"])}
    return {k: v for k, v in record.items() if k in columns or k == "top_k"}


def _complete(record: dict[str, Any], class_names: tuple[str, ...], smooth: Optional[float]) -> dict[str, Any]:
    """A record with every CSV column its kind can have: the first record may be a picture without a face
    (null scores), a face (no reason) or, with --smooth, a frame without raw scores."""
    if "shares" in record:  # a summary row
        return record
    empty = dict.fromkeys(class_names)
    out = {**record, "scores": record["scores"] if record["scores"] is not None else empty, "reason": record.get("reason")}
    if smooth and "frame" in record and "raw_scores" not in out:
        out.update(raw_label=None, raw_score=None, raw_scores=empty)
    return out
