"""WAL checkpoints off the commits: with ``background_checkpoints`` no commit copies the log into the database
file; the checkpointer's thread does. Real SQLite files."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, text

from bot.store import create_db_engine
from bot.store.checkpoints import checkpointer_for

ROWS = 3000  # 2 KB each: about 1,500 pages of 4 KB, past SQLite's 1,000-page auto-checkpoint


def _write(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT)"))
    for start in range(0, ROWS, 100):  # a commit per 100 rows: every commit could checkpoint
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t (body) VALUES (:body)"),
                         [{"body": "x" * 2000} for _ in range(start, start + 100)])


def _database_bytes(path: Path) -> int:
    return path.stat().st_size


def test_sqlite_commits_checkpoint_by_default(tmp_path: Path) -> None:
    path = tmp_path / "auto.db"
    engine = create_db_engine(f"sqlite:///{path}")
    _write(engine)
    assert _database_bytes(path) > 2_000_000  # the commit past 1,000 pages copied the log over
    engine.dispose()


def test_with_background_checkpoints_only_the_checkpointer_copies_the_log(tmp_path: Path) -> None:
    path = tmp_path / "background.db"
    engine = create_db_engine(f"sqlite:///{path}", background_checkpoints=True)
    _write(engine)
    assert _database_bytes(path) < 100_000  # nothing copied by the commits: all of it is in the log
    assert Path(f"{path}-wal").stat().st_size > 5_000_000
    checkpointer = checkpointer_for(engine, interval=0.05)
    assert checkpointer is not None
    checkpointer.start()
    try:
        deadline = time.monotonic() + 30
        while _database_bytes(path) < 5_000_000:
            assert time.monotonic() < deadline, "the checkpointer did not copy the log"
            time.sleep(0.05)
    finally:
        checkpointer.stop()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == ROWS
    engine.dispose()


def test_only_sqlite_files_get_a_checkpointer(tmp_path: Path) -> None:
    assert checkpointer_for(create_db_engine("sqlite://")) is None
    assert checkpointer_for(create_db_engine("postgresql://postgres@127.0.0.1:5432/test")) is None
    assert checkpointer_for(create_db_engine(f"sqlite:///{tmp_path / 'file.db'}")) is not None
