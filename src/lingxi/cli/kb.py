"""`lingxi kb create|ingest|summarize|search|ls|info|rm|export`: knowledge bases from the command line."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from lingxi.cli.common import JsonOpt, err, out, print_json

app = typer.Typer(help="Build and search knowledge bases (documents -> hybrid keyword + vector search).",
                  no_args_is_help=True)  # fmt: skip

NameArg = Annotated[str, typer.Argument(help="Knowledge-base name.")]


def _kb(name: str) -> Any:
    from lingxi.knowledge.kb import KnowledgeBase

    return KnowledgeBase.open(name)


@app.command()
def create(
    name: NameArg,
    embedding: Annotated[str, typer.Option("--embedding", "-e", help="Embedding model: e5 (Chinese+English, default), use (multilingual, faster, weaker), minilm (English only) or openai:MODEL@URL.")] = "e5",
    chunk_tokens: Annotated[int, typer.Option("--chunk-tokens", help="Largest chunk, in model tokens.")] = 256,
    overlap: Annotated[int, typer.Option("--overlap", help="Tokens shared by consecutive chunks.")] = 32,
    analyzer: Annotated[str, typer.Option("--analyzer", help="Chinese keyword terms: bigram (no dictionary) or jieba.")] = "bigram",
    store: Annotated[str, typer.Option("--store", help="Store backend: lancedb (embedded) or pgvector (PostgreSQL).")] = "lancedb",
    dsn: Annotated[str | None, typer.Option("--dsn", help="pgvector: PostgreSQL DSN (default: LINGXI_PG_DSN); "
                                            "its password is not saved (use PGPASSWORD or ~/.pgpass).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an empty knowledge base."""
    from lingxi.knowledge.kb import KnowledgeBase

    kb = KnowledgeBase.create(name, embedding, chunk_tokens=chunk_tokens, overlap=overlap, analyzer=analyzer,
                              store=store, dsn=dsn)  # fmt: skip
    if as_json:
        print_json(kb.config)
    else:
        out.print(f"created knowledge base '{name}' ({kb.config['model_id']}, {store}) at {kb.path}", markup=False)


def _progress_bar(enabled: bool) -> tuple[Any, Any]:
    """A bar per stage (files, embeddings) with its rate on a terminal; elsewhere (a log, a pipe)
    one line per stage every few seconds. (None, None) when printing JSON."""
    if not enabled:
        return None, None
    if not err.is_terminal:
        return None, _progress_lines()
    bar = Progress(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=err)  # fmt: skip
    tasks: dict[str, tuple[Any, float]] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = (bar.add_task(stage, total=total, rate=""), time.perf_counter())
        task, t0 = tasks[stage]
        bar.update(task, completed=done, total=total, rate=rate_text(done, time.perf_counter() - t0))

    return bar, update


def rate_text(done: int, seconds: float) -> str:
    """'12.3/s', or '' while too little time has passed for a rate to mean anything."""
    return f"{done / seconds:,.1f}/s" if seconds >= 0.5 and done else ""


