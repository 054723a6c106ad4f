"""Which combination of trained models and test-time views to ship, chosen on validation alone.

Usage: python benchmarks/ensemble_search.py MODEL [MODEL...] [--data DIR] [--report-split test]
       [--baseline MODEL] [--max-mflops N]

Each MODEL is a run folder (its best.keras) or a .keras file; at least one
must be a run folder, whose config names the validation split. Every model
must hold out the same validation images (same data, `val_split` and split
seed), so none has trained on what the others are scored on: for a .keras
file (e.g. the shipped model) that is for you to know. A model with views or
members of its own counts as its networks, scored with the candidate's views
instead of its own, as `fer export MODEL... --tta MODE` combines them.

For each non-empty subset of the models and each of ``--tta none|flip|crops``,
the script averages the members' probabilities on that validation split and
ranks the candidates by validation accuracy; ties go to the cheaper one. Each
candidate's cost is its MFLOPs per face (the members' networks times the
views); with ``--max-mflops`` only candidates within that budget may be
chosen. Only the chosen candidate is then scored on ``--report-split``
(PublicTest for FER2013), to report, never to pick. With ``--baseline`` (a run
folder or .keras file, scored as it is, views included) it also runs the exact
McNemar test of the chosen candidate against it on the validation images.
Prints JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
from pathlib import Path

import numpy as np

MODES = ("none", "flip", "crops")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path, nargs="+", help="run folders (their best.keras) or .keras files")
    parser.add_argument("--data", help="the training data, if it moved since the runs (default: the runs' data)")
    parser.add_argument("--report-split", default="test", help="split scored for the chosen candidate only (default: test)")
    parser.add_argument("--baseline", type=Path, help="a model to test the chosen candidate against (McNemar, validation)")
    parser.add_argument("--max-mflops", type=float, help="choose only among candidates that cost at most this per face")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from fer_cli.errors import FerError
    from fer_cli.models.ensemble import combine, face_flops, networks
    from fer_cli.models.registry import count_flops
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.runtimes.resolve import resolve_model
    from fer_cli.views import view_count
    from validation_split import mcnemar, shared_validation

    runs = [m for m in args.models if m.is_dir()]
    if not runs:
        parser.error("give at least one run folder: its config names the validation split")
    try:
        loaded = {m: load_keras_model(resolve_model(str(m)).path) for m in args.models}
        baseline = load_keras_model(resolve_model(str(args.baseline)).path) if args.baseline else None  # as it is, views included
    except FerError as exc:
        parser.error(str(exc))
    try:
        dataset, val = shared_validation(runs, args.data)
        report = dataset.split(args.report_split)
    except (ValueError, FerError) as exc:
        parser.error(str(exc))
    splits = {"val": val, "report": (report.images.astype(np.float32)[..., None], report.labels)}
    network_flops = {m: sum(count_flops(network) for network in networks(model)) for m, model in loaded.items()}

    def probabilities(model: Path, mode: str, split: str) -> np.ndarray:
        views = combine(networks(loaded[model]), mode)
        return np.asarray(views.predict(splits[split][0], batch_size=256, verbose=0))

    val_probs = {(m, mode): probabilities(m, mode, "val") for m in args.models for mode in MODES}
    candidates = []
    for size in range(1, len(args.models) + 1):
        for members in itertools.combinations(args.models, size):
            for mode in MODES:
                mean = np.mean([val_probs[(m, mode)] for m in members], axis=0)
                mflops = sum(network_flops[m] for m in members) * view_count(mode) / 1e6
                candidates.append({"models": [str(m) for m in members], "tta": mode, "mflops_per_face": round(mflops),
                                   "val_accuracy": float(np.mean(mean.argmax(1) == val[1])), "_right": mean.argmax(1) == val[1]})
    candidates.sort(key=lambda c: (-c["val_accuracy"], c["mflops_per_face"]))
    eligible = [c for c in candidates if args.max_mflops is None or c["mflops_per_face"] <= args.max_mflops]
    if not eligible:
        parser.error(f"no candidate costs {args.max_mflops:g} MFLOPs per face or less; the cheapest costs "
                     f"{min(c['mflops_per_face'] for c in candidates)}")
    best = eligible[0]
    report_mean = np.mean([probabilities(Path(m), best["tta"], "report") for m in best["models"]], axis=0)
    result = {
        "validation_images": int(len(val[1])),
        "max_mflops": args.max_mflops,
        "candidates": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items() if k != "_right"} for c in candidates],
        "chosen": {"models": best["models"], "tta": best["tta"], "mflops_per_face": best["mflops_per_face"],
                   "val_accuracy": round(best["val_accuracy"], 4),
                   f"{args.report_split}_accuracy": round(float(np.mean(report_mean.argmax(1) == report.labels)), 4)},
    }
    if baseline is not None:
        base = np.asarray(baseline.predict(val[0], batch_size=256, verbose=0)).argmax(1) == val[1]
        test = mcnemar(base, best["_right"])
        result["against_baseline"] = {"baseline": str(args.baseline), "baseline_val_accuracy": round(float(base.mean()), 4),
                                      "baseline_mflops_per_face": round(face_flops(baseline) / 1e6),
                                      "only_baseline_right": test["only_a_right"], "only_chosen_right": test["only_b_right"],
                                      "mcnemar_p": test["mcnemar_p"]}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
