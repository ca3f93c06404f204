"""DashboardStore: each repository's dashboard issue number, so that a refresh reads that issue instead of
searching the repository's issues for the marker (GitHub lists them a hundred at a time: past the first
pages a search would miss it and open a second one)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine, delete, select

from bot.store.engine import write_transaction
from bot.store.models import dashboard_issues
from bot.store.queue import upsert_insert
from bot.store.types import utc, utc_now


class DashboardStore:
    """Remembers and forgets dashboard issue numbers, by repository (case-insensitive)."""

    def __init__(self, engine: Engine, now: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = now

    def issue(self, repository: str) -> int | None:
        """The remembered dashboard issue number of ``repository``."""
        column = dashboard_issues.c
        query = select(column.issue_number).where(column.repository == repository.lower())
        with self._engine.connect() as conn:
            found = conn.execute(query).scalar()
        return None if found is None else int(found)

    def remember(self, repository: str, number: int) -> None:
        """``repository``'s dashboard is issue ``number``."""
        now = utc(self._clock())
        row = {"repository": repository.lower(), "issue_number": number, "updated_at": now}
        with write_transaction(self._engine) as conn:
            stmt = upsert_insert(conn, dashboard_issues).values(row)
            conn.execute(stmt.on_conflict_do_update(index_elements=["repository"],
                                                    set_={"issue_number": number, "updated_at": now}))

    def forget(self, repository: str) -> None:
        """Remember no dashboard issue for ``repository`` (it is gone)."""
        with write_transaction(self._engine) as conn:
            conn.execute(delete(dashboard_issues).where(dashboard_issues.c.repository == repository.lower()))
