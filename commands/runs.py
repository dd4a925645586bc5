"""``python cli.py runs | report | gate | export``: the stored runs, read back (the History page, headless).

    python cli.py runs --kind rag --json
    python cli.py runs check | backup | restore [--from FILE]    # integrity check, backup now, put a backup back
    python cli.py report --runs latest --output report.html
    python cli.py gate --run latest --metric ndcg@10 --min 0.6      # exit 1 when it misses: a CI gate
    python cli.py gate --run latest --metric faithfulness --min 0.8 --min-agreement 0.6   # and trust the judge
    python cli.py export --run latest --format parquet

Wherever a run id is expected, ``latest`` names the newest run.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Literal

import typer

from commands.options import command, output_option
from rag.i18n import N_, _
from rag.runs.models import RUN_MODELS

Opt = typer.Option
LIST_HEADERS = (N_("id"), N_("kind"), N_("headline"))  # `runs` table headers, as catalog keys


def run_kind(value: str | None) -> str | None:
    """``--kind``: one of the registered run kinds (rag.runs.models.RUN_MODELS), so a new kind needs no edit here."""
    if value is not None and value not in RUN_MODELS:
        raise typer.BadParameter(_("'{value}' is not one of {choices}.").format(
            value=value, choices=", ".join(f"'{k}'" for k in RUN_MODELS)))
    return value


def runs(action: Annotated[Literal["list", "check", "backup", "restore"], typer.Argument(
             help="list (default); check: SQLite's integrity check; backup: a copy now (one a day is made "
                  "anyway, the last 7 kept); restore: the newest healthy backup (or --from FILE), the current "
                  "file moved aside")] = "list",
         source: Annotated[str | None, Opt("--from", help="restore: this backup file")] = None,
         kind: Annotated[str | None, Opt(callback=run_kind, help="only runs of this kind: "
                                         + ", ".join(RUN_MODELS))] = None,
         dataset: Annotated[str | None, Opt(help="only runs on this dataset name")] = None,
         limit: int = 50,
         as_json: Annotated[bool, Opt("--json", help="print JSON instead of a table")] = False) -> int:
    if action != "list":
        return _safety(action, source)
    from evaluators.report.history import runs_frame
    from rag.runs import RunStore

    found = RunStore.default().list(kind=kind, dataset=dataset, limit=limit)
    if as_json:
        print(json.dumps([{"run_id": r.id, "kind": r.kind, "status": r.status, "created": r.created,
                           "dataset": r.dataset, "dataset_hash": r.dataset_hash,
                           "models": r.config.get("models", [])} for r in found], indent=2))
    elif not found:
        print(_("no runs yet"))
    else:
        frame = runs_frame(found)[["id", "kind", "status", "created", "dataset", "models", "headline"]]
        frame = frame.assign(kind=frame["kind"].map(_), status=frame["status"].map(_))  # their catalog keys
        print(frame.rename(columns={c: _(c) for c in frame.columns}).to_string(index=False, max_colwidth=60))
    return 0


def _safety(action: str, source: str | None) -> int:
    """``runs check | backup | restore`` on the data folder's store (these work on a damaged one)."""
    from rag.runs.safety import backup_store, backups, check_store, restore_store
    from rag.settings import get_settings

    path = get_settings().path("runs.sqlite")
    if action == "check":
        check_store(path)  # StoreDamaged: one line, exit 2
        kept = backups(path)
        print((_("{path}: ok ({n} backups, newest {newest})").format(path=path, n=len(kept), newest=kept[0]) if kept
               else _("{path}: ok (no backup yet)").format(path=path))
              if path.exists() else _("{path}: no run store yet").format(path=path))
    elif action == "backup":
        check_store(path)  # a damaged file is not backed up over a good copy
        made = backup_store(path, force=True)
        print(_("backed up {path} to {backup}").format(path=path, backup=made) if made
              else _("{path}: no run store yet").format(path=path))
    else:
        good, aside = restore_store(path, source)
        print(_("restored {path} from {backup}; the previous file is kept as {aside}").format(
            path=path, backup=good, aside=aside) if aside
              else _("restored {path} from {backup}").format(path=path, backup=good))
        _merge_side_store(path)
    return 0


