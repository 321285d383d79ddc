"""``nexuskit lake ...``: ls, inspect, query, promote, compact, stats, datasets, grants (thin wrappers)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from nexuskit.cli.common import (
    EnvOpt,
    JsonOpt,
    PortOpt,
    StateDirOpt,
    app,
    console,
    err_console,
    handle_errors,
    print_json,
    settings_from,
)
from nexuskit.textfmt import cell_text, human_size

lake_app = typer.Typer(
    name="lake",
    help="The medallion lake: ls, inspect, query, promote, compact, stats, datasets, grants.",
    no_args_is_help=True,
)
app.add_typer(lake_app, name="lake")

AsOpt = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Act as a stack role (agent_irsa, aws_mcp_irsa, ui_irsa, kinesis_bearer, medallion_glue).",
    ),
]


def _lake(port: int | None, state_dir: Path | None, env: str | None, as_role: str | None = None) -> Any:
    from nexuskit.lake.access import open_lake

    return open_lake(settings_from(port, state_dir, env), as_role)


@lake_app.command("ls")
@handle_errors
def ls(
    what: Annotated[
        str | None, typer.Argument(help="A tier (silver) or a dataset (silver.telemetry).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many objects.")] = 100,
    as_role: AsOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the tiers, a tier's datasets, or a dataset's committed files."""
    from nexuskit.lake.browse import list_lake

    data = list_lake(_lake(port, state_dir, env, as_role), what, limit)
    if as_json:
        print_json(data)
        return
    if "tiers" in data:
        table = Table(title="Lake")
        for column in ("tier", "bucket", "access", "objects", "rows", "size", "freshness"):
            table.add_column(column)
        for tier in data["tiers"]:
            access = ("r" if tier["read"] else "") + ("w" if tier["write"] else "") or "-"
            table.add_row(
                tier["tier"],
                tier["bucket"],
                access,
                cell_text(tier.get("objects")),
                cell_text(tier.get("rows")),
                human_size(tier.get("bytes")),
                cell_text(tier.get("freshness")) or ("denied" if tier.get("denied") else ""),
            )
        console.print(table)
    elif "datasets" in data:
        table = Table(title=f"{data['tier']} ({data['bucket']})")
        for column in ("dataset", "files", "rows", "size", "partitions", "last commit"):
            table.add_column(column)
        for name, ds in data["datasets"].items():
            table.add_row(
                name,
                str(ds["files"]),
                str(ds["rows"]),
                human_size(ds["bytes"]),
                str(len(ds["partitions"])),
                cell_text(ds["last_commit"]),
            )
        console.print(table)
    else:
        title = data.get("dataset") or data.get("tier", "")
        table = Table(title=f"{title} ({data.get('total', data.get('files'))} objects)")
        columns = (
            ["key", "partition", "rows", "bytes", "committed_at"]
            if "dataset" in data
            else ["key", "bytes", "last_modified"]
        )
        for column in columns:
            table.add_column(column, overflow="fold")
        for obj in data["objects"]:
            table.add_row(*(cell_text(obj.get(c)) for c in columns))
        console.print(table)


