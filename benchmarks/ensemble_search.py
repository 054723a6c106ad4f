"""Which combination of trained runs and test-time views to ship, chosen on validation alone.

Usage: python benchmarks/ensemble_search.py RUN [RUN...] [--data DIR] [--report-split test] [--baseline RUN]

Every run must hold out the same validation images (same data, `val_split` and
`seed`), so no member has trained on what the others are scored on. For each
non-empty subset of the runs and each of ``--tta none|flip|crops``, the script
averages the members' probabilities on that validation split, exactly what
`fer export RUN... --tta MODE` builds into one model, and ranks the candidates
by validation accuracy. Only the best candidate is then scored on
``--report-split`` (PublicTest for FER2013), to report, never to pick.
With ``--baseline`` it also runs the exact McNemar test of the best candidate
against that run on the validation images. Prints JSON.
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
    parser.add_argument("runs", type=Path, nargs="+", help="run folders (their best.keras)")
    parser.add_argument("--data", help="the training data, if it moved since the runs (default: the runs' data)")
    parser.add_argument("--report-split", default="test", help="split scored for the chosen candidate only (default: test)")
    parser.add_argument("--baseline", type=Path, help="a run to test the chosen candidate against (McNemar, validation)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from fer_cli.runtimes.resolve import open_runtime, resolve_model
    from validation_split import mcnemar, shared_validation

    try:
        dataset, val = shared_validation(args.runs, args.data)
    except ValueError as exc:
        parser.error(str(exc))
    report = dataset.split(args.report_split)
    splits = {"val": val, "report": (report.images.astype(np.float32)[..., None], report.labels)}

    def probabilities(run: Path, mode: str, split: str) -> np.ndarray:
        return open_runtime(resolve_model(run), mode).predict(splits[split][0])

    val_probs = {(run, mode): probabilities(run, mode, "val") for run in args.runs for mode in MODES}
    candidates = []
    for size in range(1, len(args.runs) + 1):
        for members in itertools.combinations(args.runs, size):
            for mode in MODES:
                mean = np.mean([val_probs[(run, mode)] for run in members], axis=0)
                candidates.append({"runs": [str(r) for r in members], "tta": mode,
                                   "val_accuracy": float(np.mean(mean.argmax(1) == val[1])), "_right": mean.argmax(1) == val[1]})
    candidates.sort(key=lambda c: (-c["val_accuracy"], len(c["runs"]), MODES.index(c["tta"])))  # ties: the cheaper one
    best = candidates[0]
    report_mean = np.mean([probabilities(Path(run), best["tta"], "report") for run in best["runs"]], axis=0)
    result = {
        "validation_images": int(len(val[1])),
        "candidates": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items() if k != "_right"} for c in candidates],
        "chosen": {"runs": best["runs"], "tta": best["tta"], "val_accuracy": round(best["val_accuracy"], 4),
                   f"{args.report_split}_accuracy": round(float(np.mean(report_mean.argmax(1) == report.labels)), 4)},
    }
    if args.baseline:
        base = probabilities(args.baseline, "none", "val").argmax(1) == val[1]
        test = mcnemar(base, best["_right"])
        result["against_baseline"] = {"baseline": str(args.baseline), "baseline_val_accuracy": round(float(base.mean()), 4),
                                      "only_baseline_right": test["only_a_right"], "only_chosen_right": test["only_b_right"],
                                      "mcnemar_p": test["mcnemar_p"]}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
