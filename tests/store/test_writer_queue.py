"""SQLite writers queue for their turn (``write_transaction``): threads of one process and several
processes write one file at once, and every write lands once."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import Engine, text

from bot.store import create_db_engine
from bot.store.engine import write_transaction
from bot.store.writer_queue import when_turn_free, writer_turn

ROOT = Path(__file__).resolve().parents[2]
WRITES = 200
WRITER = """
import sys
from sqlalchemy import text
from bot.store import create_db_engine
from bot.store.engine import write_transaction
engine = create_db_engine(sys.argv[1])
for n in range(int(sys.argv[3])):
    with write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO hits (writer, n) VALUES (:w, :n)"), {"w": sys.argv[2], "n": n})
"""


def _engine(tmp_path: Path) -> Engine:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TABLE hits (writer TEXT, n INTEGER, PRIMARY KEY (writer, n))"))
    return engine


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT writer, count(*) FROM hits GROUP BY writer")).all())


def test_threads_and_processes_writing_at_once_all_land(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    url = str(engine.url)

    def write(name: str) -> None:
        for n in range(WRITES):
            with write_transaction(engine) as conn:
                conn.execute(text("INSERT INTO hits (writer, n) VALUES (:w, :n)"), {"w": name, "n": n})

    others = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"process-{i}", str(WRITES)], cwd=ROOT)
              for i in range(2)]
    threads = [threading.Thread(target=write, args=(f"thread-{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [process.wait(timeout=60) for process in others] == [0, 0]
    expected = {f"thread-{i}": WRITES for i in range(3)} | {f"process-{i}": WRITES for i in range(2)}
    assert _counts(engine) == expected
    assert (tmp_path / "queue.db.writer").exists()  # the file the processes queue on
    engine.dispose()


def test_a_refused_writer_is_called_back_once_the_turn_is_free(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    other = os.open(tmp_path / "queue.db.writer", os.O_RDWR)  # another process's writer: its own open file
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        with writer_turn(engine, wait=False) as ours:
            assert not ours
        freed = threading.Event()
        when_turn_free(engine, freed.set)
        assert not freed.wait(0.2)  # still taken
        fcntl.flock(other, fcntl.LOCK_UN)
        assert freed.wait(5)
        with writer_turn(engine, wait=False) as ours:
            assert ours
    finally:
        os.close(other)
        engine.dispose()


def test_where_nothing_queues_the_callback_comes_at_once() -> None:
    engine = create_db_engine("sqlite://")  # in memory: one connection, no file to queue on
    called: list[bool] = []
    when_turn_free(engine, lambda: called.append(True))
    assert called == [True]
