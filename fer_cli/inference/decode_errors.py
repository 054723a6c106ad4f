"""Why a picture could not be decoded, in a few words for the user.

A leaf module (Pillow only, imported when needed), so that prediction does not
load the data-cache layer just to describe a bad file; the data layer may
import it too.
"""

from __future__ import annotations


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
