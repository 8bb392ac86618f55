"""`lingxi serve`, `lingxi keys` and `lingxi traces`.

The main CLI mounts them (see `register`); errors are LingxiErrors, which the
main CLI prints as a sentence and a hint:

    app.command("serve")(serve_command)
    app.add_typer(keys_app, name="keys")
    app.add_typer(traces_app, name="traces")
"""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any

import typer

from lingxi.errors import ConfigError

keys_app = typer.Typer(name="keys", help="API keys for `lingxi serve` (stored hashed in the home database).",
                       no_args_is_help=True)
traces_app = typer.Typer(name="traces", help="Model calls recorded in the home database (server, CLI and library).",
                         invoke_without_command=True)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.add_typer(keys_app, name="keys")
    app.add_typer(traces_app, name="traces")


def _conn() -> Any:
    from lingxi import db
    from lingxi.config import load_settings

    return db.connect(load_settings())


def serve_command(
    host: Annotated[str, typer.Option(help="Address to bind; anything but loopback requires API keys.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve without API keys (loopback only).")] = False,
    max_body: Annotated[int, typer.Option(help="Largest request body in bytes.")] = 4 * 1024 * 1024,
    rate_limit: Annotated[int, typer.Option(help="Requests per minute per key unless the key sets its own; 0 = off.")] = 600,
    cors_origin: Annotated[list[str] | None, typer.Option(help="Allow browser calls from this origin (repeat). Off by default.")] = None,
    queue_size: Annotated[int, typer.Option(help="Requests that may wait for each local model.")] = 32,
    queue_timeout: Annotated[float, typer.Option(help="Seconds a request may wait in a model's queue.")] = 120.0,
    allow_any_model: Annotated[bool, typer.Option("--allow-any-model", help="Accept PROVIDER:TARGET names, paths and URLs, not only aliases.")] = False,
    preload: Annotated[list[str] | None, typer.Option(help="Load this model before reporting ready (repeat).")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    stream_pace: Annotated[float, typer.Option(help="After the first token, send streamed tokens in batches this "
                                               "many seconds apart (0: as each arrives; costs decode speed).")] = 0.1,
    keep_alive: Annotated[int, typer.Option(help="Seconds an idle keep-alive connection stays open; longer than "
                                            "clients keep pooled connections (httpx/openai: 5 s), so that a "
                                            "request never meets a connection the server is closing.")] = 75,
) -> None:
    """Serve the OpenAI-compatible API (/v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models, /metrics)."""
    import uvicorn

    from lingxi.config import load_settings
    from lingxi.serve import create_app, serve_settings
    from lingxi.serve.keys import list_keys

    serve = serve_settings(host=host, port=port, no_auth=no_auth, max_body_bytes=max_body, rate_limit=rate_limit,
                           cors_origins=cor_list(cors_origin), queue_size=queue_size, queue_timeout_s=queue_timeout,
                           allow_any_model=allow_any_model, preload=list(preload or []), stream_pace_s=stream_pace)
    settings = load_settings()
    if not serve.no_auth:
        conn = _conn()
        try:
            if not list_keys(conn):
                typer.secho("No API keys yet: every request will get 401. Create one with: lingxi keys create NAME"
                            " (or use --no-auth on 127.0.0.1).", fg="yellow", err=True)
        finally:
            conn.close()
    _check_port(host, port)
    typer.echo(f"lingxi serving on http://{host}:{port}/v1 (default model: {settings.default_model})", err=True)
    uvicorn.run(create_app(settings, serve), host=host, port=port, log_level=log_level, timeout_keep_alive=keep_alive)


def _check_port(host: str, port: int) -> None:
    """Say so in one sentence, before uvicorn logs errors, when the address is taken or not ours."""
    import errno
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"Port {port} on {host} is already in use (another lingxi serve, or another "
                                  "program).", f"stop it, or choose another port: lingxi serve --port {port + 1}") from exc
            raise ConfigError(f"Cannot listen on {host}:{port}: {exc.strerror}.",
                              "check --host (an address of this machine) and --port") from exc


