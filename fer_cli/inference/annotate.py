"""Drawing the faces found and their labels on a copy of a photo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLOURS = {
    "angry": (220, 40, 40), "disgust": (120, 160, 30), "fear": (150, 60, 200), "happy": (240, 190, 0),
    "neutral": (150, 150, 150), "sad": (40, 110, 220), "surprise": (240, 120, 20),
}


class Annotator:
    """Writes annotated copies of photos into one folder, never overwriting one with another.

    Args:
        folder: where the copies go (created if missing).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._taken: set[str] = set()

    def _target(self, source: Path) -> Path:
        stem, suffix = source.stem, source.suffix.lower()
        if suffix not in (".jpg", ".jpeg", ".png", ".webp", ".bmp"):
            suffix = ".png"
        name, number = f"{stem}{suffix}", 1
        while name in self._taken:
            number += 1
            name = f"{stem}-{number}{suffix}"
        self._taken.add(name)
        return self.folder / name

    def write(self, path: str, records: list[dict[str, Any]]) -> Path:
        """Draw each record's box and label on the photo at `path`; return the copy's path."""
        from PIL import ImageDraw, ImageFont

        from fer_cli.atomic import atomic_path
        from fer_cli.imaging import open_upright

        picture = open_upright(path).convert("RGB")
        draw = ImageDraw.Draw(picture)
        line = max(2, round(max(picture.size) / 300))
        font = ImageFont.load_default(size=max(12, round(max(picture.size) / 40)))
        for record in records:
            if not record.get("box"):
                continue
            x, y, w, h = record["box"]
            colour = COLOURS.get(record["label"], (0, 200, 0))
            draw.rectangle((x, y, x + w, y + h), outline=colour, width=line)
            text = f"{record['label']} {record['score']:.0%}"
            left, top, right, bottom = draw.textbbox((x, y), text, font=font)
            lift = bottom - top + 2 * line
            top_y = y - lift if y - lift >= 0 else y + h
            draw.rectangle((x, top_y, x + (right - left) + 2 * line, top_y + lift), fill=colour)
            draw.text((x + line, top_y + line - (top - y)), text, fill=(0, 0, 0), font=font)
        target = self._target(Path(path))
        with atomic_path(target) as tmp:
            picture.save(tmp, format="PNG" if target.suffix == ".png" else None)
        return target
