"""fer evaluate: the report, its JSON contract, model formats, class mismatches."""

import json
from pathlib import Path

import pytest

from helpers import jsonl, write_class_folders


def _evaluate(runner, app, *args):
    return runner.invoke(app, ["evaluate", *map(str, args)])


def test_json_report_contract(runner, app, tiny_data, tiny_run):
    result = _evaluate(runner, app, tiny_data, "--model", tiny_run, "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 28 and report["split"] == "test"
    assert report["classes"][0] == "angry" and len(report["confusion"]) == 7
    assert sum(map(sum, report["confusion"])) == 28
    assert [sum(row) for row in report["confusion"]] == [4] * 7  # rows are the true classes: 4 test images each
    assert set(report["per_class"]["happy"]) == {"precision", "recall", "f1", "support"}
    # Accuracy is the trace of the confusion matrix over n, and what a recount of fer predict's labels gives.
    trace = sum(report["confusion"][i][i] for i in range(7))
    assert isinstance(report["accuracy"], float) and report["accuracy"] == pytest.approx(trace / 28)
    images = sorted((tiny_data / "test").rglob("*.png"))
    records = jsonl(runner.invoke(app, ["predict", *map(str, images), "--model", str(tiny_run)]).stdout)
    assert len(records) == 28
    assert report["accuracy"] == pytest.approx(sum(r["label"] == Path(r["path"]).parent.name for r in records) / 28)
    # Per class: recall is the diagonal over the row; macro-F1 the mean of the classes' F1.
    for i, name in enumerate(report["classes"]):
        assert report["per_class"][name]["recall"] == pytest.approx(report["confusion"][i][i] / 4)
    assert report["macro_f1"] == pytest.approx(sum(c["f1"] for c in report["per_class"].values()) / 7)


def test_table_and_confusion_png(runner, app, tiny_data, tiny_run, tmp_path):
    png = tmp_path / "confusion.png"
    result = _evaluate(runner, app, tiny_data, "--model", tiny_run / "best.keras", "--format", "table", "--confusion-png", png)
    assert result.exit_code == 0, result.stderr
    assert "macro-F1" in result.stdout and "confusion matrix" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_split_choice_and_plain_folder(runner, app, tiny_data, tiny_run, tmp_path):
    train = json.loads(_evaluate(runner, app, tiny_data, "--model", tiny_run, "--split", "train", "-f", "json").stdout)
    assert train["n"] == 84
    write_class_folders(tmp_path / "plain", 2, seed=9, classes=("happy", "sad"))
    plain = json.loads(_evaluate(runner, app, tmp_path / "plain", "--model", tiny_run, "-f", "json").stdout)
    assert plain["n"] == 4 and plain["per_class"]["happy"]["support"] == 2 and plain["per_class"]["angry"]["support"] == 0
    missing = _evaluate(runner, app, tiny_data, "--model", tiny_run, "--split", "val")
    assert missing.exit_code == 1 and "no split 'val'" in missing.stderr


def test_unknown_class_names_both_sets(runner, app, tiny_run, tmp_path):
    write_class_folders(tmp_path / "odd", 2, seed=9, classes=("happy", "contempt"))
    result = _evaluate(runner, app, tmp_path / "odd", "--model", tiny_run)
    assert result.exit_code == 1
    assert "contempt" in result.stderr and "model classes: angry" in result.stderr and "Traceback" not in result.stderr


def test_bad_model_paths(runner, app, tiny_data, tmp_path):
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    (tmp_path / "model.h5").write_bytes(b"x")
    for model, message in ((tmp_path / "none.keras", "no such model"), (tmp_path / "junk.keras", "truncated"),
                           (tmp_path / "model.h5", "unknown model format"), (tmp_path, "not a run folder")):
        result = _evaluate(runner, app, tiny_data, "--model", model)
        assert result.exit_code == 1 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_missing_data_is_usage_error(runner, app):
    assert _evaluate(runner, app).exit_code == 2


# --- The metrics in NumPy (issue 13: the light install has no scikit-learn) ----------------------


def test_report_metrics_by_hand():
    import numpy as np

    from fer_cli.evaluation import Report

    # Class 0: 2 of 3 found, both predictions right. Class 1: 1 of 2, one of its 2 predictions right.
    # Class 2: its 1 found, one of its 2 predictions right. Class 3: absent and never predicted.
    report = Report(
        classes=("a", "b", "c", "d"), y_true=np.array([0, 0, 0, 1, 1, 2]), y_pred=np.array([0, 0, 1, 1, 2, 2])
    ).to_dict()
    assert report["n"] == 6 and report["accuracy"] == 4 / 6
    assert report["per_class"] == {
        "a": {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3},
        "b": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
        "c": {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1},
        "d": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0},
    }
    assert report["confusion"] == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]
    # Macro-F1 averages the three classes present; the absent one has no F1 to average.
    assert report["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3, abs=1e-15)
    assert isinstance(report["per_class"]["a"]["support"], int) and isinstance(report["accuracy"], float)


def test_report_metrics_zero_divisions_are_zero():
    import numpy as np

    from fer_cli.evaluation import Report

    # Class 0 is never predicted (precision 0/0); class 3 is predicted but absent (recall 0/0): both 0, no warning.
    report = Report(classes=("a", "b", "c", "d"), y_true=np.array([0, 1]), y_pred=np.array([3, 1])).to_dict()
    assert report["per_class"]["a"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["per_class"]["d"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    assert report["accuracy"] == 0.5 and report["macro_f1"] == 0.5
    empty = Report(classes=("a", "b"), y_true=np.array([], dtype=int), y_pred=np.array([], dtype=int)).to_dict()
    assert empty["accuracy"] == 0.0 and empty["macro_f1"] == 0.0 and empty["confusion"] == [[0, 0], [0, 0]]


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")  # scikit-learn's, on 1-class trials
def test_report_metrics_equal_scikit_learn_on_random_labels():
    # scikit-learn comes with the [train] extra (so with the README's test install); the light install lacks it.
    metrics = pytest.importorskip("sklearn.metrics", reason="scikit-learn is in the [train] extra")
    import numpy as np

    from fer_cli.evaluation import Report

    rng = np.random.default_rng(13)
    for trial in range(200):
        k = int(rng.integers(1, 9))
        n = int(rng.integers(1, 60))  # an empty split: test_report_metrics_zero_divisions_are_zero
        # Skewed labels, so that some classes are absent, never predicted, or both.
        y_true = rng.choice(k, n, p=rng.dirichlet(np.full(k, 0.5)))
        y_pred = np.where(rng.random(n) < 0.5, y_true, rng.integers(0, k, n))
        report = Report(classes=tuple(map(str, range(k))), y_true=y_true, y_pred=y_pred).to_dict()
        labels = list(range(k))
        precision, recall, f1, support = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=labels, zero_division=0
        )
        expected = {
            str(i): {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]), "support": int(support[i])}
            for i in labels
        }
        assert report["per_class"] == expected, trial  # bit for bit, not approximately
        assert report["confusion"] == metrics.confusion_matrix(y_true, y_pred, labels=labels).tolist(), trial
        assert report["accuracy"] == float(metrics.accuracy_score(y_true, y_pred)), trial


