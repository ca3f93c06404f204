"""SQLite writers queue for their turn (``write_transaction``): threads of one process and several
processes write one file at once, and every write lands once."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import Engine, text

from bot.store import create_db_engine
from bot.store.engine import write_transaction

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
