"""benchmarks/photo_faces.py: FER2013 faces pasted into photos, and what detect-and-crop makes of them."""

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from helpers import FER_IMAGES, PHOTOS, REPO, face_like, needs_shared


@pytest.fixture(scope="module")
def photo_faces():
    """The benchmark script as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("photo_faces", REPO / "benchmarks" / "photo_faces.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_face_is_pasted_where_the_box_says(photo_faces):
    face = face_like(3, np.random.default_rng(0))
    source = Image.fromarray(np.random.default_rng(1).integers(0, 255, (90, 120, 3), dtype=np.uint8), "RGB")
    for index in range(6):  # both kinds of background: the source photo and generated textures
        photo, (x, y, w, h) = photo_faces.compose(face, seed=7, index=index, sources=[source], upscale=3)
        assert photo.mode == "RGB" and w == h == 144
        assert 0 <= x and 0 <= y and x + w <= photo.width and y + h <= photo.height and photo.size != (w, h)
        pasted = np.asarray(photo)[y : y + h, x : x + w]
        expected = np.asarray(Image.fromarray(face).resize((144, 144), Image.Resampling.BICUBIC))
        assert np.array_equal(pasted[..., 0], expected) and np.array_equal(pasted[..., 2], expected)
        # Around the square is other content: the photo outside it is neither empty nor one flat colour.
        outside = np.ones(photo.size[::-1], bool)
        outside[y : y + h, x : x + w] = False
        assert outside.any() and np.asarray(photo.convert("L"))[outside].std() > 1


def test_edge_cut_pushes_the_face_past_an_edge(photo_faces):
    face = face_like(2, np.random.default_rng(0))
    for index in range(8):
        photo, square = photo_faces.compose(face, seed=0, index=index, sources=[], upscale=2, edge_cut=0.4)
        x, y, w, h = photo_faces.visible(square, photo.size)
        cut = 1 - w * h / (square[2] * square[3])
        assert 0.2 - 0.01 <= cut <= 0.4 + 0.01  # between half the share and the share, on one side only
        pasted = np.asarray(photo)[y : y + h, x : x + w, 0]
        expected = np.asarray(Image.fromarray(face).resize((96, 96), Image.Resampling.BICUBIC))
        assert np.array_equal(pasted, expected[y - square[1] : y - square[1] + h, x - square[0] : x - square[0] + w])
    # Without a cut, the same seed and index give the photo they gave before the option existed.
    plain, _ = photo_faces.compose(face, seed=0, index=3, sources=[])
    again, _ = photo_faces.compose(face, seed=0, index=3, sources=[], edge_cut=0.0)
    assert plain.tobytes() == again.tobytes()


def test_a_photo_depends_only_on_seed_and_index(photo_faces):
    face = face_like(1, np.random.default_rng(0))
    first, box = photo_faces.compose(face, seed=3, index=11, sources=[])
    again, same_box = photo_faces.compose(face, seed=3, index=11, sources=[])
    assert box == same_box and first.tobytes() == again.tobytes()
    other_seed, _ = photo_faces.compose(face, seed=4, index=11, sources=[])
    other_index, _ = photo_faces.compose(face, seed=3, index=12, sources=[])
    assert other_seed.tobytes() != first.tobytes() and other_index.tobytes() != first.tobytes()


def test_a_detection_mostly_inside_the_square_finds_the_face(photo_faces):
    square = (100, 100, 200, 200)
    detections = [SimpleNamespace(box=(10, 10, 50, 50), score=0.9),    # on the background: extra
                  SimpleNamespace(box=(150, 140, 90, 100), score=0.6),  # a small face inside the square
                  SimpleNamespace(box=(90, 90, 220, 230), score=0.7)]   # the whole square, a little past it
    assert photo_faces.match(detections, square) == 2
    assert photo_faces.match(detections[:2], square) == 1
    assert photo_faces.match([SimpleNamespace(box=(250, 250, 100, 100), score=0.9)], square) is None  # a quarter inside


def test_crop_settings_from_the_command_line(photo_faces):
    from fer_cli.inference.faces import CropSettings

    assert photo_faces.parse_crop("default") == CropSettings()
    assert photo_faces.parse_crop("previous") == CropSettings(scale=1.0, shift=0.0, level_eyes=True, padding="black")
    assert photo_faces.parse_crop("scale=1.2,level=off,padding=edge") == CropSettings(scale=1.2, level_eyes=False, padding="edge")
    with pytest.raises(SystemExit):
        photo_faces.parse_crop("zoom=2")


@needs_shared(FER_IMAGES)
@needs_shared(PHOTOS)
def test_pasted_public_test_faces_are_found_and_cropped_like_the_originals(photo_faces):
    from fer_cli.imaging import load_face
    from fer_cli.inference.detector import detect_faces
    from fer_cli.inference.faces import FaceFinder

    faces = [load_face(path) for path in sorted((FER_IMAGES / "test").glob("*/*"))[::100][:36]]  # every class
    sources = photo_faces.load_backgrounds(PHOTOS)
    finder = FaceFinder()  # fer predict's defaults

    def found_and_differences(edge_cut):
        differences, correlations = [], []
        for index, face in enumerate(faces):
            photo, square = photo_faces.compose(face, seed=0, index=index, sources=sources, edge_cut=edge_cut)
            detections = detect_faces(photo)
            hit = photo_faces.match(detections, photo_faces.visible(square, photo.size))
            if hit is not None:
                crop = finder.faces(photo, detections)[hit].crop.astype(np.float64)
                differences.append(np.abs(crop - face).mean())
                correlations.append(np.corrcoef(crop.ravel(), face.ravel())[0, 1])
        return differences, correlations

    # Whole faces: most are found, and each crop shows its face (not a patch of background beside it).
    differences, correlations = found_and_differences(0.0)
    assert len(differences) >= 28 and np.median(correlations) > 0.45 and min(correlations) > 0.0
    # Faces cut by the photo's edge: the missing part is filled with the mirrored picture rather
    # than black, so the crops stay closer to the originals (the black padding fill: 46.4 on average).
    differences, _ = found_and_differences(0.3)
    assert len(differences) >= 24 and np.mean(differences) < 44
