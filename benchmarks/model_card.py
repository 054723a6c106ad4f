"""Measure the shipped model and print its model card (markdown) for docs/shipped-model.md.

Usage: python benchmarks/model_card.py RUN_DIR [RUN_DIR...] [--config CONFIG...] [--data DATA] > card.md

RUN_DIR is each run that went into the shipped model, with the committed
config that trained it (one --config per run): the stages of one training
(each started from the one before with `--init-weights`), or the members of a
model combined with `fer export RUN... --tta MODE`. DATA is the labelled test
data (default: FER2013 PublicTest in ../shared). Runs `fer evaluate` on the
shipped model as it is and with flip and crops TTA (for a plain model), counts
parameters and FLOPs (all members and views), and times single-image inference
on ONNX Runtime (median of 300 calls, after 20 warm-up calls).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

from fer_cli.training.run_dir import read_history

FER = [sys.executable, "-m", "fer_cli"]


def evaluate(data: str, tta: str) -> dict:
    out = subprocess.run([*FER, "evaluate", data, "--format", "json", "--tta", tta, "-q"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def latency_ms(onnx_path: Path) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    image = np.random.default_rng(0).uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    for _ in range(20):
        session.run(None, {name: image})
    times = []
    for _ in range(300):
        start = time.perf_counter()
        session.run(None, {name: image})
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="the runs that went into the shipped model: stages in order, or members")
    parser.add_argument("--config", nargs="+", default=["configs/accurate.yaml"], help="the committed config of each run")
    parser.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared/data/fer2013/images"))
    args = parser.parse_args()
    if len(args.config) != len(args.runs):
        parser.error("give one --config per run folder")

    from fer_cli.models.ensemble import architecture, built_in_views, face_flops, members
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.runtimes.resolve import DEFAULT_MODEL
    from fer_cli.views import TTA, view_count

    shipped = load_keras_model(DEFAULT_MODEL)
    parts, views = members(shipped), built_in_views(shipped)
    flops = face_flops(shipped)
    configs = [yaml.safe_load((run / "config.yaml").read_text()) for run in args.runs]
    histories = [read_history(run / "history.csv") for run in args.runs]
    hours = sum(h[-1].get("seconds", 0) for h in histories if h) / 3600
    plain = evaluate(args.data, "none")
    what = " + ".join(f"`{architecture(m)}`" for m in parts)
    if len(parts) > 1:
        what = f"the average of {len(parts)} models, {what},"
    if views is TTA.none:
        flip, crops = evaluate(args.data, "flip"), evaluate(args.data, "crops")
        tta = (f"; with `--tta flip`: **{flip['accuracy']:.2%}** (macro-F1 {flip['macro_f1']:.3f}); "
               f"with `--tta crops`: **{crops['accuracy']:.2%}** (macro-F1 {crops['macro_f1']:.3f})")
    else:
        what += f" with the `{views.value}` views built in ({view_count(views)} per image)"
        tta = f" (the `{views.value}` views are part of the model; nothing is added at run time)"

    def trained(path, config, history) -> str:
        best = max(history, key=lambda r: r.get("val_accuracy", 0)) if history else {}
        return (f"`fer train ../shared/data/fer2013/images --config {path}` ({len(history)} epochs, "
                f"{history[-1].get('seconds', 0) / 3600 if history else 0:.2f} h, best val accuracy {best.get('val_accuracy', 0):.4f} "
                f"at epoch {int(best.get('epoch', 0))})")

    val_split, seed = configs[0]["val_split"], configs[0]["seed"]
    lines = [
        f"- **Architecture**: {what}; {shipped.count_params():,} parameters, "
        f"{flops / 1e6:.0f} MFLOPs per 48x48 image; {DEFAULT_MODEL.stat().st_size / 1e6:.1f} MB (.keras), "
        f"{DEFAULT_MODEL.with_suffix('.onnx').stat().st_size / 1e6:.1f} MB (.onnx).",
        f"- **Data**: FER2013 Training split (28,709 images), of which a stratified {val_split:.0%} (seed {seed}) is held out "
        "for validation and model selection; PublicTest (3,589) only for the figures below.",
        "- **Training**: " + "; ".join(trained(path, c, h) for path, c, h in zip(args.config, configs, histories))
        + f"; {hours:.2f} h of training in all on {platform.machine()} with 2 CPU cores (no GPU).",
        f"- **PublicTest accuracy**: **{plain['accuracy']:.2%}** (macro-F1 {plain['macro_f1']:.3f}){tta}.",
        f"- **Calibration** (PublicTest, 15 bins): ECE {plain['ece']:.3f}, NLL {plain['nll']:.3f}, Brier {plain['brier']:.3f}, "
        f"mean score {plain['mean_confidence']:.2f}; "
        + (f"temperature {plain['temperature']:.3f} built in (`fer export --calibrate`)." if plain.get("temperature")
           else "no temperature built in."),
        f"- **Single-image latency** (ONNX Runtime, 1 image, median of 300): {latency_ms(DEFAULT_MODEL.with_suffix('.onnx')):.2f} ms.",
        "",
        "| class | precision | recall | F1 | support |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, s in plain["per_class"].items():
        lines.append(f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | {s['support']} |")
    lines += ["", "Confusion matrix on PublicTest (rows: true, columns: predicted):", "",
              "| | " + " | ".join(plain["classes"]) + " |", "|---" * (len(plain["classes"]) + 1) + "|"]
    for name, row in zip(plain["classes"], plain["confusion"]):
        lines.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
