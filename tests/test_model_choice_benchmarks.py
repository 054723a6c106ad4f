"""The benchmarks that choose, cost and calibrate what ships: ensemble_search.py, model_cost.py and calibration_methods.py, run as a user runs them."""

import json
import subprocess
import sys

import pytest

from helpers import REPO


@pytest.fixture(scope="module")
def flip_export(tiny_run, tmp_path_factory):
    """tiny_run's network with the `flip` views built in: a .keras file with views of its own."""
    from fer_cli.exporting.exporter import export_model

    out = tmp_path_factory.mktemp("flip") / "flip.keras"
    classes = tuple(json.loads((tiny_run / "classes.json").read_text()))
    export_model([tiny_run / "best.keras"], classes, "keras", out=out, tta="flip")
    return out


def _network_mflops(tiny_run) -> float:
    from fer_cli.models.registry import count_flops
    from fer_cli.runtimes.keras_runtime import load_keras_model

    return count_flops(load_keras_model(tiny_run / "best.keras")) / 1e6


def _benchmark(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "benchmarks" / name), *args], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_ensemble_search_costs_every_candidate_and_chooses_within_the_budget(tiny_run, flip_export):
    network = _network_mflops(tiny_run)
    budget = 2 * network + 1
    done = _benchmark("ensemble_search.py", str(tiny_run), str(flip_export), "--baseline", str(flip_export),
                      "--max-mflops", f"{budget:.0f}")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    candidates = result["candidates"]
    assert len(candidates) == 3 * 3  # 3 non-empty subsets of 2 models x 3 views
    cost = {(len(c["models"]), c["tta"]): c["mflops_per_face"] for c in candidates}
    # The export's own flip views are replaced by the candidate's: it costs what its network costs.
    assert cost[(1, "none")] == round(network) and cost[(2, "crops")] == round(20 * network)
    accuracies = [c["val_accuracy"] for c in candidates]
    assert accuracies == sorted(accuracies, reverse=True)
    chosen = result["chosen"]
    assert chosen["mflops_per_face"] <= budget and 0 <= chosen["test_accuracy"] <= 1
    within = [c for c in candidates if c["mflops_per_face"] <= budget]
    assert chosen["val_accuracy"] == within[0]["val_accuracy"]
    baseline = result["against_baseline"]
    assert baseline["baseline_mflops_per_face"] == round(2 * network)  # scored as it is, its views included

    too_small = _benchmark("ensemble_search.py", str(tiny_run), "--max-mflops", "0.001")
    assert too_small.returncode == 2 and "no candidate costs 0.001 MFLOPs per face or less" in too_small.stderr
    no_run = _benchmark("ensemble_search.py", str(flip_export))
    assert no_run.returncode == 2 and "give at least one run folder" in no_run.stderr


@pytest.mark.slow
def test_model_cost_counts_flops_and_times_models_side_by_side(tiny_run, flip_export):
    done = _benchmark("model_cost.py", str(tiny_run), str(flip_export), str(tiny_run / "best.onnx"), "--calls", "5", "--batches", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    plain, flip, onnx = (result[k] for k in (str(tiny_run), str(flip_export), str(tiny_run / "best.onnx")))
    assert abs(flip["mflops_per_face"] - 2 * plain["mflops_per_face"]) <= 1 and plain["mflops_per_face"] > 0  # each rounded
    assert onnx["mflops_per_face"] is None  # FLOPs are counted on Keras models only
    assert plain["latency_vs_first"] == 1.0 and flip["one_image_ms"] > 0 and flip["batch_images_per_s"] > 0
    assert (flip_export.parent / "flip.onnx").is_file()  # the .keras file was timed through its ONNX twin


@pytest.mark.slow
def test_calibration_methods_fit_on_validation_and_score_both_splits(tiny_run):
    done = _benchmark("calibration_methods.py", str(tiny_run), "--tta", "flip", "--draws", "5")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["passes_per_face"] == 2
    methods = result["methods"]
    assert set(methods) == {"mean, T", "log-mean, T", "T per view, mean", "vector", "ensemble T", "dirichlet", "none"}
    plain, scaled = methods["none"], methods["mean, T"]
    for split in ("val", "test"):
        for name in ("mean, T", "ensemble T"):  # a temperature, or a mix of same-ordered scores, changes no answer
            assert methods[name][split]["accuracy"] == plain[split]["accuracy"], name
    # Each is fitted by validation NLL, and no scaling (T = 1, no bias) is among its choices.
    for name in ("mean, T", "T per view, mean", "vector"):
        assert methods[name]["val"]["nll"] <= plain["val"]["nll"] + 1e-3, name
    assert methods["vector"]["val"]["nll"] <= scaled["val"]["nll"] + 1e-3  # a temperature alone is a vector scaling
    assert methods["ensemble T"]["val"]["nll"] <= scaled["val"]["nll"] + 1e-2  # ... and a mix with weight ~1 on it
    assert sum(methods["ensemble T"]["weights"]) == pytest.approx(1.0, abs=1e-3)
    floor = result["floor"]
    assert floor["draws"] == 5 and 0 <= floor["median_ece"] <= floor["p90_ece"] <= 1

    no_run = _benchmark("calibration_methods.py", str(tiny_run / "best.keras"))
    assert no_run.returncode == 2
    negative = _benchmark("calibration_methods.py", str(tiny_run), "--odir", "-1")
    assert negative.returncode == 2 and "--odir must be 0 or more" in negative.stderr