def _progress_lines(every: float = 2.0) -> Any:
    state: dict[str, tuple[float, float]] = {}  # stage -> (started, last printed)

    def update(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        t0, last = state.setdefault(stage, (now, 0.0))
        if done and (done >= total or now - last >= every):
            state[stage] = (t0, now)
            rate = rate_text(done, now - t0)
            err.print(f"{stage} {done}/{total}" + (f" ({rate})" if rate else ""), markup=False)

    return update


@app.command()
def ingest(
    name: NameArg,
    path: Annotated[Path, typer.Argument(help="A folder (walked recursively) or one file.")],
    include: Annotated[list[str] | None, typer.Option("--include", "-i", help="Glob of files to take (repeatable).")] = None,
    exclude: Annotated[list[str] | None, typer.Option("--exclude", "-x", help="Glob of files to skip (repeatable).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Block until every chunk has its vector.")] = False,
    engine: Annotated[str | None, typer.Option(help="Run loading, splitting and embedding on a Ray cluster: ray "
                                               "(RAY_ADDRESS or a local one), ray://HEAD:10001 or ray:HEAD:6379.")] = None,
    workers: Annotated[int | None, typer.Option(help="With --engine: embedding workers (default: the cluster's CPUs).")] = None,
    wait_lock: Annotated[bool, typer.Option("--wait-lock", help="If another process is writing this KB, wait for it "
                                            "to finish instead of stopping.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="One line per file as it is done.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Add new and changed files, drop removed ones; chunks are keyword-searchable at once.
    Ctrl-C keeps every finished file: run the same command again to go on."""
    from lingxi.knowledge.ingest import IngestInterrupted

    kb = _kb(name)
    bar, update = _progress_bar(not as_json)
    started = time.perf_counter()
    if bar:
        bar.start()
    try:
        if engine:  # the distributed path (lingxi.knowledge.distributed); embeds as it goes
            from lingxi.knowledge.distributed import ingest_ray, parse_engine

            report = ingest_ray(kb, path, address=parse_engine(engine), include=include, exclude=exclude,
                                progress=update, workers=workers)
        else:
            report = kb.ingest(path, include=include, exclude=exclude, embed="wait" if wait else "later",
                               progress=update, wait_lock=None if wait_lock else 0,
                               on_file=_file_line if verbose else None)  # fmt: skip
    except IngestInterrupted as stop:
        if bar:
            bar.stop()
        _interrupted(name, path, stop.report.as_dict(), include, exclude, as_json)
    except KeyboardInterrupt:  # while embedding (--wait): every vector written so far is kept
        if bar:
            bar.stop()
        _print_interrupt(name, path, include, exclude, "every file was ingested; the vectors computed so far are kept")
    finally:
        if bar:
            bar.stop()
    data = report.as_dict()
    data["pending_embeddings"] = kb.store.count(embedded=False)
    if not wait and data["pending_embeddings"]:
        from lingxi.knowledge.worker import spawn

        data["embedding_worker_pid"] = spawn(name, kb.path)
    data["seconds_total"] = round(time.perf_counter() - started, 3)
    if as_json:
        print_json(data)
    else:
        _print_report(name, data)
    _fail_if_nothing(path, data)


def _file_line(source: str, outcome: str, detail: str) -> None:
    err.print(f"{outcome}: {source}" + (f" ({detail})" if detail and outcome != "failed" else ""), markup=False)


def _again(name: str, path: Path, include: list[str] | None, exclude: list[str] | None) -> str:
    flags = "".join(f" --include {shlex.quote(g)}" for g in include or []) + "".join(
        f" --exclude {shlex.quote(g)}" for g in exclude or [])
    return f"lingxi kb ingest {name} {shlex.quote(str(path))}{flags}"


def _interrupted(name: str, path: Path, d: dict[str, Any], include: Any, exclude: Any, as_json: bool) -> None:
    kept = len(d["added"]) + len(d["changed"])
    if as_json:
        print_json({**d, "resume": _again(name, path, include, exclude)})
    else:
        _print_interrupt(name, path, include, exclude,
                         f"kept {kept} finished file{'s' if kept != 1 else ''} ({d['chunks']} chunks) and "
                         f"{d['unchanged']} unchanged; {d['unfinished']} not done yet")  # fmt: skip
    raise typer.Exit(130)


def _print_interrupt(name: str, path: Path, include: Any, exclude: Any, what: str) -> None:
    err.print(f"interrupted: {what}.", markup=False)
    err.print(f"to resume, run the same command again (only unfinished work is redone): "
              f"{_again(name, path, include, exclude)}", markup=False)  # fmt: skip
    raise typer.Exit(130)


def _fail_if_nothing(path: Path, d: dict[str, Any]) -> None:
    """Exit 1 when the ingest found nothing to read, or every file it tried failed."""
    from lingxi.knowledge.loaders import LOADERS

    done = len(d["added"]) + len(d["changed"]) + d["unchanged"] + len(d["deleted"])
    if done:
        return
    if d["failed"]:
        err.print(f"error: none of the {len(d['failed'])} files could be ingested (each failure is listed above).",
                  markup=False)  # fmt: skip
        err.print("hint: fix or exclude those files (--exclude GLOB), then run the command again", markup=False)
    else:
        err.print(f"error: no files to ingest under '{path}'.", markup=False)
        err.print(f"hint: lingxi reads {', '.join(sorted(LOADERS))}; choose others with --include GLOB",
                  markup=False)  # fmt: skip
    raise typer.Exit(1)


def _print_report(name: str, d: dict[str, Any]) -> None:
    rate = f" at {d['chunks_per_s']:,} chunks/s" if d.get("chunks_per_s") else f" in {d['seconds']:.2f} s"
    out.print(f"added {len(d['added'])}, changed {len(d['changed'])}, unchanged {d['unchanged']}, "
              f"deleted {len(d['deleted'])}, failed {len(d['failed'])} files; {d['chunks']} chunks{rate}",
              markup=False)  # fmt: skip
    for source, encoding in d.get("encodings", {}).items():
        out.print(f"read as {encoding} (not UTF-8): {source}", markup=False)
    for source, message in d["failed"]:
        err.print(f"failed: {source}: {message}", markup=False)
    if d.get("embedding"):
        e = d["embedding"]
        out.print(f"embedded {e['embedded']} chunks in {e['seconds']} s ({e['passages_per_s']} passages/s)", markup=False)
    elif d["pending_embeddings"]:
        out.print(f"{d['pending_embeddings']} chunks are being embedded in the background "
                  f"(pid {d.get('embedding_worker_pid')}); keyword search works now; "
                  f"follow it with: lingxi kb info {name}", markup=False)  # fmt: skip


@app.command()
def summarize(
    name: NameArg,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Chat model alias (default: the configured one).")] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Block until the summaries are embedded.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Build the tree summary index (chunk -> section -> document) as searchable nodes (kind "summary")."""
    kb = _kb(name)
    bar, update = _progress_bar(not as_json)
    if bar:
        bar.start()
    try:
        data = kb.summarize(model, embed="wait" if wait else "later", progress=update)
    finally:
        if bar:
            bar.stop()
    data["pending_embeddings"] = kb.store.count(embedded=False)
    if not wait and data["pending_embeddings"]:
        from lingxi.knowledge.worker import spawn

        data["embedding_worker_pid"] = spawn(name, kb.path)
    if as_json:
        print_json(data)
        return
    out.print(f"summarised {data['documents']} documents ({data['sections']} section summaries, "
              f"{data['model_calls']} model calls, {data['seconds']} s); search them with kind 'summary'", markup=False)  # fmt: skip
    for source, message in data["failed"]:
        err.print(f"failed: {source}: {message}", markup=False)


@app.command()
def search(
    name: NameArg,
    query: Annotated[str, typer.Argument(help="What to look for (any language).")],
    k: Annotated[int, typer.Option("--k", "-k", help="How many hits.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="hybrid, keyword or vector.")] = "hybrid",
    source: Annotated[str | None, typer.Option("--source", help="Only sources matching this glob.")] = None,
    page: Annotated[int | None, typer.Option("--page", help="Only this PDF page.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Search a knowledge base; shows each method's score so you can see why a chunk was found."""
    filters: dict[str, Any] = {}
    if source:
        filters["source"] = source
    if page is not None:
        filters["page"] = page
    hits = _kb(name).search(query, k=k, filters=filters or None, mode=mode)  # type: ignore[arg-type]
    if as_json:
        print_json([{"source": h.chunk.source, "page": h.chunk.page, "headings": h.chunk.headings,
                     "text": h.chunk.text, "score": round(h.score, 4),
                     "scores": {m: round(v, 4) for m, v in h.scores.items()}, "id": h.chunk.id,
                     "start": h.chunk.start, "end": h.chunk.end} for h in hits])  # fmt: skip
        return
    if not hits:
        out.print("no results", markup=False)
    for n, h in enumerate(hits, start=1):
        where = h.chunk.source + (f" p.{h.chunk.page}" if h.chunk.page else "")
        parts = " ".join(f"{m}={v:.3f}" for m, v in h.scores.items() if m in ("keyword", "vector"))
        out.print(f"[{n}] {h.score:.3f} {where}  ({parts or 'no per-method score'})", markup=False)
        if h.chunk.headings:
            out.print("    " + " > ".join(h.chunk.headings), markup=False)
        out.print("    " + " ".join(h.chunk.text.split())[:300], markup=False)


@app.command("ls")
def list_kbs(as_json: JsonOpt = False) -> None:
    """List knowledge bases."""
    from lingxi.knowledge.kb import KnowledgeBase

    rows = [_kb(n).info() for n in KnowledgeBase.names()]
    if as_json:
        print_json(rows)
        return
    table = Table("name", "model", "sources", "chunks", "embedded")
    for r in rows:
        table.add_row(r["name"], r["model_id"], str(r["sources"]), str(r["chunks"]), str(r["embedded"]))
    out.print(table)


@app.command()
def info(name: NameArg, as_json: JsonOpt = False) -> None:
    """Show a knowledge base's model, size and embedding progress."""
    from lingxi.knowledge.worker import running

    from lingxi.knowledge.lock import holder
    from lingxi.knowledge.worker import status

    kb = _kb(name)
    embedding = status(kb.path)
    data = {**kb.info(), "embedding_worker_pid": running(kb.path), "embedding_progress": embedding,
            "writer": holder(kb.path)}  # fmt: skip
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key == "embedding_progress" and value:
            value = f"{value.get('done', 0)}/{value.get('total', '?')}" + (
                f" at {value['per_s']}/s, about {value['eta_s']} s left" if value.get("per_s") else "")
        out.print(f"{key}: {value}", markup=False)


@app.command()
def check(
    name: NameArg,
    repair: Annotated[bool, typer.Option("--repair", help="Fix what is found (under the writer lock).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Find duplicate chunk ids, orphans (chunks of removed files, summaries without their chunks),
    mixed file versions and missing vectors; --repair fixes them. Exit 1 when problems remain."""
    kb = _kb(name)
    data = kb.check(repair=repair)
    if repair and kb.store.count(embedded=False):
        from lingxi.knowledge.worker import spawn

        data["embedding_worker_pid"] = spawn(name, kb.path)
    if as_json:
        print_json(data)
    else:
        _print_check(name, data, repair)
    if data["problems"] and not repair:
        raise typer.Exit(1)


def _print_check(name: str, d: dict[str, Any], repair: bool) -> None:
    out.print(f"{d['chunks']} chunks from {d['sources']} sources; {d['pending']} waiting for their vector",
              markup=False)  # fmt: skip
    found = [(len(d["duplicate_ids"]), "chunk ids stored more than once"),
             (len(d["orphan_sources"]), f"removed files still indexed ({d['orphan_chunks']} chunks)"),
             (len(d["orphan_summaries"]), "summaries whose chunks are gone"),
             (len(d["mixed_sources"]), "files with chunks of two versions"),
             (len(d["missing_vectors"]), "chunks marked embedded without a usable vector")]  # fmt: skip
    for n, what in found:
        if n:
            out.print(f"found {n} {what}", markup=False)
    for source in d["orphan_sources"][:10]:
        out.print(f"  removed: {source}", markup=False)
    if not d["problems"]:
        out.print("no problems found", markup=False)
    elif repair:
        out.print("repaired: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["repaired"].items()), markup=False)
    else:
        out.print(f"fix them with: lingxi kb check {name} --repair", markup=False)


@app.command()
def rm(
    name: NameArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a knowledge base (its index only; your files are untouched)."""
    from lingxi.knowledge.kb import KnowledgeBase

    if not yes and not as_json:
        typer.confirm(f"Delete the knowledge base '{name}'?", abort=True)
    KnowledgeBase.remove(name)
    if as_json:
        print_json({"removed": name})
    else:
        out.print(f"removed knowledge base '{name}'", markup=False)


@app.command()
def export(
    name: NameArg,
    output: Annotated[Path | None, typer.Option("--out", "-o", help="JSONL file to write (default: stdout).")] = None,
) -> None:
    """Write every chunk (text, source, offsets, headings) as JSON lines."""
    from lingxi.errors import StoreError

    kb = _kb(name)
    chunks = getattr(kb.store, "iter_chunks", None)
    if chunks is None:
        raise StoreError(f"The store of '{name}' cannot list its chunks.", "export works with the LanceDB store")
    lines = (json.dumps({"id": c.id, "source": c.source, "text": c.text, "page": c.page, "start": c.start,
                         "end": c.end, "headings": c.headings, "hash": c.hash}, ensure_ascii=False) + "\n"
             for c in chunks())  # fmt: skip
    if output is None:
        for line in lines:
            typer.echo(line, nl=False)
    else:
        with open(output, "w", encoding="utf-8") as f:
            f.writelines(lines)