def cor_list(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="What the key is for, e.g. 'laptop' or 'ci'.")],
    rate_limit: Annotated[int | None, typer.Option(help="Requests per minute for this key; 0 = unlimited; default: the server's.")] = None,
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from lingxi.serve.keys import create_key

    conn = _conn()
    try:
        info, key = create_key(conn, name, rate_limit)
    finally:
        conn.close()
    typer.echo(key)
    typer.echo(f"Created key {info.id} '{info.name}'. Copy it now: it is not shown again.", err=True)


@keys_app.command("list")
def keys_list(
    all_: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List keys (id, name, prefix, rate limit, last use)."""
    from lingxi.serve.keys import list_keys

    conn = _conn()
    try:
        keys = list_keys(conn, include_revoked=all_)
    finally:
        conn.close()
    if as_json:
        typer.echo(json.dumps([k.__dict__ for k in keys], indent=2))
        return
    if not keys:
        typer.echo("No keys. Create one with: lingxi keys create NAME")
        return
    for k in keys:
        state = "revoked" if k.revoked_at else "active"
        used = _when(k.last_used_at) if k.last_used_at else "never used"
        limit = "default" if k.rate_limit is None else (f"{k.rate_limit}/min" if k.rate_limit else "unlimited")
        typer.echo(f"{k.id:>4}  {k.name:<20} {k.prefix}…  {state:<8} {limit:<10} {used}")


@keys_app.command("revoke")
def keys_revoke(ident: Annotated[str, typer.Argument(help="The key's id, name or prefix.")]) -> None:
    """Revoke a key; requests using it get 401 from then on."""
    from lingxi.serve.keys import revoke_key

    conn = _conn()
    try:
        info = revoke_key(conn, ident)
    finally:
        conn.close()
    typer.echo(f"Revoked key {info.id} '{info.name}'.")


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


@traces_app.callback()
def traces(
    ctx: typer.Context,
    last: Annotated[int, typer.Option(help="How many of the latest calls to show.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines.")] = False,
) -> None:
    """Show the latest model calls."""
    if ctx.invoked_subcommand is not None:
        return
    from lingxi.tracing import recent

    conn = _conn()
    try:
        rows = recent(conn, last)
    finally:
        conn.close()
    for row in rows:
        if as_json:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
            continue
        ttft = f"{row['ttft_s'] * 1000:.0f}ms" if row["ttft_s"] is not None else "-"
        err = f"  {row['error']}" if row["error"] else ""
        typer.echo(f"{_when(row['ts'])}  {row['source']:<7} {row['model']:<16} {row['status']:<9} {row['prompt_tokens']:>5}+"
                   f"{row['completion_tokens']:<5} ttft {ttft:>7}  total {row['latency_s'] or 0:.2f}s{err}")


@traces_app.command("stats")
def traces_stats(
    days: Annotated[int, typer.Option(help="How many days back to count.")] = 7,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per model and day: calls, errors, p50/p95 latency, tokens/s, cost, compute seconds."""
    from lingxi.tracing import stats

    conn = _conn()
    try:
        rows = stats(conn, days, model)
    finally:
        conn.close()
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(f"No model calls in the last {days} day(s).")
        return
    w = max(5, *(len(r["model"]) for r in rows))
    typer.echo(f"{'day':<10}  {'model':<{w}} {'calls':>6} {'errors':>6} {'p50':>8} {'p95':>8} {'tok/s':>7} "
               f"{'cost':>10} {'compute':>8}")
    for r in rows:
        typer.echo(f"{r['day']:<10}  {r['model']:<{w}} {r['calls']:>6} {r['errors']:>6} {_secs(r['p50_latency_s'])} "
                   f"{_secs(r['p95_latency_s'])} {_num(r['tokens_per_s'], 7, 1)} {r['cost']:>10.4f} {r['compute_s']:>7.1f}s")


def _secs(v: float | None) -> str:
    return f"{'-':>8}" if v is None else f"{v:>7.3f}s"


def _num(v: float | None, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.{digits}f}"
