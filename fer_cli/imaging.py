"""Decoding any image file into the model's input: 8-bit grayscale, 48x48."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fer_cli.labels import IMAGE_SIZE

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm"})


def is_image_name(path: Path) -> bool:
    """Whether `path` looks like an image we read: a known suffix and not hidden."""
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def open_upright(path: Path | str):
    """Open and decode an image file, with its EXIF orientation applied.

    Args:
        path: the image file.

    Returns:
        A Pillow image in the file's own mode.

    Raises:
        OSError, ValueError, Image.DecompressionBombError: when the file cannot be decoded.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img.load()
        return ImageOps.exif_transpose(img)


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


def fit_to_input(img, size: int = IMAGE_SIZE) -> np.ndarray:
    """Resize a grayscale image to `size` x `size` (no crop) as a uint8 array."""
    from PIL import Image

    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8)


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

    if isinstance(exc, Image.DecompressionBombError):
        return f"image too large ({exc}); Pillow's decompression-bomb guard refused it"
    if isinstance(exc, UnidentifiedImageError):
        return "not a readable image (unknown or corrupt format)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
