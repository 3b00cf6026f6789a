"""Small helpers that turn domain results into Dagster metadata (previews, plots)."""

from pathlib import Path

import dagster as dg
import polars as pl


def preview(frame: pl.DataFrame, rows: int = 10) -> dg.MetadataValue:
    """The first rows of a frame as a markdown table for the asset page."""
    if frame.is_empty():
        return dg.MetadataValue.md("_no rows_")
    head = frame.head(rows)
    lines = [
        "| " + " | ".join(head.columns) + " |",
        "|" + "---|" * len(head.columns),
    ]
    for row in head.iter_rows():
        cells = [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def image(path: Path) -> dg.MetadataValue:
    """A PNG shown inline on the asset page (as a data URI), falling back to its path."""
    import base64

    if not path.exists():
        return dg.MetadataValue.text(f"missing: {path}")
    encoded = base64.b64encode(path.read_bytes()).decode()
    return dg.MetadataValue.md(f"![{path.stem}](data:image/png;base64,{encoded})")
