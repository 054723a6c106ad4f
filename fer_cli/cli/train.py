"""``fer train``: train a model; the run folder's path is the last line on stdout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import DataArg, QuietOpt, SeedOpt
from fer_cli.cli.train_options import (
    BrightnessOpt,
    ClassWeightOpt,
    ContrastOpt,
    CutmixOpt,
    DecayNormsOpt,
    EmaOpt,
    ErasingOpt,
    FlipOpt,
    LabelSmoothingOpt,
    LearningRateOpt,
    MixupOpt,
    OptimizerOpt,
    PatienceOpt,
    PrecisionOpt,
    ReportSplitOpt,
    RotateOpt,
    ScheduleOpt,
    ShuffleBufferOpt,
    TeacherOpt,
    TeacherWeightOpt,
    TensorboardOpt,
    TimeBudgetOpt,
    TranslateOpt,
    WarmupOpt,
    WeightDecayOpt,
    ZoomOpt,
)
from fer_cli.training.strategy import StrategyName

# The parameters of `train` that are not config keys; every other one is, by its own name (see `fer_cli.train`).
NOT_CONFIG_KEYS = frozenset({"data", "config", "resume", "list_models", "quiet"})


@handle_errors
def train(
    ctx: typer.Context,
    data: DataArg = None,
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config; flags given here override it.", show_default=False)] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Architecture from the registry (see `fer train --list-models`).", show_default="seed")] = None,
    epochs: Annotated[Optional[int], typer.Option("--epochs", "-e", help="Epochs to train.", show_default="100")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", "-b", help="Images per batch.", show_default="128")] = None,
    val_split: Annotated[Optional[float], typer.Option("--val-split", help="Share of train held out for validation when the data has no val split.", show_default="0.2")] = None,
    seed: SeedOpt = None,
    runs_dir: Annotated[Optional[Path], typer.Option("--runs-dir", help="Parent folder of run folders.", show_default="runs")] = None,
    name: Annotated[Optional[str], typer.Option("--name", "-n", help="Run folder name; numbered if taken.", show_default="train")] = None,
    strategy: Annotated[Optional[StrategyName], typer.Option("--strategy", help="Where to train (tf.distribute): auto, one-device, mirrored (all local GPUs, else CPUs) or multi-worker (the cluster in TF_CONFIG).", case_sensitive=False, show_default="auto")] = None,
    init_weights: Annotated[Optional[str], typer.Option("--init-weights", help="Start from a trained model: a .keras file, a run folder, or `default` (the shipped model). Same architecture; other classes get a fresh head.", show_default=False)] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue this run folder to its planned epochs.", show_default=False)] = None,
    optimizer: OptimizerOpt = None,
    learning_rate: LearningRateOpt = None,
    weight_decay: WeightDecayOpt = None,
    decay_norms_and_biases: DecayNormsOpt = None,
    schedule: ScheduleOpt = None,
    warmup_epochs: WarmupOpt = None,
    label_smoothing: LabelSmoothingOpt = None,
    class_weight: ClassWeightOpt = None,
    patience: PatienceOpt = None,
    time_budget: TimeBudgetOpt = None,
    ema: EmaOpt = None,
    precision: PrecisionOpt = None,
    report_split: ReportSplitOpt = None,
    tensorboard: TensorboardOpt = None,
    shuffle_buffer: ShuffleBufferOpt = None,
    teacher: TeacherOpt = None,
    teacher_weight: TeacherWeightOpt = None,
    flip: FlipOpt = None,
    translate: TranslateOpt = None,
    rotate: RotateOpt = None,
    zoom: ZoomOpt = None,
    contrast: ContrastOpt = None,
    brightness: BrightnessOpt = None,
    erasing: ErasingOpt = None,
    mixup: MixupOpt = None,
    cutmix: CutmixOpt = None,
    list_models: Annotated[bool, typer.Option("--list-models", help="List the architectures with parameters and FLOPs, then exit.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Train an emotion classifier. Each run gets its own folder with config.yaml, history.csv,
    best.keras, last.keras and classes.json; its path is the last line on stdout.

    Ctrl-C stops after the current epoch is saved; --resume continues it.

    [bold]Examples[/bold]

      fer train images/ --epochs 100

      fer train images/ --model resnet_m --optimizer adamw --lr 0.002 --schedule cosine --flip --erasing 0.4

      fer train images/ --config configs/fast.yaml

      fer train images/ --model resnet_s2 --schedule cosine --epochs 60 --time-budget 30

      run=$(fer train images/ --epochs 5 | tail -1); fer evaluate images/ --model $run

      fer train --resume runs/train

      fer train my_faces/ --model resnet_m --init-weights default --epochs 10

      fer train images/ --model resnet_s --teacher ensemble.keras --teacher-weight 0.7

      TF_CONFIG='{"cluster": {"worker": ["a:2222", "b:2222"]}, "task": {"type": "worker", "index": 0}}' fer train images/ --strategy multi-worker --name exp1
    """
    if list_models:
        _list_models()
        return
    from fer_cli.api import train as run_training

    options = {k: v for k, v in ctx.params.items() if k not in NOT_CONFIG_KEYS}
    result = run_training(data, config, resume=resume, quiet=quiet, **options)
    if not quiet:
        best = f", best val accuracy {result.best:.4f}" if result.best is not None else ""
        how = "stopped early" if result.interrupted else "finished"
        output.info(f"{how} after {result.epochs_done} epochs ({result.seconds:.0f}s){best}")
    output.write_stdout(f"{result.run_dir}\n")


def _list_models() -> None:
    from fer_cli.models import describe_models
    from fer_cli.output import RecordWriter, resolve_format

    with RecordWriter(resolve_format(None), columns=("name", "params", "flops", "description"), title="architectures") as writer:
        writer.write_all(describe_models())