@lake_app.command("inspect")
@handle_errors
def inspect(
    key: Annotated[
        str, typer.Argument(help="s3://bucket/key, tier/key or tier:key (?versionId=... optional).")
    ],
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.")] = 20,
    as_role: AsOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Decode one object: Parquet rows with schema, or (GZIP) JSON lines, or JSON."""
    from nexuskit.lake.browse import inspect as inspect_object

    data = inspect_object(_lake(port, state_dir, env, as_role), key, limit)
    if as_json:
        print_json(data)
        return
    console.print(
        f"[bold]s3://{data['bucket']}/{data['key']}[/] version {data['version_id']} — "
        f"{data['format']}, {human_size(data['bytes'])}, {data.get('total_rows', 0)} rows"
    )
    if data["format"] == "json":
        console.print_json(json.dumps(data["document"], default=str))
        return
    if data["format"] == "parquet":
        schema = Table(title="schema")
        schema.add_column("column")
        schema.add_column("type")
        for field in data["schema"]:
            schema.add_row(field["name"], field["type"])
        console.print(schema)
        if data["rows"]:
            rows = Table(title=f"first {len(data['rows'])} rows")
            for name in data["rows"][0]:
                rows.add_column(name, overflow="fold")
            for row in data["rows"]:
                rows.add_row(*(cell_text(v) for v in row.values()))
            console.print(rows)
        return
    for entry in data["schema"]:
        console.print(
            f"type {entry['type']}: " + ", ".join(f"{f['name']}:{f['type']}" for f in entry["fields"])
        )
    for row in data["rows"]:
        console.print_json(json.dumps(row, default=str))


@lake_app.command("query")
@handle_errors
def query(
    sql: Annotated[
        str,
        typer.Argument(help='SQL over tier.dataset tables, e.g. "SELECT count(*) FROM silver.telemetry".'),
    ],
    max_rows: Annotated[int, typer.Option("--max-rows", help="At most this many rows.")] = 10_000,
    as_role: AsOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer SQL over the committed Parquet of the tiers (DuckDB, the local Athena)."""
    from nexuskit.lake.query import run_query

    result = run_query(_lake(port, state_dir, env, as_role), sql, max_rows)
    if as_json:
        print_json(result.as_dict())
        return
    table = Table(
        title=f"{len(result.rows)} rows in {result.seconds:.2f} s"
        + (" (truncated)" if result.truncated else "")
    )
    for name in result.columns:
        table.add_column(name, overflow="fold")
    for row in result.rows:
        table.add_row(*(cell_text(v) for v in row))
    console.print(table)


@lake_app.command("promote")
@handle_errors
def promote(
    to: Annotated[
        str, typer.Option("--to", help="Promote up to this tier: silver, gold or vibranium.")
    ] = "vibranium",
    threshold: Annotated[
        float, typer.Option("--threshold", help="Minimum confidence of vibranium insights.")
    ] = 0.8,
    glue: Annotated[
        bool, typer.Option("--glue", help="Run the jobs as Glue job runs (deploys them first).")
    ] = False,
    full_scan: Annotated[
        bool,
        typer.Option(
            "--full-scan", help="List all of bronze, not only past the watermarks (finds backfills)."
        ),
    ] = False,
    as_role: AsOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the medallion jobs up to a tier; each picks up only what is new."""
    from nexuskit.lake.tiers import promote as run_promote

    lake = _lake(port, state_dir, env, as_role)
    if as_json:
        report = run_promote(lake, to, threshold=threshold, glue=glue, full_scan=full_scan)
        print_json(report.as_dict())
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=False) as bar:
        tasks: dict[str, Any] = {}

        def progress(event: dict[str, Any]) -> None:
            job = event["job"]
            if job not in tasks:
                tasks[job] = bar.add_task(job, total=event.get("total"))
            task = tasks[job]
            if event["phase"] == "start":
                bar.update(task, total=event.get("total"))
            elif event["phase"] in {"object", "partition"}:
                bar.update(task, completed=event["done"], total=event["total"])
            elif event["phase"] == "glue":
                bar.update(task, description=f"{job} [{event['state']}]")
            elif event["phase"] == "done":
                total = bar.tasks[task].total
                bar.update(task, completed=total or 1, total=total or 1)

        report = run_promote(lake, to, threshold=threshold, glue=glue, full_scan=full_scan, progress=progress)
    table = Table(title=f"promote to {to} ({report.via}) in {report.seconds:.2f} s")
    for column in ("step", "inputs", "records", "rows written", "quarantined", "duplicates", "note"):
        table.add_column(column)
    for step in report.steps:
        rows = ", ".join(f"{k} {v}" for k, v in (step.get("rows") or {}).items())
        note = "nothing new" if step.get("skipped") else step.get("glue_job_run_id", "")
        table.add_row(
            step["step"],
            cell_text(step.get("inputs")),
            cell_text(step.get("records")),
            rows,
            cell_text(step.get("quarantined")),
            cell_text(step.get("duplicates")),
            note,
        )
    console.print(table)
    for obj in report.skipped:
        err_console.print(f"skipped bronze/{obj['key']} (version {obj['version_id']}): {obj['reason']}")


@lake_app.command("compact")
@handle_errors
def compact(
    dataset: Annotated[
        list[str] | None, typer.Argument(help="Only these silver datasets (silver.telemetry); default all.")
    ] = None,
    min_files: Annotated[
        int, typer.Option("--min-files", help="Merge a partition's small files when it has this many.")
    ] = 4,
    small_mb: Annotated[
        float, typer.Option("--small-mb", help="Files below this size count as small.")
    ] = 32.0,
    target_mb: Annotated[float, typer.Option("--target-mb", help="Size a merged file grows to.")] = 128.0,
    as_role: AsOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Merge small silver files into larger ones (rows and their lineage unchanged)."""
    from nexuskit.lake.compact import compact_silver

    result = compact_silver(
        _lake(port, state_dir, env, as_role),
        tuple(dataset or ()),
        min_files=min_files,
        small_mb=small_mb,
        target_mb=target_mb,
    )
    if as_json:
        print_json(result)
        return
    if result.get("skipped"):
        console.print("nothing to compact (no partition has enough small files)")
        return
    merged = ", ".join(f"{k} {v}" for k, v in result.get("files_merged", {}).items())
    console.print(
        f"merged {merged} small files into {result.get('files_written')} "
        f"({result.get('records')} rows) in {result.get('seconds')} s"
    )


@lake_app.command("datasets")
@handle_errors
def datasets(
    as_role: AsOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The dataset files (lake/datasets): what each routes, and its state against silver."""
    from nexuskit.lake.config import describe_datasets

    data = describe_datasets(_lake(port, state_dir, env, as_role))
    if as_json:
        print_json(data)
        return
    table = Table(title=f"Datasets ({data['folder']}; routed by field {data['type_field']!r})")
    for column in ("dataset", "table", "match", "fields", "state"):
        table.add_column(column, overflow="fold")
    for ds in data["datasets"]:
        match = ds["match"]
        rule = ", ".join(
            [f"{data['type_field']}={'|'.join(match['types'])}"] * bool(match["types"])
            + [f"key {p}*" for p in match["prefixes"]]
            + [f"{k}={v}" for k, v in match["where"].items()]
        )
        fields = ", ".join(f["name"] + ("*" if f["required"] else "") for f in ds["fields"])
        table.add_row(ds["name"], ds["table"], rule, fields, ds["state"])
    console.print(table)
    console.print(f"* required; {data['unmatched']}")


@lake_app.command("stats")
@handle_errors
def stats(
    as_role: AsOpt = None,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Objects, rows, bytes and freshness per tier."""
    from nexuskit.lake.browse import stats as lake_stats

    data = lake_stats(_lake(port, state_dir, env, as_role))
    if as_json:
        print_json(data)
        return
    table = Table(title=f"Lake as {data['principal']}")
    for column in ("tier", "objects", "rows", "size", "freshness", "note"):
        table.add_column(column)
    for tier in data["tiers"]:
        notes = ["denied"] if tier.get("denied") else []
        if tier.get("pending"):
            notes.append(f"{tier['pending']} pending")
        if tier.get("skipped"):
            notes.append(f"{tier['skipped']} skipped (not JSON)")
        if tier.get("quarantined"):
            notes.append(f"{tier['quarantined']} quarantined")
        note = ", ".join(notes)
        table.add_row(
            tier["tier"],
            cell_text(tier.get("objects")),
            cell_text(tier.get("rows")),
            human_size(tier.get("bytes")),
            cell_text(tier.get("freshness")),
            note,
        )
    console.print(table)
    for tier in data["tiers"]:
        for obj in tier.get("skipped_objects") or []:
            console.print(f"skipped {tier['tier']}/{obj['key']}: {obj['reason']}")


@lake_app.command("grants")
@handle_errors
def grants(
    apply: Annotated[bool, typer.Option("--apply", help="Apply the default grants first.")] = False,
    port: PortOpt = None,
    state_dir: StateDirOpt = None,
    env: EnvOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Who may read (r) and write (w) each tier, from Lake Formation."""
    from nexuskit.lake.grants import apply_grants, grants_matrix

    lake = _lake(port, state_dir, env)
    applied = [s.as_dict() for s in apply_grants(lake.spec, lake.target)] if apply else []
    data = grants_matrix(lake.spec, lake.target, lake.account_id)
    if applied:
        data["applied"] = applied
    if as_json:
        print_json(data)
        return
    table = Table(title="Lake Formation grants (r read, w write; --json for the ARNs)")
    table.add_column("principal")
    table.add_column("identity", overflow="fold")
    tiers = list(data["principals"][0]["tiers"]) if data["principals"] else []
    for tier in tiers:
        table.add_column(tier, justify="center")
    table.add_column("datasets")
    for row in data["principals"]:
        extra = ", ".join(f"{k} {v}" for k, v in row["datasets"].items())
        identity = row["principal"].split(":", 5)[-1]
        table.add_row(row["name"], identity, *(row["tiers"][t] for t in tiers), extra)
    console.print(table)
