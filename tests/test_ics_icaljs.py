"""A third parser, when present: Mozilla's ical.js (Thunderbird, Nextcloud), via Node.

ical.js reads offsets only from the file's VTIMEZONEs here, converts each
onset with TZOFFSETFROM and, in an observance with RDATEs, ignores DTSTART as
an onset: the two behaviours `chancal.exporters.vtimezone` corrects for.
Skipped unless `node` can `require('ical.js')` (for example
`npm install ical.js` and NODE_PATH pointing at its node_modules).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from chancal.exporters.ics import FeedHeader, render_feed
from chancal.plan import AllDay, Timed
from test_ics_support import STAMP, make_plan_by_hand, timed_event

SCRIPT = r"""
const ICAL = require('ical.js');
const text = require('fs').readFileSync(0, 'utf8');
const comp = new ICAL.Component(ICAL.parse(text));
ICAL.TimezoneService.reset();
for (const v of comp.getAllSubcomponents('vtimezone')) {
  ICAL.TimezoneService.register(new ICAL.Timezone(v));
}
const out = {};
for (const v of comp.getAllSubcomponents('vevent')) {
  const e = new ICAL.Event(v);
  const at = (t) => (t.isDate ? t.toString() : t.toUnixTime());
  out[e.uid] = [at(e.startDate), at(e.endDate), e.summary];
}
process.stdout.write(JSON.stringify(out));
"""


def _icaljs_available() -> bool:
    node = shutil.which("node")
    if node is None:
        return False
    probe = subprocess.run(
        [node, "-e", "require.resolve('ical.js')"], capture_output=True, check=False
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _icaljs_available(), reason="node with ical.js not found")


def test_icaljs_reads_every_instant(tmp_path: Path) -> None:
    """ical.js agrees on every instant, including the hour after each spring-forward."""
    plan = make_plan_by_hand()
    events = [
        *plan.events,
        timed_event("nyc", datetime(2023, 3, 12, 3, 30), 1, n=900),
        timed_event("ber", datetime(2023, 3, 26, 3, 30), 1, n=901),
        timed_event("syd", datetime(2022, 10, 2, 3, 30), 1, n=902),
    ]
    data = render_feed(events, FeedHeader("T", "d", "Europe/Berlin"), stamp=STAMP)
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run([node, "-e", SCRIPT], input=data, capture_output=True, check=True)
    parsed = json.loads(result.stdout)
    assert len(parsed) == len(events)
    for ev in events:
        start, end, summary = parsed[ev.uid]
        match ev.span:
            case AllDay(first, stop):
                assert (start, end) == (first.isoformat(), stop.isoformat()), ev.key
            case Timed(first, stop):
                assert (start, end) == (first.timestamp(), stop.timestamp()), ev.key
        assert summary == ev.title