def test_confusion_png_without_matplotlib(tmp_path, monkeypatch):
    # The light install has no matplotlib: the picture is drawn with Pillow.
    import numpy as np
    from PIL import Image

    from fer_cli.evaluation import Report, save_confusion_png

    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    classes = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    perfect = Report(classes=classes, y_true=np.repeat(np.arange(7), 3), y_pred=np.repeat(np.arange(7), 3)).to_dict()
    save_confusion_png(perfect, tmp_path / "perfect.png")
    few = Report(classes=classes[:2], y_true=np.array([0, 1]), y_pred=np.array([1, 1])).to_dict()
    save_confusion_png(few, tmp_path / "few.png")
    image = Image.open(tmp_path / "perfect.png").convert("RGB")
    assert image.size > Image.open(tmp_path / "few.png").size  # grows with the classes
    # Dark blue on the diagonal (each row all right), near white off it: find the cells by colour along a row.
    pixels = np.asarray(image).astype(int)
    blue = (pixels[..., 2] - pixels[..., 0] > 90) & (pixels[..., 0] < 40)  # the darkest end of "Blues"
    assert blue.sum() > 7 * 40 * 40  # seven filled diagonal cells, their numbers aside
    rows, cols = np.nonzero(blue)
    assert np.corrcoef(rows, cols)[0, 1] > 0.95  # on the diagonal, top left to bottom right
