from __future__ import annotations

import struct
from datetime import UTC, datetime

import numpy as np

from scoring.audit.bursts import Burst
from scoring.audit.chart import render_chart


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_chart_is_a_png_at_preview_size_with_bursts() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(300)
    created = [datetime(2020 + i % 5, 1 + i % 12, 1, tzinfo=UTC) for i in range(300)]
    burst = Burst(100, 150, 0.9, created[100], created[150], 30.0)
    data = render_chart(p, created, [burst], title="Followers of $\\alpha$ <b>")
    assert png_size(data) == (800, 450)


def test_chart_without_dates_or_followers() -> None:
    assert png_size(render_chart([0.1, 0.9], [None, None])) == (800, 450)
    assert png_size(render_chart([], [], size=(400, 300))) == (400, 300)
    assert png_size(render_chart([0.5], [datetime(2021, 1, 1, tzinfo=UTC)])) == (800, 450)
