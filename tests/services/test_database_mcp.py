"""database-mcp over streamable HTTP: SQLite, read-only by SQLite's own enforcement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.support import ServiceProcess, error_text, mcp_call, mcp_session, mcp_tools, start_all


@pytest.fixture(scope="module")
def databases(
    log_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    """A read-write and a read-only server on one database file holding a table of 50 rows."""
    path = tmp_path_factory.mktemp("db") / "nexus.db"
    env = {"DATABASE_PATH": str(path), "DATABASE_ROW_LIMIT": "10", "DATABASE_STATEMENT_TIMEOUT": "0.5"}
    rw = ServiceProcess("services.mcp.database_mcp", log_dir, env, "--allow-write", name="db-rw")
    ro = ServiceProcess("services.mcp.database_mcp", log_dir, env, name="db-ro")
    start_all([rw, ro])
    calls = [
        (
            "execute",
            {"sql": "CREATE TABLE readings (id INTEGER PRIMARY KEY, device TEXT NOT NULL, temp REAL)"},
        ),
        (
            "execute",
            {
                "sql": "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49) "
                "INSERT INTO readings (device, temp) SELECT 'dev-' || (i % 5), 20 + i / 10.0 FROM n"
            },
        ),
    ]
    results = mcp_session(rw.mcp_url, *calls)
    assert not any(r.is_error for r in results), [error_text(r) for r in results if r.is_error]
    yield rw, ro
    rw.stop()
    ro.stop()


def test_lists_tools_read_and_write(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """tools/list: query and the schema tools are read-only, execute is destructive."""
    tools = {t.name: t for t in mcp_tools(databases[1].mcp_url)}
    assert set(tools) >= {"list_tables", "describe_table", "query", "execute"}
    assert tools["query"].annotations.read_only_hint is True
    assert tools["execute"].annotations.destructive_hint is True


def test_lists_the_schema(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """list_tables gives each table with its columns and types."""
    body = mcp_call(databases[1].mcp_url, "list_tables").structured_content
    table = next(t for t in body["tables"] if t["name"] == "readings")
    assert [(c["name"], c["type"]) for c in table["columns"]] == [
        ("id", "INTEGER"),
        ("device", "TEXT"),
        ("temp", "REAL"),
    ]


def test_query_binds_parameters(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """Parameters are bound, not spliced: a quote in a value is data."""
    result = mcp_call(
        databases[1].mcp_url,
        "query",
        {
            "sql": "SELECT count(*) AS n FROM readings WHERE device = ? OR device = ?",
            "params": ["dev-1", "x' OR '1'='1"],
        },
    )
    assert result.structured_content["rows"] == [[10]]


def test_row_limit_truncates(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """At most the row limit comes back, and the answer says it was truncated."""
    body = mcp_call(databases[1].mcp_url, "query", {"sql": "SELECT * FROM readings"}).structured_content
    assert (body["row_count"], body["truncated"]) == (10, True)
    assert "row limit" in body["truncated_reason"]


def test_write_mode_cannot_store_a_value_over_the_limit(
    databases: tuple[ServiceProcess, ServiceProcess],
) -> None:
    """execute refuses to make a blob over DATABASE_MAX_VALUE_BYTES: the database never holds one."""
    result = mcp_call(databases[0].mcp_url, "execute", {"sql": "SELECT length(zeroblob(2000000))"})
    assert "DATABASE_MAX_VALUE_BYTES" in error_text(result)


def test_small_answer_reports_its_bytes(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """An answer within the limits is complete, and says how many bytes its rows took."""
    body = mcp_call(databases[1].mcp_url, "query", {"sql": "SELECT 'abc' AS s, 1 AS n"}).structured_content
    assert (body["truncated"], body["truncated_reason"]) == (False, None)
    assert body["result_bytes"] == len('["abc",1]') and body["max_result_bytes"] == 1 << 20


def test_statement_timeout_interrupts(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """A statement running past the timeout is interrupted with an error naming the timeout."""
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    result = mcp_call(databases[1].mcp_url, "query", {"sql": sql})
    assert "timeout of 0.5 s" in error_text(result)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DROP TABLE readings", "DROP TABLE readings"),
        ("INSERT INTO readings (device, temp) VALUES ('x', 1)", "INSERT readings"),
        ("UPDATE readings SET temp = 0", "UPDATE readings"),
        ("ATTACH DATABASE '/tmp/other.db' AS other", "ATTACH"),
    ],
)
def test_read_only_refuses_changes(
    databases: tuple[ServiceProcess, ServiceProcess], sql: str, expected: str
) -> None:
    """In read-only mode SQLite's authorizer refuses DROP, INSERT, UPDATE and ATTACH, naming the action."""
    message = error_text(mcp_call(databases[1].mcp_url, "query", {"sql": sql}))
    assert "refused" in message and expected in message
    count = mcp_call(
        databases[1].mcp_url, "query", {"sql": "SELECT count(*) FROM readings"}
    ).structured_content
    assert count["rows"] == [[50]]


def test_refuses_two_statements(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """Two statements in one call are refused before either runs."""
    result = mcp_call(databases[0].mcp_url, "execute", {"sql": "DELETE FROM readings; SELECT 1"})
    assert "one statement per call" in error_text(result)
    assert mcp_call(
        databases[1].mcp_url, "query", {"sql": "SELECT count(*) FROM readings"}
    ).structured_content["rows"] == [[50]]


def test_read_only_server_refuses_execute(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """The write tool itself refuses without --allow-write."""
    result = mcp_call(databases[1].mcp_url, "execute", {"sql": "DELETE FROM readings"})
    assert "--allow-write" in error_text(result)


def test_attach_is_refused_even_in_write_mode(
    databases: tuple[ServiceProcess, ServiceProcess], tmp_path: Path
) -> None:
    """ATTACH (and so VACUUM INTO) would reach files outside the pod's database: never allowed."""
    for sql in (f"ATTACH DATABASE '{tmp_path / 'x.db'}' AS x", f"VACUUM INTO '{tmp_path / 'copy.db'}'"):
        assert "ATTACH" in error_text(mcp_call(databases[0].mcp_url, "execute", {"sql": sql}))
    assert not (tmp_path / "copy.db").exists()


def test_write_mode_runs_ddl_and_dml(databases: tuple[ServiceProcess, ServiceProcess]) -> None:
    """With --allow-write, CREATE and INSERT ... RETURNING work and report what changed."""
    created, inserted = mcp_session(
        databases[0].mcp_url,
        ("execute", {"sql": "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"}),
        (
            "execute",
            {"sql": "INSERT INTO notes (body) VALUES (:body) RETURNING id", "params": {"body": "hello"}},
        ),
    )
    assert not created.is_error, error_text(created)
    assert inserted.structured_content["rows"] == [[1]]
