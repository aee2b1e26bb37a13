"""Back-office dashboard (routes register on the admin blueprint).

Everything is drawn on the server (inline SVG and HTML/CSS bars): no JavaScript, no chart
library, nothing fetched from elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template

from symposium import clock
from symposium.blueprints.admin import bp, requires
from symposium.extensions import db
from symposium.models import Event
from symposium.services.accounts import access
from symposium.services.backoffice.dashboard import DayCount, event_dashboard
from symposium.services.checkin import attendance
from symposium.services.privacy.retention import Retention, event_privacy

# The chart's own coordinate system; CSS stretches it to the page's width.
CHART_WIDTH = 600
CHART_HEIGHT = 200


@dataclass(frozen=True)
class Chart:
    """Paths of the cumulative-registrations chart, in CHART_WIDTH x CHART_HEIGHT units."""

    line: str
    area: str
    top: int  # the value at the top edge (a round number at or above the maximum)
    gridlines: list[float]  # y coordinates of the horizontal lines (quarters of ``top``)


def _round_up(n: int) -> int:
    """A round axis maximum at or above ``n`` (1, 2, 3, 4, 5, 6, 8 times a power of ten)."""
    scale = 1
    while True:
        for step in (1, 2, 3, 4, 5, 6, 8):
            if step * scale >= n:
                return step * scale
        scale *= 10


def chart(days: list[DayCount]) -> Chart | None:
    """Geometry of the line and area under the running total; None without any day."""
    if not days:
        return None
    top = _round_up(max(max(d.total for d in days), 1))
    last = max(len(days) - 1, 1)
    points = [
        (i * CHART_WIDTH / last, CHART_HEIGHT - d.total * CHART_HEIGHT / top)
        for i, d in enumerate(days)
    ]
    if len(points) == 1:  # one day: a flat line across
        points.append((CHART_WIDTH, points[0][1]))
    line = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    area = f"{line} L{CHART_WIDTH},{CHART_HEIGHT} L0,{CHART_HEIGHT} Z"
    gridlines = [CHART_HEIGHT * q / 4 for q in range(4)]
    return Chart(line, area, top, gridlines)


@bp.get("/events/<slug>/dashboard")
@requires(access.MANAGE)
def dashboard(event: Event) -> str:
    now = clock.now()
    data = event_dashboard(db.session, event, now)
    return render_template(
        "admin/dashboard.html",
        event=event,
        data=data,
        door=attendance.event_attendance(db.session, event, now),
        anyway=attendance.admitted_anyway(db.session, event),
        chart=chart(data.days),
        chart_width=CHART_WIDTH,
        chart_height=CHART_HEIGHT,
        privacy=event_privacy(db.session, event, Retention.from_config(current_app.config)),
    )
