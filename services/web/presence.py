"""Who is looking at an incident now: every open incident page reports itself every
``HEARTBEAT_SECONDS`` (and says goodbye when it closes); a viewer not heard of for ``TTL`` is gone.

Kept in the memory of the web process, on the app's clock. With several web replicas (deploy/k8s
runs two) a page sees only the colleagues whose pages the same replica serves, so «сейчас
смотрят» may miss someone; it is a hint for working together, never a lock (the claim is the
lock, in PostgreSQL). A restart forgets everyone for at most one heartbeat."""

from dataclasses import dataclass
from datetime import datetime, timedelta

HEARTBEAT_SECONDS = 10
TTL = timedelta(seconds=3 * HEARTBEAT_SECONDS)


@dataclass(frozen=True, order=True)
class Viewer:
    name: str
    login: str


class Presence:
    def __init__(self) -> None:
        self._seen: dict[str, dict[str, tuple[Viewer, datetime]]] = {}

    def report(self, incident_id: str, viewer: Viewer, now: datetime, *, leaving: bool) -> None:
        """``viewer`` has the incident open at ``now`` (or has just closed it)."""
        here = self._seen.setdefault(incident_id, {})
        if leaving:
            here.pop(viewer.login, None)
        else:
            here[viewer.login] = (viewer, now)
        self._forget(now)

    def viewers(self, incident_id: str) -> list[Viewer]:
        return sorted(viewer for viewer, _ in self._seen.get(incident_id, {}).values())

    def _forget(self, now: datetime) -> None:
        """Drop whoever has not been heard of for TTL: memory holds only open pages."""
        for incident_id in list(self._seen):
            here = self._seen[incident_id]
            for login in [login for login, (_, at) in here.items() if now - at > TTL]:
                del here[login]
            if not here:
                del self._seen[incident_id]
