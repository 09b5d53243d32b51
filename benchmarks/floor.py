"""The floor of an export (issue 17): what reading the program and writing its feeds cost at least.

    python benchmarks/floor.py partners.yaml --events 194056 --files 10431 --out /tmp/floor

run.py runs this in a fresh process beside every `chancal export --ics`, with the
numbers of VEVENTs (`BEGIN:VEVENT` lines, copies in several feeds included) and
of .ics files that export wrote, and prints the ratio. It does two things and
nothing else, with the cyclic garbage collector paused throughout:

1. reads the program with the C YAML loader (`yaml.CSafeLoader`), no validation;
2. writes that many VEVENTs into that many files (spread evenly, in a
   VCALENDAR each) with a minimal writer: each text value escaped per RFC 5545,
   each content line folded at 75 octets (never inside a UTF-8 character) and
   ended with CRLF. Every VEVENT is written on its own, as a minimal writer
   would, with the properties chancal's events carry (UID, DTSTAMP, DTSTART
   and DTEND with TZID, SUMMARY, DESCRIPTION, LOCATION, CATEGORIES, ORGANIZER,
   one ATTENDEE per partner contact, STATUS, SEQUENCE, TRANSP, CLASS and two
   VALARMs), its text taken from the program's partners, so the bytes per event
   are close to chancal's (both are printed). No planning, no VTIMEZONE, no lock.

It prints one JSON line: seconds to load, seconds to write, events, files, bytes.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

CRLF = b"\r\n"
# Each event's description: about the length of the starter tiers' agendas.
AGENDA = (
    "Capability workshop for the {name} team\n"
    "- Where they stand on {focus} and what good looks like\n"
    "- Two plays to run with their customers this quarter\n"
    "- Agreed next steps, owners and dates"
)
KINDS = ("capability_workshop", "quarterly_business_review", "monthly_check_in", "site_visit")


def escape(text: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma, newline."""
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> bytes:
    """Encode a content line and fold it at 75 octets, never inside a UTF-8 character."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return data + CRLF
    pieces = []
    start, limit = 0, 75
    while len(data) - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # a continuation byte: back up to the character's start
            end -= 1
        pieces.append(data[start:end])
        start, limit = end, 74  # continuation lines begin with one space
    pieces.append(data[start:])
    return b"\r\n ".join(pieces) + CRLF


def vevent(k: int, partner: dict[str, Any], organizer: str) -> bytes:
    """Write the k-th VEVENT, about a partner of the program."""
    name = str(partner["name"])
    zone = str(partner.get("timezone", "UTC"))
    day = 20270104 + (k % 28)  # any valid date: the value's form is what costs
    focus = ", ".join(partner.get("focus_areas") or ())
    summary = escape(f"{KINDS[k % len(KINDS)]}: {name}")
    lines = [
        b"BEGIN:VEVENT\r\n",
        fold(f"UID:{k:032x}@bench.chancal"),
        fold("DTSTAMP:20270101T000000Z"),
        fold(f"DTSTART;TZID={zone}:{day}T090000"),
        fold(f"DTEND;TZID={zone}:{day}T110000"),
        fold("SUMMARY:" + summary),
        fold("DESCRIPTION:" + escape(AGENDA.format(name=name, focus=focus))),
        fold("LOCATION:" + escape(str(partner.get("location", "")))),
        fold(f"CATEGORIES:{KINDS[k % len(KINDS)]},collaboration"),
        fold(f"ORGANIZER;CN=Manager:mailto:{organizer}"),
    ]
    for contact in partner.get("contacts") or ():
        lines.append(
            fold(
                f'ATTENDEE;CN="{contact["name"]}";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;'
                f"PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:{contact['email']}"
            )
        )
    lines.append(b"STATUS:CONFIRMED\r\nSEQUENCE:0\r\nTRANSP:OPAQUE\r\nCLASS:PUBLIC\r\n")
    for trigger in ("-P1D", "-PT30M"):
        lines.append(b"BEGIN:VALARM\r\nACTION:DISPLAY\r\n")
        lines.append(fold("TRIGGER:" + trigger))
        lines.append(fold("DESCRIPTION:" + summary))
        lines.append(b"END:VALARM\r\n")
    lines.append(b"END:VEVENT\r\n")
    return b"".join(lines)


def write(program: dict[str, Any], events: int, files: int, out: Path) -> int:
    """Write `events` VEVENTs spread evenly over `files` .ics files; return bytes written."""
    partners = program["partners"]
    emails = {m["id"]: m.get("email", "manager@example.com") for m in program["managers"]}
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    k = 0
    per_file, extra = divmod(events, files)
    for f in range(files):
        parts = [b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//floor//EN\r\n"]
        for _ in range(per_file + (f < extra)):
            partner = partners[k % len(partners)]
            parts.append(vevent(k, partner, emails.get(partner.get("manager"), "")))
            k += 1
        parts.append(b"END:VCALENDAR\r\n")
        data = b"".join(parts)
        (out / f"feed-{f}.ics").write_bytes(data)
        written += len(data)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", type=Path)
    parser.add_argument("--events", type=int, required=True, help="VEVENTs to write")
    parser.add_argument("--files", type=int, required=True, help="files to write them into")
    parser.add_argument("--out", type=Path, required=True, help="folder for the files")
    args = parser.parse_args()
    gc.disable()
    began = time.perf_counter()
    import yaml

    program = yaml.load(args.program.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    loaded = time.perf_counter()
    written = write(program, args.events, max(1, args.files), args.out)
    done = time.perf_counter()
    json.dump(
        {
            "load_seconds": loaded - began,
            "write_seconds": done - loaded,
            "events": args.events,
            "files": args.files,
            "bytes": written,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
