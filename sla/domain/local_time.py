"""Moments as people read them: in the municipality's time zone, Russian order («03.09.2026
10:20»). Stored and machine-read moments stay UTC ISO; what a person reads goes through here."""

from datetime import datetime, tzinfo


def local_text(moment: datetime | None, zone: tzinfo) -> str:
    return "—" if moment is None else moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")
