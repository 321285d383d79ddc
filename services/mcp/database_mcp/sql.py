"""SQL on one SQLite file, with the guarantees enforced by SQLite rather than by the text.

Every call opens its own connection (cheap for SQLite) on a worker thread:

* **read** calls (``query``, schema listing) open ``file:...?mode=ro`` - SQLite itself
  refuses any write - and install an authorizer that allows only reading: SELECT, reads
  of columns, functions (except ``load_extension``), recursive CTEs and a few read-only
  PRAGMAs. Everything else is denied before it runs.
* **write** calls (``execute``, only with ``--allow-write``) open the file read-write with
  an authorizer that allows DDL and DML but still denies ATTACH/DETACH (which also stops
  ``VACUUM INTO`` writing files elsewhere), ``load_extension`` and PRAGMAs that change how
  the database is stored.
* **one statement per call**: the sqlite3 module compiles the first statement and refuses
  the call if anything but whitespace or comments follows it, before executing anything.
* **bound parameters** (``?`` with a list, ``:name`` with an object) are passed to SQLite.
* **row limit**: at most ``max_rows`` rows come back (``truncated`` says there were more).
* **byte limits**, so no statement can make the pod run out of memory: SQLite itself
  refuses to make a string or blob over ``max_value_bytes`` (``SQLITE_LIMIT_LENGTH``:
  ``zeroblob(200000000)`` fails inside SQLite, nothing is allocated), SQLite's heap is
  capped at ``max_memory_bytes`` for the process (``PRAGMA hard_heap_limit``: a statement
  that needs more fails), and rows are read one at a time until the answer would exceed
  ``max_result_bytes`` (as JSON), when it stops with ``truncated`` and the reason.
* **timeout**: a progress handler interrupts the statement once its deadline has passed.

A denied action is reported by name (``DROP TABLE items``), with the reason.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACTIONS = {
    sqlite3.SQLITE_CREATE_INDEX: "CREATE INDEX",
    sqlite3.SQLITE_CREATE_TABLE: "CREATE TABLE",
    sqlite3.SQLITE_CREATE_TEMP_INDEX: "CREATE TEMP INDEX",
    sqlite3.SQLITE_CREATE_TEMP_TABLE: "CREATE TEMP TABLE",
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER: "CREATE TEMP TRIGGER",
    sqlite3.SQLITE_CREATE_TEMP_VIEW: "CREATE TEMP VIEW",
    sqlite3.SQLITE_CREATE_TRIGGER: "CREATE TRIGGER",
    sqlite3.SQLITE_CREATE_VIEW: "CREATE VIEW",
    sqlite3.SQLITE_DELETE: "DELETE",
    sqlite3.SQLITE_DROP_INDEX: "DROP INDEX",
    sqlite3.SQLITE_DROP_TABLE: "DROP TABLE",
    sqlite3.SQLITE_DROP_TEMP_INDEX: "DROP TEMP INDEX",
    sqlite3.SQLITE_DROP_TEMP_TABLE: "DROP TEMP TABLE",
    sqlite3.SQLITE_DROP_TEMP_TRIGGER: "DROP TEMP TRIGGER",
    sqlite3.SQLITE_DROP_TEMP_VIEW: "DROP TEMP VIEW",
    sqlite3.SQLITE_DROP_TRIGGER: "DROP TRIGGER",
    sqlite3.SQLITE_DROP_VIEW: "DROP VIEW",
    sqlite3.SQLITE_INSERT: "INSERT",
    sqlite3.SQLITE_PRAGMA: "PRAGMA",
    sqlite3.SQLITE_READ: "READ",
    sqlite3.SQLITE_SELECT: "SELECT",
    sqlite3.SQLITE_TRANSACTION: "TRANSACTION",
    sqlite3.SQLITE_UPDATE: "UPDATE",
    sqlite3.SQLITE_ATTACH: "ATTACH",
    sqlite3.SQLITE_DETACH: "DETACH",
    sqlite3.SQLITE_ALTER_TABLE: "ALTER TABLE",
    sqlite3.SQLITE_REINDEX: "REINDEX",
    sqlite3.SQLITE_ANALYZE: "ANALYZE",
    sqlite3.SQLITE_CREATE_VTABLE: "CREATE VIRTUAL TABLE",
    sqlite3.SQLITE_DROP_VTABLE: "DROP VIRTUAL TABLE",
    sqlite3.SQLITE_FUNCTION: "FUNCTION",
    sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
    sqlite3.SQLITE_RECURSIVE: "RECURSIVE",
}
READ_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_RECURSIVE}
READ_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
    "collation_list",
    "function_list",
    "user_version",
    "schema_version",
    "page_count",
    "page_size",
    "encoding",
}
OBJECT_PRAGMAS = {
    "table_info",
    "table_xinfo",
    "table_list",
    "index_list",
    "index_info",
    "index_xinfo",
    "foreign_key_list",
}
WRITE_PRAGMAS = READ_PRAGMAS | {
    "foreign_keys",
    "foreign_key_check",
    "integrity_check",
    "quick_check",
    "optimize",
}
NEVER = {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH}
SCHEMA_ACTIONS = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}
SCHEMA_TABLES = {"sqlite_master", "sqlite_temp_master", "sqlite_schema", "sqlite_temp_schema"}
DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}
PROGRESS_STEPS = 1000
log = logging.getLogger(__name__)


class SqlError(ValueError):
    """A refused or failed statement; the message says what and why."""


@dataclass
class _Authorizer:
    """Allows what the mode permits; remembers the first denial for the error message."""

    write: bool
    denied: list[str] = field(default_factory=list)

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, trigger: str | None
    ) -> int:
        name = ACTIONS.get(action, f"action {action}")
        if action == sqlite3.SQLITE_ATTACH and self.write and not arg1:
            return sqlite3.SQLITE_OK  # a temporary database: plain VACUUM attaches one
        if action in NEVER:
            return self._deny(
                f"{name} {arg1 or ''}".strip(), "attaching other database files is never allowed"
            )
        if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in DENIED_FUNCTIONS:
            return self._deny(f"{arg2}()", "the function is not allowed")
        if action == sqlite3.SQLITE_PRAGMA:
            pragma = (arg1 or "").lower()
            if self.write and pragma in WRITE_PRAGMAS:
                return sqlite3.SQLITE_OK
            # read-only: a PRAGMA that reads, and no value to set (an object name is fine)
            if pragma in READ_PRAGMAS and (arg2 is None or pragma in OBJECT_PRAGMAS):
                return sqlite3.SQLITE_OK
            return self._deny(
                f"PRAGMA {pragma}", "this PRAGMA is not allowed " + ("at all" if self.write else "read-only")
            )
        if self.write or action in READ_ACTIONS:
            return sqlite3.SQLITE_OK
        if action in SCHEMA_ACTIONS and arg1 in SCHEMA_TABLES:
            # SQLite's own bookkeeping before the specific check (DROP TABLE first asks for
            # DELETE on sqlite_master; table-valued PRAGMAs for UPDATE): the specific action
            # that follows is the one judged, and the mode=ro connection writes nothing anyway
            return sqlite3.SQLITE_OK
        subject = arg2 if action == sqlite3.SQLITE_ALTER_TABLE else arg1
        target = f" {subject}" if subject and not subject.startswith("sqlite_") else ""
        return self._deny(f"{name}{target}", "the database is read-only")

    def _deny(self, what: str, why: str) -> int:
        if not self.denied:
            self.denied.append(f"{what}: {why}")
        return sqlite3.SQLITE_DENY


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def _json_size(values: list[Any]) -> int:
    """Bytes of ``values`` as the answer's JSON carries them."""
    return len(json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode())