def _merge_side_store(path) -> None:
    """Runs recorded while the store was damaged (``runs-while-damaged.sqlite``) join the restored store."""
    import time

    from rag.runs import RunStore

    side = path.with_name("runs-while-damaged.sqlite")
    if not side.exists():
        return
    src, dst = RunStore(side), RunStore(path)
    ids = [dst.restore(src.snapshot(r.id)) for r in src.list(limit=1_000_000)]
    for suffix in ("", "-wal", "-shm"):
        f = side.with_name(side.name + suffix)
        if f.exists():
            f.replace(f.with_name(f"{f.name}.merged-{time.strftime('%Y%m%d-%H%M%S')}"))
    print(_("added {n} runs recorded while the store was damaged ({ids}) from {side}").format(  # English as before
        n=len(ids), ids=", ".join(ids) or _("none"), side=side))


def report(run_ids: Annotated[str, Opt("--runs", help="comma-separated run ids, or 'latest'")],
           output: Annotated[str, output_option("the HTML file to write")] = "report.html",
           metric: Annotated[str | None, Opt(help="main quality metric (default nDCG@k / the first Ragas metric)")]
           = None,
           examples: Annotated[int, Opt(help="example queries shown as rank tables")] = 3,
           title: str | None = None,
           lang: Annotated[str | None, Opt(help="the report's language: en or zh (default: WORKBENCH_LANG, else en)")]
           = None) -> int:
    from evaluators.report.build import build_report
    from rag.i18n import LANGUAGES, normalize
    from rag.outputs import write_atomic
    from rag.runs import RunStore

    if lang is not None and normalize(lang) is None:
        raise ValueError(_("--lang: unknown language '{lang}'; choose one of {choices}").format(
            lang=lang, choices=", ".join(LANGUAGES)))
    store = RunStore.default()
    ids = store.resolve_ids(run_ids)
    html = build_report(store, ids, metric=metric, examples=examples, title=title, lang=lang)
    path = write_atomic(output, html)
    print(_("wrote {path} (runs {ids})").format(path=path, ids=", ".join(ids)))
    return 0


def gate(run: Annotated[str, Opt(help="run id or 'latest'")],
         metric: Annotated[str, Opt(help="e.g. ndcg@10, faithfulness, p95_ms")],
         minimum: Annotated[float | None, Opt("--min", help="fail when the value is below this")] = None,
         maximum: Annotated[float | None, Opt("--max", help="fail when the value is above this (latency)")] = None,
         ci_low: Annotated[float | None, Opt(help="fail when the lower bound of the 95% bootstrap CI is below this "
                                                  "(retrieval, RAG)")] = None,
         model: Annotated[str | None, Opt(help="only this model (default: every model in the run)")] = None,
         min_agreement: Annotated[float | None, Opt(help="fail when the judge's Cohen's κ with the run's qrels is "
                                                         "below this (RAG runs with a judge)")] = None) -> int:
    from evaluators.report.gate import check_gate
    from rag.runs import RunStore

    store = RunStore.default()
    result = check_gate(store, store.get(run), metric, minimum, maximum, model, ci_low, min_agreement)
    print(result.message, file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def export(run: Annotated[str, Opt(help="run id or 'latest'")],
           fmt: Annotated[Literal["csv", "parquet", "json"], Opt("--format")] = "csv",
           output: Annotated[str | None, output_option("file to write (default run-ID-rows.FORMAT / run-ID.json)")]
           = None) -> int:
    from rag.outputs import check_output, write_atomic
    from rag.runs import RunStore
    from rag.runs.export import export_filename, export_rows

    store = RunStore.default()
    run_id = store.get(run).id
    output = output or export_filename(run_id, fmt)
    check_output(output)  # the default name, checked like a given one
    path = write_atomic(output, export_rows(store, run_id, fmt))
    print(_("wrote {path} (run {run})").format(path=path, run=run_id))
    return 0


def register(app: typer.Typer) -> None:
    command(app, "runs", "list stored runs, newest first; runs check | backup | restore: the run store's "
            "integrity check, a backup now, the newest healthy backup put back")(runs)
    command(app, "report", "self-contained HTML report for one or more runs")(report)
    command(app, "gate", "CI gate: exit 1 when a run's metric misses a threshold")(gate)
    command(app, "export", "export a run: per-query rows (csv, parquet) or the whole run (json)")(export)
