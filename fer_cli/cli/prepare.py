"""``fer prepare``: decode a data folder or fer2013.csv into a .npz cache, or a folder into TFRecord shards."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from fer_cli import output
from fer_cli.cli.error_handling import handle_errors
from fer_cli.cli.options import QuietOpt, StrictOpt
from fer_cli.optional import check


@handle_errors
def prepare(
    data: Annotated[Path, typer.Argument(help="A folder with train/ and test/ (optional val/) class folders, a folder of class folders, or fer2013.csv.", show_default=False)],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Cache file to write.", show_default="~/.cache/fer/NAME-HASH.npz")] = None,
    strict: StrictOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if the cache is up to date.")] = False,
    shard_size: Annotated[Optional[int], typer.Option("--shard-size", help="Write a folder of TFRecord shards of this many images each, with bounded memory, for data larger than memory; `fer train` streams it.", min=1, show_default=False)] = None,
    quiet: QuietOpt = False,
) -> None:
    """Decode images into a .npz cache (48x48 grayscale, pixels stored uncompressed) with a JSON manifest.

    Prints a table of images per class and split on stderr, and the cache path on stdout.
    Running it again on unchanged data reuses the cache at once.

    [bold]Examples[/bold]

      fer prepare images/

      fer prepare fer2013.csv -o fer2013.npz

      fer prepare images/ --strict

      fer prepare big_images/ --shard-size 50000 -o big.shards
    """
    from fer_cli.api import prepare as run_prepare

    if shard_size:
        check("tensorflow", feature="fer prepare --shard-size")  # TFRecord shards; a .npz cache needs no TensorFlow
    start = time.perf_counter()
    with output.counting_progress("decoding", quiet) as on_start:
        result = run_prepare(data, out, strict=strict, force=force, shard_size=shard_size, on_start=on_start)
    seconds = time.perf_counter() - start
    manifest = result.manifest
    total = sum(sum(counts.values()) for counts in manifest["counts"].values())
    if not quiet:
        _report(result, bool(shard_size), total, seconds)
    output.write_stdout(f"{result.path}\n")


def _report(result, sharded: bool, total: int, seconds: float) -> None:
    """The counts table, the audit's warnings and the skipped files, on stderr."""
    from fer_cli.data.audit import warnings

    manifest = result.manifest
    _print_counts(manifest)
    for note in manifest.get("notes", []) + warnings(manifest.get("audit", {})):
        output.warn(note)
    skipped = manifest.get("skipped", [])
    for item in skipped[:20]:
        output.warn(f"skipped {item['path']}: {item['reason']}")
    if len(skipped) > 20:
        listed = result.path / "manifest.json" if sharded else result.path.with_suffix(".json")
        output.warn(f"... and {len(skipped) - 20} more skipped files (listed in {listed})")
    what = f"{sum(len(v) for v in manifest['shards'].values())} shards" if sharded else "cache"
    verb = f"reused {what}" if result.reused else f"wrote {what}"
    rate = "" if result.reused else f", {total / max(seconds, 1e-9):,.0f} images/s"
    output.info(f"{verb} {result.path}: {total} images, {len(skipped)} skipped ({seconds:.2f}s{rate})")


def _print_counts(manifest: dict) -> None:
    from rich.table import Table

    counts: dict[str, dict[str, int]] = manifest["counts"]
    splits = sorted(counts, key=lambda s: ("train", "val", "test", "all").index(s) if s in ("train", "val", "test", "all") else 9)
    table = Table(title="images per class")
    table.add_column("class")
    for split in splits:
        table.add_column(split, justify="right")
    for name in manifest["class_names"]:
        table.add_row(output.escape(name), *(f"{counts[s].get(name, 0):,}" for s in splits))
    table.add_row("[bold]total[/bold]", *(f"[bold]{sum(counts[s].values()):,}[/bold]" for s in splits))
    output.print_table(table, to_stderr=True)
