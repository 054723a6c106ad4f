"""`time_budget`: a run plans the epochs that fit in its minutes, decays its schedule to 0 at the last, and resumes within them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from test_resume import _interrupt_before_epoch

RECIPE = ["--model", "resnet_s", "--batch-size", "16", "--optimizer", "adamw", "--lr", "0.004", "--schedule", "cosine",
          "--warmup-epochs", "1", "--epochs", "400", "-q"]


def _optimizer_schedule(run):
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.training.trainer import _replannable

    return _replannable(load_keras_model(run / "last.keras", compile=True).optimizer)


def test_the_cosine_follows_keras_and_a_new_plan_reaches_the_compiled_step():
    from fer_cli.tf_env import keras as _keras
    from fer_cli.training.schedules import ReplannableDecay

    keras = _keras()
    import tensorflow as tf

    ours = ReplannableDecay(0.001, 0.1, total_steps=100, warmup_steps=10)
    theirs = keras.optimizers.schedules.CosineDecay(0.001, 90, warmup_target=0.1, warmup_steps=10)
    steps = [0, 5, 10, 37, 99, 100, 150]
    np.testing.assert_allclose([float(ours(s)) for s in steps], [float(theirs(s)) for s in steps], rtol=1e-5, atol=1e-7)

    compiled = tf.function(lambda step: ours(step))
    assert float(compiled(tf.constant(60))) == pytest.approx(0.05 * (1 + math.cos(math.pi * 50 / 90)), rel=1e-5)
    ours.replan(60)  # the graph traced above reads the plan from its variable
    assert float(compiled(tf.constant(60))) == pytest.approx(0.0, abs=1e-7)
    assert float(compiled(tf.constant(35))) == pytest.approx(0.05, rel=1e-5)  # half-way from the warm-up's end to 60

    again = ReplannableDecay.from_config(ours.get_config())
    assert again.total_steps == 60 and float(again(35)) == pytest.approx(0.05, rel=1e-5)
    linear = ReplannableDecay(0.1, 0.1, total_steps=50, shape="linear")
    assert float(linear(25)) == pytest.approx(0.05, rel=1e-5)
    with pytest.raises(ValueError, match="warmup_steps"):
        ours.replan(10)


def test_the_plan_is_the_epochs_that_fit_at_the_measured_cost():
    from fer_cli.training.callbacks import time_budget
    from fer_cli.training.schedules import ReplannableDecay

    clock = {"now": 0.0}
    now = lambda: clock["now"]  # noqa: E731

    class Model:
        stop_training = False

    schedule = ReplannableDecay(0.001, 0.1, total_steps=100 * 10, warmup_steps=10)
    budget = time_budget.TimeBudget(10, max_epochs=100, steps_per_epoch=10, schedule=schedule, quiet=True, clock=now)
    budget.set_model(Model())
    budget.on_train_begin()
    plans = []
    for epoch, seconds in enumerate([100, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 40]):
        clock["now"] += seconds
        budget.on_epoch_end(epoch)
        plans.append(budget.planned)
        if budget.model.stop_training:
            break
    # After epoch 1 (100 s, graphs built): 500 s left at 100 s an epoch, 5 more; then 40 s an epoch.
    assert plans[:3] == [6, 13, 13]
    assert len(plans) == 13 and budget.model.stop_training, "stops after the 13th epoch: 100 + 12 x 40 = 580 s of 600"
    assert schedule.total_steps == 13 * 10

    resumed = time_budget.TimeBudget(10, max_epochs=100, steps_per_epoch=10, seconds_done=580.0, planned=13, quiet=True,
                                        clock=now)
    resumed.set_model(Model())
    resumed.on_train_begin()
    clock["now"] += 45
    resumed.on_epoch_end(13)
    assert resumed.planned == 14 and resumed.model.stop_training, "the time of earlier sittings counts: no 15th epoch"


def test_bad_budgets_are_config_errors(runner, app, tiny_data, tmp_path):
    for value, message in (("0", "time_budget is minutes of training"), ("-5", "time_budget is minutes of training")):
        result = runner.invoke(app, ["train", str(tiny_data), "--time-budget", value, "--runs-dir", str(tmp_path)])
        assert result.exit_code != 0 and message in result.stderr and "Traceback" not in result.stderr
    result = runner.invoke(app, ["train", str(tiny_data), "--time-budget", "1", "--strategy", "multi-worker",
                                 "--runs-dir", str(tmp_path)])
    assert result.exit_code != 0 and "time_budget needs one machine" in result.stderr


@pytest.mark.slow
def test_a_budgeted_run_stops_in_time_with_its_schedule_spent_and_resumes_within_it(runner, app, tiny_data, tmp_path,
                                                                                   monkeypatch):
    from fer_cli.training.run_dir import read_history

    args = ["train", str(tiny_data), *RECIPE, "--time-budget", "0.4", "--runs-dir", str(tmp_path)]
    result = runner.invoke(app, [*args, "--name", "whole"])
    assert result.exit_code == 0, result.stderr
    run = tmp_path / "whole"
    history = read_history(run / "history.csv")
    state = json.loads((run / "state.json").read_text())
    costs = np.diff([0.0] + [row["seconds"] for row in history])
    assert 2 < len(history) < 400, "the budget, not the 400-epoch ceiling, ends the run"
    assert state["planned_epochs"] == len(history)
    assert history[-1]["seconds"] <= 24 + 2 * float(np.median(costs[1:])), "ends within the 24 s, give or take an epoch"
    assert history[-1]["lr"] < 0.004 * 0.02, "the cosine was re-planned to end at the last epoch"
    steps = math.ceil(json.loads((run / "data.json").read_text())["train_images"] / 16)
    assert _optimizer_schedule(run).total_steps == len(history) * steps, "the saved optimizer holds the final plan"
    again = runner.invoke(app, ["train", "--resume", str(run)])
    assert again.exit_code == 0 and "already finished" in again.stderr

    with monkeypatch.context() as patch:
        _interrupt_before_epoch(patch, 2)
        stopped = runner.invoke(app, [*args, "--name", "resumed"])
    assert stopped.exit_code == 0, stopped.stderr
    first = read_history(tmp_path / "resumed" / "history.csv")
    assert len(first) == 3, first
    resumed = runner.invoke(app, ["train", "--resume", str(tmp_path / "resumed"), "-q"])
    assert resumed.exit_code == 0, resumed.stderr
    history = read_history(tmp_path / "resumed" / "history.csv")
    assert len(history) > 3 and history[2]["seconds"] == first[2]["seconds"]
    assert history[-1]["seconds"] <= 24 + 2 * float(np.median(np.diff([row["seconds"] for row in history]))), \
        "the first sitting's seconds count against the budget"
    assert json.loads((tmp_path / "resumed" / "state.json").read_text())["planned_epochs"] == len(history)
