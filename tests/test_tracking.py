"""The parts of video tracking that need no model: optimal assignment, the tracker, smoothing, summaries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from fer_cli.inference.assignment import linear_sum_assignment
from fer_cli.inference.follow import follow_faces
from fer_cli.inference.predictor import Failure, VideoEnd
from fer_cli.inference.smoothing import Smoother
from fer_cli.inference.summary import VideoSummary, describe_shares
from fer_cli.inference.tracking import MIN_MISSES_KEPT, Tracker, association_cost, box_iou

CLASSES = ("angry", "happy", "sad")


def _brute_force(cost: np.ndarray) -> float:
    rows, columns = cost.shape
    if min(rows, columns) == 0:
        return 0.0
    if rows <= columns:
        return min(sum(cost[r, c] for r, c in enumerate(p)) for p in itertools.permutations(range(columns), rows))
    return _brute_force(cost.T)


# --- assignment -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_assignment_is_as_cheap_as_brute_force(seed):
    rng = np.random.default_rng(seed)
    rows, columns = rng.integers(0, 7, 2)
    cost = rng.normal(size=(rows, columns)) * rng.choice([1, 1000])
    if seed % 4 == 0:
        cost = np.round(cost)  # many ties
    r, c = linear_sum_assignment(cost)
    assert len(r) == len(c) == min(rows, columns)
    assert list(r) == sorted(set(r)) and len(set(c)) == len(c)
    assert cost[r, c].sum() == pytest.approx(_brute_force(cost))


def test_assignment_known_answer_and_bad_input():
    rows, columns = linear_sum_assignment(np.array([[4.0, 1.0, 3.0], [2.0, 0.0, 5.0], [3.0, 2.0, 2.0]]))
    assert rows.tolist() == [0, 1, 2] and columns.tolist() == [1, 0, 2]
    rows, columns = linear_sum_assignment(np.array([[5.0], [1.0], [3.0]]))  # more rows than columns
    assert rows.tolist() == [1] and columns.tolist() == [0]
    with pytest.raises(ValueError):
        linear_sum_assignment(np.array([[1.0, np.inf]]))
    with pytest.raises(ValueError):
        linear_sum_assignment(np.zeros(3))


# --- tracker ----------------------------------------------------------------------------------


def test_iou_and_cost():
    iou = box_iou([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 10, 10], [20, 20, 5, 5]])
    assert iou.shape == (1, 3) and iou[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])
    cost = association_cost(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [8, 0, 10, 10], [40, 0, 10, 10]]))
    assert cost[0, 0] == pytest.approx(0) and cost[0, 0] < cost[0, 1] < 10 and cost[0, 2] >= 1e6


def _crossing(step: float, frames: int, hide=()):
    """Two 40 px faces on one line, moving `step` px per frame (0.2 s) towards and past each other."""
    for i in range(frames):
        a = (20 + step * i, 100, 40, 40)
        b = (20 + step * (frames - 1) - step * i, 100, 40, 40)
        yield i * 0.2, [a] + ([] if i in hide else [b])


def test_crossing_faces_keep_their_tracks():
    # Frames 3 and 4 swap the two positions exactly: a tracker matching detections to where the
    # faces were, not to where they are heading, gives each face the other's track.
    tracker = Tracker()
    seen = [tracker.update(t, boxes) for t, boxes in _crossing(30, 8)]
    assert all(ids == [0, 1] for ids in seen)


def test_a_hidden_face_keeps_its_track_after_the_gap():
    tracker = Tracker(max_gap=1.0)
    seen = [tracker.update(t, boxes) for t, boxes in _crossing(30, 11, hide={4, 5, 6})]
    assert [ids for ids in seen if len(ids) == 2] == [[0, 1]] * 8 and seen[5] == [0]


def test_new_faces_new_tracks_and_tracks_end():
    tracker = Tracker(max_gap=0.5)
    assert tracker.update(0.0, [(0, 0, 50, 50)]) == [0]
    assert tracker.update(0.1, [(2, 0, 50, 50), (300, 0, 50, 50)]) == [0, 1]
    for t in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
        tracker.update(t, [(300, 0, 50, 50)])
    # Face 0 was gone 0.6 s > max_gap: back at the same place it is a new person; numbers are never reused.
    assert tracker.update(0.8, [(2, 0, 50, 50), (300, 0, 50, 50)]) == [2, 1]


def test_sparse_sampling_still_tolerates_missed_frames():
    tracker = Tracker(max_gap=0.0)  # no time at all, but MIN_MISSES_KEPT sampled frames
    tracker.update(0.0, [(0, 0, 50, 50)])
    for i in range(MIN_MISSES_KEPT):
        tracker.update(2.0 * (i + 1), [])
    assert tracker.update(2.0 * (MIN_MISSES_KEPT + 1), [(0, 0, 50, 50)]) == [0]


def test_a_far_or_resized_detection_is_not_the_same_face():
    tracker = Tracker()
    tracker.update(0.0, [(0, 0, 50, 50)])
    assert tracker.update(0.1, [(120, 0, 50, 50)]) == [1]  # 2.4 face sizes away
    assert tracker.update(0.2, [(120, 0, 150, 150)]) == [2]  # three times the size


# --- smoothing --------------------------------------------------------------------------------


def _record(time: float, track: int | None, scores: list[float] | None, frame: int | None = None) -> dict:
    if scores is None:
        return {"path": "v.mp4", "frame": frame, "time": time, "face": None, "track": None, "box": None,
                "label": None, "score": None, "scores": None, "reason": "no face found"}
    best = int(np.argmax(scores))
    return {"path": "v.mp4", "frame": frame, "time": time, "face": 0, "track": track, "box": [0, 0, 9, 9],
            "label": CLASSES[best], "score": scores[best], "scores": dict(zip(CLASSES, scores))}


def test_one_odd_frame_does_not_flip_the_smoothed_label():
    happy, sad = [0.1, 0.8, 0.1], [0.1, 0.2, 0.7]
    smoother = Smoother(1.0)
    out = []
    for i in range(10):
        out += smoother.push(i * 0.2, [_record(i * 0.2, 0, sad if i == 5 else happy, frame=i)])
    out += smoother.finish()
    records = [r for frame in out for r in frame]
    assert [r["frame"] for r in records] == list(range(10))
    assert [r["raw_label"] for r in records].count("sad") == 1
    assert all(r["label"] == "happy" for r in records)
    # Frame 4 (0.8 s) averages frames 2 to 6 (0.4 to 1.2 s), one of them sad.
    assert records[4]["scores"]["sad"] == pytest.approx((4 * 0.1 + 0.7) / 5)
    assert records[4]["raw_scores"] == dict(zip(CLASSES, happy))


def test_smoothing_waits_half_a_window_and_keeps_tracks_apart():
    smoother = Smoother(1.0)
    assert smoother.push(0.0, [_record(0.0, 0, [1, 0, 0]), _record(0.0, 1, [0, 1, 0])]) == []
    assert smoother.push(0.5, [_record(0.5, None, None)]) == []  # 0.5 is not past 0.0 + 0.5
    (first,) = smoother.push(0.6, [_record(0.6, 0, [0, 0, 1])])
    assert [r["label"] for r in first] == ["angry", "happy"]  # track 1's scores never mix with track 0's
    assert first[0]["scores"]["angry"] == 1.0  # the frame at 0.6 is outside the window of 0.0
    rest = smoother.finish()
    assert rest[0][0]["reason"] == "no face found" and "raw_label" not in rest[0][0]
    assert rest[1][0]["scores"] == {"angry": 0.0, "happy": 0.0, "sad": 1.0}  # 0.0 is outside 0.6's window


def test_smoothed_top_k_follows_the_smoothed_scores():
    smoother = Smoother(10.0)
    for i, scores in enumerate(([0.6, 0.3, 0.1], [0.0, 0.3, 0.7])):
        smoother.push(float(i), [{**_record(float(i), 0, scores), "top_k": [{}, {}]}])
    (frame, _) = smoother.finish()
    assert [t["label"] for t in frame[0]["top_k"]] == ["sad", "angry"]


# --- follow_faces and summaries ---------------------------------------------------------------


def test_follow_faces_tracks_videos_only():
    photo = [{"path": "p.jpg", "face": 0, "box": [0, 0, 9, 9], "label": "happy", "score": 1.0, "scores": {}}]
    frames = [[_record(0.0, None, [0, 1, 0], 0) | {"box": [0, 0, 40, 40]}], [_record(0.1, None, None, 1)],
              [_record(0.2, None, [0, 1, 0], 2) | {"box": [3, 0, 40, 40]}]]
    stream = [photo, *frames, Failure("v.mp4", "cut short"), VideoEnd("v.mp4"), *frames, VideoEnd("v.mp4")]
    out = list(follow_faces(stream, smooth=0.5))
    assert "track" not in out[0][0]
    kinds = [type(r).__name__ for r in out]
    assert kinds == ["list"] * 4 + ["Failure", "VideoEnd"] + ["list"] * 3 + ["VideoEnd"]
    tracks = [r[0]["track"] for r in out if isinstance(r, list) and "frame" in r[0]]
    assert tracks == [0, None, 0, 0, None, 0]  # the second video numbers its tracks afresh
    assert list(out[1][0])[:5] == ["path", "frame", "time", "face", "track"]


def test_summary_rows():
    summary = VideoSummary("v.mp4", CLASSES)
    for i, scores in enumerate(([0.2, 0.7, 0.1], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1])):
        summary.add(_record(0.5 + i, 3, scores, frame=i))
    summary.add(_record(9.0, None, None, frame=9))
    summary.add(_record(2.0, 1, [0.1, 0.1, 0.8], frame=2))
    one, three = summary.rows()
    assert one["track"] == 1 and one["frames"] == 1 and one["label"] == "sad" and one["start"] == one["end"] == 2.0
    assert three["start"] == 0.5 and three["end"] == 3.5 and three["frames"] == 4
    assert three["label"] == "happy" and three["share"] == 0.5
    assert three["shares"] == {"angry": 0.25, "happy": 0.5, "sad": 0.25}
    assert three["scores"]["happy"] == pytest.approx(0.45)
    assert describe_shares(three["shares"]) == "happy 50%, sad 25%, angry 25%"


def test_summary_ties_go_to_the_higher_mean_score_and_use_raw_scores():
    summary = VideoSummary("v.mp4", CLASSES)
    summary.add(_record(0.0, 0, [0.9, 0.05, 0.05]))
    smoothed = _record(1.0, 0, [0.1, 0.5, 0.4]) | {"raw_scores": dict(zip(CLASSES, [0.1, 0.3, 0.6]))}
    summary.add(smoothed)
    (row,) = summary.rows()
    assert row["label"] == "angry" and row["scores"]["sad"] == pytest.approx(0.325)
