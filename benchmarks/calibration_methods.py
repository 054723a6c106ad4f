"""How well each post-hoc calibration of a model's averaged views does, fitted on validation, scored on test.

Usage: python benchmarks/calibration_methods.py RUN_DIR [--model MODEL] [--tta crops] [--report-split test]
       [--draws 200]

RUN_DIR's config names the validation split (as for `benchmarks/ensemble_search.py`);
MODEL (default: the run's best.keras; `default` is the shipped model) is scored
through its networks, each on every view of ``--tta``, and must not have trained
on that split. Each method is fitted on validation by negative log-likelihood,
as `fer export --calibrate` fits its temperature, and scored on both splits:

- ``mean, T``: average the views' probabilities, then one temperature (what
  `fer export --calibrate` builds in);
- ``log-mean, T``: average the views' log-probabilities (a geometric mean), then
  one temperature; it may change a few answers;
- ``T per view, mean``: one temperature on every view, then average; may change
  a few answers;
- ``vector``: a temperature and a bias per class on the averaged log-probabilities
  (Guo et al. 2017's vector scaling); changes answers;
- ``ensemble T``: Zhang, Kailkhura and Han's ensemble temperature scaling (ICML
  2020), a mix of the ``mean, T`` scores, the uncalibrated mean and the uniform
  distribution, weights and T fitted together; keeps every answer;
- ``dirichlet``: a full matrix and bias on the averaged log-probabilities (Kull
  et al. 2019), off-diagonal entries and biases held down by an L2 penalty
  (their ODIR, weight ``--odir``); changes answers.

The ``floor`` line is the ECE that a perfectly calibrated model with the
shipped method's test scores would still show, from the finite sample alone:
labels drawn from those scores, ``--draws`` times (median and 90th percentile).
Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_scalar(loss, low: float = 0.2, high: float = 5.0, steps: int = 80) -> float:
    """The T in [low, high] minimising `loss(T)`, by ternary search on log T (the loss has one minimum)."""
    a, b = np.log(low), np.log(high)
    for _ in range(steps):
        m1, m2 = a + (b - a) / 3, b - (b - a) / 3
        if loss(np.exp(m1)) < loss(np.exp(m2)):
            b = m2
        else:
            a = m1
    return float(np.exp((a + b) / 2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder: its config names the validation split")
    parser.add_argument("--model", help="the model to calibrate (default: the run's best.keras; `default`: the shipped model)")
    parser.add_argument("--tta", default="crops", choices=("none", "flip", "crops"), help="the views averaged (default: crops)")
    parser.add_argument("--data", help="the training data, if it moved since the run (default: the run's data)")
    parser.add_argument("--report-split", default="test", help="the split scored (default: test)")
    parser.add_argument("--draws", type=int, default=200, help="label draws for the ECE floor (default: 200)")
    parser.add_argument("--odir", type=float, default=1e-3,
                        help="L2 weight on the Dirichlet map's off-diagonal entries and biases (default: 0.001)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from scipy.optimize import minimize

    from fer_cli.calibration.metrics import brier_score, expected_calibration_error, negative_log_likelihood
    from fer_cli.calibration.temperature import apply_temperature, fit_temperature, log_probabilities
    from fer_cli.errors import FerError
    from fer_cli.models.ensemble import networks
    from fer_cli.runtimes.keras_runtime import load_keras_model
    from fer_cli.runtimes.resolve import resolve_model
    from fer_cli.views import TTA, views
    from validation_split import shared_validation

    if args.odir < 0:
        parser.error(f"--odir must be 0 or more, not {args.odir}")
    if not args.run.is_dir():
        parser.error(f"{args.run} is not a run folder: give the run whose config names the validation split")
    try:
        spec = args.model or str(args.run)
        model = load_keras_model(resolve_model(None if spec == "default" else spec).path)
        dataset, (val_x, val_y) = shared_validation([args.run], args.data)
        report = dataset.split(args.report_split)
    except (ValueError, FerError) as exc:
        parser.error(str(exc))
    splits = {"val": (val_x, val_y), args.report_split: (report.images.astype(np.float32)[..., None], report.labels)}

    # (N, networks x views, classes): every network on every view, computed once.
    per_view = {name: np.stack([np.asarray(net.predict(v, batch_size=256, verbose=0))
                                for net in networks(model) for v in views(x, TTA(args.tta))], axis=1)
                for name, (x, _) in splits.items()}
    labels = {name: y for name, (_, y) in splits.items()}
    val = per_view["val"]

    def geometric(p):
        return softmax(log_probabilities(p).mean(axis=1))

    def each_view(p, t):
        return np.mean([apply_temperature(p[:, i], t) for i in range(p.shape[1])], axis=0)

    methods = {}
    t = fit_temperature(val.mean(axis=1), labels["val"])
    methods["mean, T"] = ({"temperature": round(t, 4)}, lambda p, t=t: apply_temperature(p.mean(axis=1), t))
    t = fit_temperature(geometric(val), labels["val"])
    methods["log-mean, T"] = ({"temperature": round(t, 4)}, lambda p, t=t: apply_temperature(geometric(p), t))
    t = fit_scalar(lambda t: negative_log_likelihood(each_view(val, t), labels["val"]))
    methods["T per view, mean"] = ({"temperature": round(t, 4)}, lambda p, t=t: each_view(p, t))
    logs = log_probabilities(val.mean(axis=1))
    classes = logs.shape[1]
    fit = minimize(lambda th: negative_log_likelihood(softmax(logs * th[0] + th[1:]), labels["val"]),
                   np.r_[1.0, np.zeros(classes)], method="L-BFGS-B")
    theta = fit.x
    methods["vector"] = ({"temperature": round(float(1 / theta[0]), 4), "bias": [round(float(b), 3) for b in theta[1:]]},
                         lambda p, th=theta: softmax(log_probabilities(p.mean(axis=1)) * th[0] + th[1:]))

    def mixed(p, th):
        t, w = th[0], softmax(th[None, 1:])[0]  # weights on a simplex
        mean = p.mean(axis=1)
        return w[0] * apply_temperature(mean, t) + w[1] * mean + w[2] / classes

    fit = minimize(lambda th: negative_log_likelihood(mixed(val, th), labels["val"]),
                   np.r_[methods["mean, T"][0]["temperature"], 2.0, 0.0, 0.0], method="L-BFGS-B",
                   bounds=[(0.05, 20.0), (-20, 20), (-20, 20), (-20, 20)])
    theta = fit.x
    weights = softmax(theta[None, 1:])[0]
    methods["ensemble T"] = ({"temperature": round(float(theta[0]), 4), "weights": [round(float(w), 4) for w in weights]},
                             lambda p, th=theta: mixed(p, th))

    def dirichlet(th, lp):
        matrix, bias = th[: classes * classes].reshape(classes, classes), th[classes * classes:]
        return softmax(lp @ matrix.T + bias)

    off_diagonal = ~np.eye(classes, dtype=bool)

    def dirichlet_loss(th):
        matrix = th[: classes * classes].reshape(classes, classes)
        penalty = np.sum(matrix[off_diagonal] ** 2) + np.sum(th[classes * classes:] ** 2)
        return negative_log_likelihood(dirichlet(th, logs), labels["val"]) + args.odir * penalty

    start = np.r_[(np.eye(classes) / methods["mean, T"][0]["temperature"]).ravel(), np.zeros(classes)]
    theta = minimize(dirichlet_loss, start, method="L-BFGS-B").x
    methods["dirichlet"] = ({"odir": args.odir},
                            lambda p, th=theta: dirichlet(th, log_probabilities(p.mean(axis=1))))
    methods["none"] = ({}, lambda p: p.mean(axis=1))

    result = {"model": str(args.model or args.run), "tta": args.tta, "passes_per_face": int(val.shape[1]), "methods": {}}
    for name, (params, calibrate) in methods.items():
        row = dict(params)
        for split, p in per_view.items():
            q, y = calibrate(p), labels[split]
            row[split] = {"accuracy": round(float(np.mean(q.argmax(1) == y)), 4),
                          "ece": round(expected_calibration_error(q, y), 4),
                          "nll": round(negative_log_likelihood(q, y), 4),
                          "brier": round(brier_score(q, y), 4)}
        result["methods"][name] = row

    shipped = methods["mean, T"][1](per_view[args.report_split])
    rng = np.random.default_rng(0)
    cumulative = np.cumsum(shipped, axis=1)
    floors = []
    for _ in range(args.draws):
        drawn = (rng.random((len(shipped), 1)) > cumulative).sum(axis=1).clip(max=classes - 1)
        floors.append(expected_calibration_error(shipped, drawn))
    result["floor"] = {"split": args.report_split, "draws": args.draws, "median_ece": round(float(np.median(floors)), 4),
                       "p90_ece": round(float(np.quantile(floors, 0.9)), 4)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
