"""The emotion classes: their canonical order, in one place.

The canonical order is the sorted folder order an image-folder loader gives,
which is *not* the order of the emotion codes in the original ``fer2013.csv``.
"""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

# fer2013.csv column `emotion`: 0 angry, 1 disgust, 2 fear, 3 happy, 4 sad, 5 surprise, 6 neutral.
FER2013_CSV_CODES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# fer2013.csv column `Usage` -> split name (the usual FER2013 protocol).
FER2013_CSV_USAGE: dict[str, str] = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}

IMAGE_SIZE = 48
