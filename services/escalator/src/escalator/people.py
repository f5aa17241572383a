"""People as the escalator knows them now: the directory folded from its log, the default team, page links."""

from typing import Protocol

from incidents_shared.domain.directory.state import DirectoryState
from incidents_shared.domain.escalation.people import PageLinks, People


class DirectoryView(Protocol):
    """The directory folded so far (incidents_shared.directory_log.DirectoryLog)."""

    @property
    def state(self) -> DirectoryState:
        """The current directory."""


class PeopleSource:
    """Called once per batch and per timer tick: the same `People` until the directory changes."""

    def __init__(self, directory: DirectoryView, default_team: str, links: PageLinks) -> None:
        self.directory, self.default_team, self.links = directory, default_team, links
        self._last: People | None = None

    def __call__(self) -> People:
        state = self.directory.state
        if self._last is None or self._last.directory is not state:
            self._last = People(state, self.default_team, self.links)
        return self._last
