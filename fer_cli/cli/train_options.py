"""The training recipe as ``fer train`` flags: one flag per config key, grouped in the help.

Every flag defaults to `None` (not given), so a value set in the YAML config
survives unless the flag is passed; the defaults shown are the config's.
Values are checked in one place, `TrainConfig.validate`, so flags and YAML
fail with the same message.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from fer_cli.config import CLASS_WEIGHTS, OPTIMIZERS, PRECISION_SETTINGS, SCHEDULES

RECIPE = "Recipe (config keys)"
AUGMENT = "Augmentation (config augment.*)"


def _option(flags: str | tuple[str, ...], help: str, default: str | bool = False, panel: str = RECIPE):
    """A recipe flag (the config key's name, and maybe a short alias); `default` is the config's, shown in the help."""
    return typer.Option(*((flags,) if isinstance(flags, str) else flags), help=help, show_default=default, rich_help_panel=panel)


OptimizerOpt = Annotated[Optional[str], _option("--optimizer", f"{', '.join(OPTIMIZERS)}.", "adam")]
LearningRateOpt = Annotated[Optional[float], _option(("--learning-rate", "--lr"), "Peak learning rate.", "0.001")]
WeightDecayOpt = Annotated[Optional[float], _option("--weight-decay", "Decoupled weight decay, each step shrinking weights by lr × this (Keras 3 decouples it for every optimizer).", "0")]
DecayNormsOpt = Annotated[Optional[bool], _option("--decay-norms-and-biases/--no-decay-norms-and-biases", "Weight decay also shrinks batch-norm scales and offsets and biases (1-D weights).", "on")]
ScheduleOpt = Annotated[Optional[str], _option("--schedule", f"{', '.join(SCHEDULES)}.", "constant")]
WarmupOpt = Annotated[Optional[int], _option("--warmup-epochs", "Linear warm-up before the cosine or linear decay.", "0")]
LabelSmoothingOpt = Annotated[Optional[float], _option("--label-smoothing", "Share of the target mass spread over all classes.", "0")]
ClassWeightOpt = Annotated[Optional[str], _option("--class-weight", f"{', '.join(CLASS_WEIGHTS)}: loss weights for rare classes.", "none")]
PatienceOpt = Annotated[Optional[int], _option("--patience", "Early stopping after this many epochs without a better validation accuracy (0 = off).", "0")]
TimeBudgetOpt = Annotated[Optional[float], _option("--time-budget", "Minutes of training: plans the epochs that fit (at most --epochs), re-planned after each one, and decays the schedule to 0 at the last.")]
EmaOpt = Annotated[Optional[float], _option("--ema", "Momentum of an exponential moving average of the weights, e.g. 0.999 (0 = off).", "0")]
PrecisionOpt = Annotated[Optional[str], _option("--precision", f"{', '.join(PRECISION_SETTINGS)}: mixed_bfloat16 computes in bfloat16 (faster on CPUs with AVX512_BF16 or AMX and on GPUs from Ampere on, several times slower elsewhere); auto picks it only there. best.keras is float32 either way.", "float32")]
ReportSplitOpt = Annotated[Optional[str], _option("--report-split", "Also measure this split (e.g. test) after every epoch; never used for selection.")]
TensorboardOpt = Annotated[Optional[bool], _option("--tensorboard/--no-tensorboard", "TensorBoard logs in the run folder.", "on")]
TeacherOpt = Annotated[Optional[str], _option("--teacher", "Distil a trained model: a run folder, a model file (an ensemble from `fer export A B` too) or `default`; it predicts the training images once.")]
TeacherWeightOpt = Annotated[Optional[float], _option("--teacher-weight", "The teacher's share of each target; the rest is the one-hot label.", "0.5")]
ShuffleBufferOpt = Annotated[Optional[int], _option("--shuffle-buffer", "Examples in the shuffle buffer when streaming shards.", "10000")]

FlipOpt = Annotated[Optional[bool], _option("--flip/--no-flip", "Mirror left-right.", "off", panel=AUGMENT)]
TranslateOpt = Annotated[Optional[float], _option("--translate", "Largest shift, a fraction of the side.", "0", panel=AUGMENT)]
RotateOpt = Annotated[Optional[float], _option("--rotate", "Largest rotation, a fraction of a turn.", "0", panel=AUGMENT)]
ZoomOpt = Annotated[Optional[float], _option("--zoom", "Largest zoom in or out, a fraction.", "0", panel=AUGMENT)]
ContrastOpt = Annotated[Optional[float], _option("--contrast", "Largest contrast change, a fraction.", "0", panel=AUGMENT)]
BrightnessOpt = Annotated[Optional[float], _option("--brightness", "Largest brightness change, a fraction.", "0", panel=AUGMENT)]
ErasingOpt = Annotated[Optional[float], _option("--erasing", "Probability of random erasing.", "0", panel=AUGMENT)]
MixupOpt = Annotated[Optional[float], _option("--mixup", "Beta(α, α) parameter of mixup (0 = off).", "0", panel=AUGMENT)]
CutmixOpt = Annotated[Optional[float], _option("--cutmix", "Beta(α, α) parameter of cutmix (0 = off).", "0", panel=AUGMENT)]
