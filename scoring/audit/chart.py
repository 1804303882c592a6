"""The burst chart: followers in follow order against account creation date, as PNG bytes.

Each dot is a follower, coloured by its fake probability; bursts are shaded. A bought dump shows
as a band of red dots created within days of each other. Drawn headless (Agg) at chat-preview
size with large type. matplotlib is imported here only, lazily, so the rest of the audit stays
light.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np

from scoring.audit.bursts import Burst, created_days
from scoring.audit.types import FloatArray, as_probabilities

__all__ = ["render_chart"]


def render_chart(
    probabilities: FloatArray | Sequence[float],
    created: Sequence[datetime | None],
    bursts: Sequence[Burst] = (),
    *,
    title: str | None = None,
    size: tuple[int, int] = (800, 450),
) -> bytes:
    """PNG bytes of the chart; without any creation date, the y axis shows the probability.

    ``title`` is drawn as plain text (no mathtext), so platform names cannot inject markup.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    p = as_probabilities(probabilities)
    days = created_days(created) if len(created) == len(p) else np.full(len(p), np.nan)
    # red dots drawn last, on top of the green ones
    order = np.argsort(p, kind="stable")
    p, days = p[order], days[order]
    dated = ~np.isnan(days)
    x = order + 1
    dpi = 100
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    style: dict[str, Any] = {"cmap": "RdYlGn_r", "vmin": 0.0, "vmax": 1.0, "s": 14, "linewidths": 0}
    if dated.any():
        y = days[dated].astype("datetime64[D]")
        sc = ax.scatter(x[dated], y, c=p[dated], **style)
        ax.set_ylabel("account created", fontsize=14)
        ax.yaxis_date()
    else:
        sc = ax.scatter(x, p, c=p, **style)
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel("fake probability (no dates)", fontsize=14)
    for i, b in enumerate(bursts):
        ax.axvspan(
            b.start + 0.5,
            b.end + 1.5,
            color="tab:red",
            alpha=0.15,
            lw=0,
            label="burst" if i == 0 else None,
        )
    if bursts:
        ax.legend(loc="upper right", fontsize=12, framealpha=0.8)
    ax.set_xlabel("follower, newest first", fontsize=14)
    if len(p):
        ax.set_xlim(0, len(p) + 1)
    else:
        ax.text(
            0.5, 0.5, "no followers", ha="center", va="center", fontsize=18, transform=ax.transAxes
        )
    ax.tick_params(labelsize=12)
    if title:
        ax.set_title(title[:80], fontsize=15, parse_math=False)
    bar = fig.colorbar(sc, ax=ax, pad=0.02)
    bar.set_label("fake probability", fontsize=13)
    bar.ax.tick_params(labelsize=11)
    fig.subplots_adjust(left=0.11, right=0.98, bottom=0.14, top=0.9 if title else 0.95)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
