"""ReportFileStore: published report files (plots, report.md, log.txt) as rows, so that every replica
on one database serves what any replica published. A report is the set of files under one token,
written in one transaction; retention deletes reports by their creation time, except the files pinned by
a holder that shows them (a repository's dashboard shows its champion-history plot as long as it wants)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, distinct, exists, func, insert, select

from bot.store.engine import write_transaction
from bot.store.models import report_files, report_pins
from bot.store.queue import upsert_insert
from bot.store.types import utc


@dataclass(frozen=True)
class StoredFile:
    """One published file: its bytes and the content type it is served with."""

    token: str
    name: str
    content: bytes
    content_type: str
    created_at: datetime


class ReportFileStore:
    """Adds, reads and prunes published report files; safe across threads, processes and replicas."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, token: str, files: Mapping[str, tuple[bytes, str]], created_at: datetime) -> None:
        """Store ``files`` (name → (content, content type)) under ``token``, all or none."""
        if not files:
            return
        rows = [{"token": token, "name": name, "content": content, "content_type": content_type,
                 "created_at": created_at} for name, (content, content_type) in sorted(files.items())]
        with write_transaction(self._engine) as conn:
            conn.execute(insert(report_files), rows)

    def get(self, token: str, name: str) -> StoredFile | None:
        """The file ``name`` of report ``token``; None when there is no such file."""
        query = select(report_files).where(report_files.c.token == token, report_files.c.name == name)
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _stored(row)

    def files(self, token: str | None = None) -> list[StoredFile]:
        """Every stored file (of report ``token`` only, when given), by token and name."""
        query = select(report_files).order_by(report_files.c.token, report_files.c.name)
        if token is not None:
            query = query.where(report_files.c.token == token)
        with self._engine.connect() as conn:
            return [_stored(row) for row in conn.execute(query)]

    def pin(self, holder: str, token: str, name: str, now: datetime) -> None:
        """Keep file ``name`` of report ``token`` past the retention period for ``holder`` (instead of the
        file it pinned before, which ages out as usual)."""
        row = {"holder": holder, "token": token, "name": name, "pinned_at": now}
        with write_transaction(self._engine) as conn:
            stmt = upsert_insert(conn, report_pins).values(row)
            conn.execute(stmt.on_conflict_do_update(index_elements=["holder"],
                                                    set_={"token": token, "name": name, "pinned_at": now}))

    def unpin(self, holder: str) -> None:
        """``holder`` keeps nothing any more."""
        with write_transaction(self._engine) as conn:
            conn.execute(delete(report_pins).where(report_pins.c.holder == holder))

    def pinned(self) -> dict[str, tuple[str, str]]:
        """Each holder's pinned file: holder → (token, name)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(report_pins.c.holder, report_pins.c.token, report_pins.c.name))
            return {row.holder: (row.token, row.name) for row in rows}

    def delete_older_than(self, cutoff: datetime) -> int:
        """Delete the reports created before ``cutoff``, but not their pinned files; returns how many
        reports (tokens) lost files."""
        pinned = exists().where(report_pins.c.token == report_files.c.token,
                                report_pins.c.name == report_files.c.name)
        old = (report_files.c.created_at < cutoff) & ~pinned
        with write_transaction(self._engine) as conn:
            reports = conn.execute(select(func.count(distinct(report_files.c.token))).where(old)).scalar_one()
            conn.execute(delete(report_files).where(old))
        return int(reports)


def _stored(row: Row[Any]) -> StoredFile:
    return StoredFile(row.token, row.name, bytes(row.content), row.content_type, utc(row.created_at))