def _set_heap_limit(limit: int) -> None:
    """Cap SQLite's memory for this process (it can only be lowered once set)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA hard_heap_limit={int(limit)}")
    finally:
        conn.close()


class SqlExecutor:
    """The database file and the limits of one call."""

    def __init__(
        self,
        path: Path,
        row_limit: int = 1000,
        max_row_limit: int = 10_000,
        timeout: float = 5.0,
        max_timeout: float = 30.0,
        max_result_bytes: int = 1 << 20,
        max_value_bytes: int = 1 << 20,
        max_memory_bytes: int | None = 64 << 20,
    ) -> None:
        self.path = path
        self.row_limit = row_limit
        self.max_row_limit = max_row_limit
        self.timeout = timeout
        self.max_timeout = max_timeout
        self.max_result_bytes = max_result_bytes
        self.max_value_bytes = max_value_bytes
        self.max_memory_bytes = max_memory_bytes
        if max_memory_bytes:
            _set_heap_limit(max_memory_bytes)

    def ensure_database(self) -> None:
        """Create the (empty) database file once, so read-only connections can open it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            sqlite3.connect(self.path).close()

    def _connect(self, write: bool, timeout: float) -> tuple[sqlite3.Connection, _Authorizer]:
        if write:
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, timeout=timeout, check_same_thread=False
            )
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_value_bytes)
        authorizer = _Authorizer(write=write)
        conn.set_authorizer(authorizer)
        deadline = time.monotonic() + timeout
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
        return conn, authorizer

    def _limits(self, max_rows: int | None, timeout: float | None) -> tuple[int, float]:
        rows = min(max_rows or self.row_limit, self.max_row_limit)
        seconds = min(timeout or self.timeout, self.max_timeout)
        return max(1, rows), seconds

    def run(
        self,
        sql: str,
        params: list[Any] | dict[str, Any] | None,
        *,
        write: bool,
        max_rows: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One statement: its rows (at most ``max_rows`` and ``max_result_bytes``) and, for
        writes, the rows changed."""
        if not sql or not sql.strip():
            raise SqlError("sql is empty")
        limit, seconds = self._limits(max_rows, timeout)
        if not self.path.exists() and not write:
            raise SqlError(f"the database {self.path.name} does not exist yet")
        conn, authorizer = self._connect(write, seconds)
        started = time.perf_counter()
        try:
            cursor = conn.execute(sql, params if params is not None else ())
            columns = [d[0] for d in cursor.description] if cursor.description else []
            rows, size, reason = self._read(cursor, limit) if columns else ([], 0, None)
            answer: dict[str, Any] = {
                "columns": columns,
                "rows": rows,
                "row_count": len(rows),
                "truncated": reason is not None,
                "truncated_reason": reason,
                "row_limit": limit,
                "result_bytes": size,
                "max_result_bytes": self.max_result_bytes,
            }
            if write:
                answer["rows_affected"] = cursor.rowcount
                answer["last_row_id"] = cursor.lastrowid
            answer["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 3)
            return answer
        except (sqlite3.ProgrammingError, sqlite3.Warning) as exc:
            if "one statement" in str(exc):
                raise SqlError("one statement per call: split the SQL into separate calls") from None
            raise SqlError(f"invalid call: {exc}") from None
        except MemoryError:
            raise SqlError(self._memory_message()) from None
        except sqlite3.DatabaseError as exc:
            message = str(exc)
            if message == "string or blob too big":
                raise SqlError(
                    f"a value would be larger than {self.max_value_bytes} bytes, the limit per value "
                    "(DATABASE_MAX_VALUE_BYTES); SQLite refused to make it"
                ) from None
            if message == "out of memory":
                raise SqlError(self._memory_message()) from None
            if authorizer.denied:
                mode = "read-write" if write else "read-only"
                raise SqlError(f"refused ({mode}): {authorizer.denied[0]}") from None
            if message == "interrupted":
                raise SqlError(
                    f"the statement ran past its timeout of {seconds:g} s and was interrupted"
                ) from None
            if "readonly" in message:
                raise SqlError(f"refused (read-only): {message}") from None
            raise SqlError(f"SQLite: {message}") from None
        finally:
            conn.close()

    def _read(self, cursor: sqlite3.Cursor, limit: int) -> tuple[list[list[Any]], int, str | None]:
        """Rows one at a time until ``limit`` rows or ``max_result_bytes``: rows, bytes, why cut."""
        rows: list[list[Any]] = []
        size = 0
        for row in cursor:
            if len(rows) >= limit:
                return rows, size, f"the statement has more than {limit} rows (the row limit)"
            values = [_json_value(v) for v in row]
            row_size = _json_size(values)
            if size + row_size > self.max_result_bytes:
                return (
                    rows,
                    size,
                    f"the rows reached {self.max_result_bytes} bytes, the limit of one answer "
                    "(DATABASE_MAX_RESULT_BYTES); select fewer rows or columns, or use substr()",
                )
            rows.append(values)
            size += row_size
        return rows, size, None

    def _memory_message(self) -> str:
        log.warning("a statement ran out of SQLite memory (limit %s bytes)", self.max_memory_bytes)
        return (
            f"the statement needed more memory than database-mcp allows SQLite "
            f"({self.max_memory_bytes} bytes, DATABASE_MAX_MEMORY_BYTES) and was stopped"
        )

    def tables(self) -> dict[str, Any]:
        """Tables and views with their columns and indexes (schema listing)."""
        if not self.path.exists():
            return {"database": self.path.name, "tables": []}
        conn, _ = self._connect(False, self.timeout)
        try:
            objects = conn.execute(
                "SELECT name, type, sql FROM sqlite_master WHERE type IN ('table', 'view') "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
            tables = []
            for name, kind, ddl in objects:
                columns = [
                    {
                        "name": c[1],
                        "type": c[2],
                        "not_null": bool(c[3]),
                        "default": c[4],
                        "primary_key": bool(c[5]),
                    }
                    for c in conn.execute("SELECT * FROM pragma_table_info(?)", (name,)).fetchall()
                ]
                indexes = [
                    {"name": i[1], "unique": bool(i[2])}
                    for i in conn.execute("SELECT * FROM pragma_index_list(?)", (name,)).fetchall()
                ]
                tables.append(
                    {"name": name, "type": kind, "columns": columns, "indexes": indexes, "sql": ddl}
                )
            return {"database": self.path.name, "tables": tables}
        except sqlite3.DatabaseError as exc:
            raise SqlError(f"SQLite: {exc}") from None
        finally:
            conn.close()
