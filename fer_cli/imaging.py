"""Decoding any image (a file, encoded bytes, a Pillow image or a NumPy array) into the model's input.

Every way in goes through `open_upright` or `as_picture`, which hold fer's one
pixel limit (`max_pixels`), so a decompression bomb is refused before it is
decoded, whichever way it came.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from fer_cli.errors import DataError
from fer_cli.labels import IMAGE_SIZE

# fer's pixel limit: 100 megapixels (a 12,000 x 8,300 picture). Pillow warns past 89 and refuses past
# 179; in between it decodes with a warning and about 1 GB of memory for one picture. Phone photos
# are 12-50 megapixels (200 in a full-resolution mode). FER_MAX_PIXELS raises or lowers it.
MAX_PIXELS = 100_000_000

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})


def is_image_name(path: Path) -> bool:
    """Whether `path` looks like an image we read: a known suffix and not hidden."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


class ImageTooLarge(DataError):
    """A picture past fer's pixel limit (`max_pixels`)."""


def max_pixels() -> int:
    """fer's pixel limit: ``FER_MAX_PIXELS`` where set (a whole number), else `MAX_PIXELS`."""
    value = os.environ.get("FER_MAX_PIXELS", "").strip()
    try:
        return int(value) if value else MAX_PIXELS
    except ValueError:
        raise DataError(f"FER_MAX_PIXELS must be a whole number of pixels, not {value!r}") from None


def check_pixels(width: int, height: int) -> None:
    """Refuse a picture past `max_pixels`, before it is decoded.

    Raises:
        ImageTooLarge: naming the size and the limit.
    """
    limit = max_pixels()
    if width * height > limit:
        raise ImageTooLarge(f"image too large ({width}x{height}, {width * height / 1e6:.0f} megapixels; "
                            f"fer's limit is {limit / 1e6:g}, set FER_MAX_PIXELS to change it)")


def open_upright(source: Path | str | bytes | Any):
    """Open and decode an image file (or its encoded bytes), with its EXIF orientation applied.

    The size is checked against fer's pixel limit from the header, before decoding.

    Args:
        source: the image file, or its bytes, or a binary file object.

    Returns:
        A Pillow image in the file's own mode.

    Raises:
        ImageTooLarge: past the pixel limit.
        OSError, ValueError: when the file cannot be decoded.
    """
    from PIL import Image, ImageOps

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    with warnings.catch_warnings():
        # fer's own limit (below) decides; Pillow's warning would only repeat it, in Python's words.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img = Image.open(source)
        except Image.DecompressionBombError as exc:  # past twice Pillow's own limit: refused from the header too
            raise ImageTooLarge(f"image too large ({_bomb_pixels(exc)}; Pillow refuses past "
                                f"{2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels)") from exc
    with img:
        check_pixels(*img.size)
        img.load()
        return ImageOps.exif_transpose(img)


def _bomb_pixels(exc: Exception) -> str:
    import re

    found = re.search(r"\((\d+) pixels\)", str(exc))
    return f"{int(found.group(1)) / 1e6:.0f} megapixels" if found else "past Pillow's limit"


def as_picture(image: Any):
    """Any image a user hands fer, as a Pillow image (upright, within the pixel limit).

    Args:
        image: a path (str or `pathlib.Path`), encoded bytes (JPEG, PNG, ...), a
            `PIL.Image.Image`, or a NumPy uint8 array: H x W (gray), H x W x 3 (RGB)
            or H x W x 4 (RGBA). An OpenCV frame is BGR: pass ``frame[..., ::-1]``.

    Raises:
        DataError: for a type or array shape fer cannot take, or past the pixel limit.
        OSError, ValueError: when a file or bytes cannot be decoded.
    """
    from PIL import Image

    if isinstance(image, (str, Path, bytes, bytearray, memoryview)):
        return open_upright(image)
    if isinstance(image, Image.Image):
        check_pixels(*image.size)
        return image
    if isinstance(image, np.ndarray):
        return _array_picture(image)
    raise DataError(f"cannot take a {type(image).__name__} as an image: give a path, bytes, a PIL image or a "
                    "NumPy uint8 array (H x W gray, H x W x 3 RGB)")


def _array_picture(array: np.ndarray):
    from PIL import Image

    if array.dtype != np.uint8:
        raise DataError(f"a NumPy image must be uint8 (0..255), not {array.dtype}: convert it with "
                        "np.clip(a, 0, 255).astype(np.uint8)")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        mode = "L"
    elif array.ndim == 3 and array.shape[2] in (3, 4):
        mode = "RGB" if array.shape[2] == 3 else "RGBA"
    else:
        raise DataError(f"a NumPy image must be H x W (gray), H x W x 3 (RGB) or H x W x 4 (RGBA), not {array.shape}")
    check_pixels(array.shape[1], array.shape[0])
    return Image.fromarray(np.ascontiguousarray(array), mode=mode)


def open_grayscale(path: Path | str):
    """Open an image file as an 8-bit grayscale Pillow image, upright.

    Colour, alpha, palette, CMYK and 16-bit images are converted rather than refused.
    """
    return to_grayscale(open_upright(path))


def to_grayscale(img):
    """Convert a Pillow image of any mode to 8-bit grayscale ``L``."""
    from PIL import Image

    if img.mode == "L":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # Pillow's own I->L conversion clips at 255 instead of scaling.
        array = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or array.max() > 255 else 255.0
        return Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Composite on white so transparent areas don't turn black.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("L")


def to_rgb(img):
    """Convert a Pillow image of any mode to 8-bit ``RGB``, transparent areas on white."""
    from PIL import Image

    if img.mode == "RGB":
        return img
    if img.mode.startswith("I") or img.mode == "F":
        return to_grayscale(img).convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return img.convert("RGB")


def fit_to_input(img, size: int = IMAGE_SIZE) -> np.ndarray:
    """Resize a grayscale (or RGB) image to `size` x `size` (no crop) as a uint8 array."""
    from PIL import Image

    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8)


def fit_images(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """Gray uint8 images (N, H, W) as a model's float32 input (N, size, size, channels): resized, gray copied to RGB.

    fer's data cache holds 48x48 gray faces; a model with another input (its card
    says) sees them resized bilinearly and, for 3 channels, as gray RGB.
    """
    from PIL import Image

    if images.shape[1:3] != (size, size):
        images = np.stack([np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))
                           for image in images]) if len(images) else np.zeros((0, size, size), np.uint8)
    batch = images.astype(np.float32)[..., None]
    return np.repeat(batch, channels, axis=-1) if channels != 1 else batch


def load_face(path: Path | str, size: int = IMAGE_SIZE) -> np.ndarray:
    """Decode an image file whose whole frame is a face into a `size` x `size` uint8 array."""
    return fit_to_input(open_grayscale(path), size)


def describe_error(exc: BaseException) -> str:
    """A short, user-readable reason why an image (or a video frame) could not be decoded.

    Args:
        exc: what the decoder raised.

    Returns:
        One line, without the exception's type unless it has no message.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(exc, DataError):
        return str(exc)
    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large ({exc}); Pillow's decompression-bomb guard refused it"
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image (unknown or corrupt format)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
