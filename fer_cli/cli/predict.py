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
from fer_cli.optional import check
from fer_cli.views import TTA

if TYPE_CHECKING:
    from fer_cli.runtimes.resolve import ModelRef

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
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the labels, one per face (- for a picture without a face); no progress.")] = False,
) -> None:
    """Find the faces in each photo or video frame and predict their expressions.

    One record per face: path, face (index), box [x, y, w, h], label, score and
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
    from fer_cli.inference.faces import FaceFinder
    from fer_cli.inference.follow import follow_faces
    from fer_cli.inference.inputs import expand_inputs
    from fer_cli.inference.predictor import Failure, Predictor, VideoEnd
    from fer_cli.inference.tracking import DEFAULT_MAX_GAP
    from fer_cli.runtimes import open_runtime, resolve_model

    if paths.count("-") > 1:
        raise UsageError("- (stdin) may be given only once")
    if every and fps:
        raise UsageError("use --every or --fps, not both")
    if plot:
        check("matplotlib", feature="fer predict --plot")
    arguments = itertools.chain.from_iterable(output.iter_stdin_lines() if p == "-" else [p] for p in paths)
    ref = _fast_model(resolve_model(model), quiet)
    predictor = Predictor(open_runtime(ref, tta.value), ref.class_names, FaceFinder(detect), top_k=top_k)
    videos = _VideoOutputs(ref.class_names, annotate, plot, summary)
    fmt = output.resolve_format(fmt)
    if summary:
        columns = SUMMARY_COLUMNS
    else:
        columns = COLUMNS + (["top_k"] if top_k else [])
    failures = 0
    with output.progress(quiet) as bar, output.RecordWriter(fmt, columns=columns) as writer:

        def on_video(path: str):
            from fer_cli.inference.video import expected_samples

            task = bar.add_task(Path(path).name, total=expected_samples(path, every, fps), info="")
            return lambda: bar.advance(task)

        def emit(record: dict) -> None:
            if quiet:
                output.write_stdout(f"{record['label'] or '-'}\n")
            elif fmt is output.OutputFormat.table:
                writer.write(_table_row(record, summary, columns))
            else:
                writer.write(_complete(record, ref.class_names, smooth) if fmt is output.OutputFormat.csv else record)

        pictures = predictor.run_pictures(expand_inputs(arguments), every=every, fps=fps, on_video=on_video)
        for result in follow_faces(pictures, max_gap=DEFAULT_MAX_GAP if track_gap is None else track_gap, smooth=smooth):
            if isinstance(result, Failure):
                failures += 1
                output.error(f"{result.path}: {result.reason}")
            elif isinstance(result, VideoEnd):
                try:
                    for row in videos.finish(result.path):
                        emit(row)
                except Exception as exc:  # one video's annotation failing must not stop the batch
                    from fer_cli.imaging import describe_error

                    failures += 1
                    output.error(f"{result.path}: cannot write the annotated video: {describe_error(exc)}")
            else:
                videos.add(result)
                if not summary:
                    for record in result:
                        emit(record)
    if videos.skipped_photos:
        output.warn(f"--summary summarises videos: {videos.skipped_photos} photo(s) left out")
    if plot:
        left_out = videos.draw_plot()
        if left_out:
            output.warn(f"{plot}: drew the {len(videos.timeline) - left_out} longest tracks, {left_out} left out")
    if failures:
        raise typer.Exit(1)


class _VideoOutputs:
    """What a run makes besides the per-frame records: annotated copies, per-track summaries, the timeline."""

    def __init__(self, class_names: tuple[str, ...], annotate: Path | None, plot: Path | None, summary: bool):
        from fer_cli.inference.summary import VideoSummary

        self.class_names = class_names
        self.annotator = None
        if annotate:
            from fer_cli.inference.annotate import Annotator

            self.annotator = Annotator(annotate)
        self.plot = plot
        self.timeline = None
        if plot:
            from fer_cli.inference.timeline_plot import Timeline

            self.timeline = Timeline(class_names)
        self._summary_of = VideoSummary if summary else None
        self._summary = None
        self._video_records: list[dict] = []
        self.skipped_photos = 0

    def add(self, records: list[dict]) -> None:
        """Take the records of one photo or video frame."""
        if "frame" not in records[0]:  # a photo
            if self.annotator:
                self.annotator.write(records[0]["path"], records)
            if self._summary_of:
                self.skipped_photos += 1
            return
        if self.annotator:
            self._video_records.extend(records)
        for record in records:
            if self.timeline is not None:
                self.timeline.add(record)
            if self._summary_of:
                if self._summary is None:
                    self._summary = self._summary_of(record["path"], self.class_names)
                self._summary.add(record)

    def finish(self, path: str) -> list[dict]:
        """End a video: write its annotated copy; return its summary rows (none without --summary)."""
        records, self._video_records = self._video_records, []
        summary, self._summary = self._summary, None
        if self.annotator and records:
            self.annotator.write_video(path, records)
        return summary.rows() if summary else []

    def draw_plot(self) -> int:
        """Write the timeline chart; return how many tracks were left out."""
        return self.timeline.draw(self.plot) if self.timeline is not None else 0


def _table_row(record: dict, summary: bool, columns: list[str]) -> dict:
    """The columns a table shows: the scores by class are left to the machine formats."""
    if summary:
        from fer_cli.inference.summary import describe_shares

        return {**{k: record[k] for k in columns}, "labels": describe_shares(record["shares"])}
    return {k: v for k, v in record.items() if k in columns or k == "top_k"}


def _complete(record: dict, class_names: tuple[str, ...], smooth: float | None) -> dict:
    """A record with every CSV column its kind can have: CSV's header comes from the first record,
    which may be a frame without a face (null scores) or, with --smooth, without raw scores."""
    if "frame" not in record or "shares" in record:
        return record if record.get("scores") is not None else {**record, "scores": dict.fromkeys(class_names)}
    empty = dict.fromkeys(class_names)
    out = {**record, "scores": record["scores"] if record["scores"] is not None else empty}
    if smooth and "raw_scores" not in out:
        out.update(raw_label=None, raw_score=None, raw_scores=empty)
    return out


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
    from fer_cli.export import onnx_twin  # imports TensorFlow only if it has to export

    def announce(target) -> None:
        if not quiet:
            output.info(f"exporting {ref.path} to ONNX for fast prediction (once): {target}")

    return onnx_twin(ref, announce)
