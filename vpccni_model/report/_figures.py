"""Matplotlib figures as PNG bytes for a report: the same figure gives the same bytes (no
``Software`` entry naming the matplotlib version, no timestamp), so two reports of one run
are identical files."""

from __future__ import annotations

import io
from typing import Any

from vpccni_model.sim.plots import PNG_METADATA, pyplot

#: Pixels per inch of embedded figures: the simulator's 11-inch-wide plots come out 1,100 px,
#: about the width of the report's column, so their labels are read at their drawn size.
DPI = 100


def png_bytes(fig: Any, dpi: int = DPI) -> bytes:
    """Encode ``fig`` as PNG and close it (figures are pyplot's, which keeps them open)."""
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, metadata=PNG_METADATA)
    finally:
        pyplot().close(fig)
    return buffer.getvalue()
