"""Ingest hardening (issues #13.5-9, #19.3): the hostile folder, concurrent writers, long-line splitting,
summary calls. Writes bench/results/hardening_ingest.json and .md.

    python bench/hardening_ingest.py            # a few minutes on 2 cores

Timings on a shared machine are noisy: the load average is recorded with every figure.
"""

from __future__ import annotations

import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lingxi.testing.bombs import zip_bomb

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LINGXI = str(Path(sys.executable).with_name("lingxi"))
MB = 1 << 20


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(args: list[str], env: dict[str, str], timeout: float = 600) -> dict:
    """Run a lingxi command: exit code, wall time, output, and the peak RSS of the largest child
    reaped so far (RUSAGE_CHILDREN; the hostile ingest is the first big one)."""
    t0 = time.perf_counter()
    proc = subprocess.run([LINGXI, *args], capture_output=True, env=env, text=True, timeout=timeout)
    return {"rc": proc.returncode, "seconds": round(time.perf_counter() - t0, 2), "stdout": proc.stdout,
            "stderr": proc.stderr, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)}


def hostile_folder(d: Path) -> dict[str, str]:
    d.mkdir(parents=True)
    for n in range(5):
        (d / f"good{n}.md").write_text(f"# Good {n}\n\nThis good file number {n} is ingested.\n", encoding="utf-8")
    os.mkfifo(d / "pipe.txt")
    (d / "zero.txt").symlink_to("/dev/zero")
    (d / "a.txt").symlink_to(d / "b.txt")
    (d / "b.txt").symlink_to(d / "a.txt")
    zip_bomb(d / "bomb.docx", "docx", 1024)  # 1 GB of XML
    zip_bomb(d / "bomb.xlsx", "xlsx", 512)
    (d / "line.txt").write_text("word " * (2 * MB), encoding="utf-8")  # 10 MB, one line
    (d / "latin1.txt").write_bytes("A naïve café in Zürich.".encode("latin-1"))
    (d / "cp1251.txt").write_bytes("Привет, это проверка.".encode("cp1251"))
    (d / "garbage.txt").write_bytes(bytes(range(128, 256)) * 64)
    (d / "fake.pdf").write_text("not a pdf")
    return {p.name: f"{p.lstat().st_size if not p.is_symlink() else 0} bytes" for p in d.iterdir()
            if p.is_symlink() or p.is_file()}  # fmt: skip


def bench_hostile(tmp: Path, env: dict[str, str]) -> dict:
    d = tmp / "hostile"
    t0 = time.perf_counter()
    sizes = hostile_folder(d)
    built = time.perf_counter() - t0
    assert run(["kb", "create", "hostile"], env)["rc"] == 0
    r = run(["kb", "ingest", "hostile", str(d), "--json"], env, timeout=600)
    report = json.loads(r["stdout"]) if r["stdout"].strip().startswith("{") else {}
    return {
        "folder_files": sorted(sizes), "bomb_docx_on_disk_kb": round((d / "bomb.docx").stat().st_size / 1024),
        "bomb_xlsx_on_disk_kb": round((d / "bomb.xlsx").stat().st_size / 1024), "build_s": round(built, 1),
        "rc": r["rc"], "wall_s": r["seconds"], "peak_rss_mb": r["peak_rss_mb"],
        "added": len(report.get("added", [])), "chunks": report.get("chunks"),
        "failed": {Path(s).name: m.split(" (")[0] for s, m in report.get("failed", [])},
        "encodings": {Path(s).name: e for s, e in report.get("encodings", {}).items()}, "load": load(),
    }  # fmt: skip


def bench_concurrent(tmp: Path, env: dict[str, str], n: int = 600) -> dict:
    d = tmp / "conc"
    d.mkdir()
    for i in range(n):
        (d / f"f{i:04d}.txt").write_text(f"Small file {i} about topic {i % 13}.", encoding="utf-8")
    assert run(["kb", "create", "conc"], env)["rc"] == 0
    t0 = time.perf_counter()
    procs = [subprocess.Popen([LINGXI, "kb", "ingest", "conc", str(d), *flags], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=env, text=True) for flags in ([], ["--wait-lock"], [])]  # fmt: skip
    outcomes = [(p.wait(timeout=900), p.stderr.read()) for p in procs]
    wall = time.perf_counter() - t0
    check = json.loads(run(["kb", "check", "conc", "--json"], env)["stdout"])
    run(["kb", "rm", "-y", "conc"], env)
    return {"files": n, "processes": 3, "rcs": [rc for rc, _ in outcomes],
            "refused_with_sentence": sum("is being written by process" in e for _, e in outcomes),
            "wall_s": round(wall, 1), "rows": check["chunks"], "duplicate_ids": len(check["duplicate_ids"]),
            "problems": check["problems"], "load": load()}  # fmt: skip


def old_module(path: str, name: str):
    src = subprocess.run(["git", "-C", str(ROOT), "show", f"0b0e4ef:{path}"], capture_output=True, text=True, check=True)
    spec = importlib.util.spec_from_loader(name, loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(src.stdout, name, "exec"), module.__dict__)  # noqa: S102 - our own code at an older commit
    return module


def bench_split() -> dict:
    from lingxi.knowledge.embed import E5Embedder
    from lingxi.knowledge.splitter import Splitter
    from lingxi.types import Document

    e5 = E5Embedder()
    e5.count_tokens("warm up")
    old = old_module("src/lingxi/knowledge/splitter.py", "old_splitter")
    out: dict = {"load": load(), "new": {}, "old": {}}
    for size in (32 * 1024, 128 * 1024, 10 * MB):
        line = ("word " * (size // 5 + 1))[:size]
        doc = Document(id="x", source="x", text=line)
        for counter, kw in (("estimate", {}), ("e5", {"count_tokens": e5.count_tokens})):
            t0 = time.perf_counter()
            chunks = Splitter(256, 32, **kw).split(doc)
            out["new"][f"{size // 1024}KB/{counter}"] = {"s": round(time.perf_counter() - t0, 2), "chunks": len(chunks)}
    for size in (16 * 1024, 32 * 1024, 64 * 1024):  # the old code is quadratic: small sizes only
        line = ("word " * (size // 5 + 1))[:size]
        doc = Document(id="x", source="x", text=line)
        for counter, kw in (("estimate", {}), ("e5", {"count_tokens": e5.count_tokens})):
            t0 = time.perf_counter()
            chunks = old.Splitter(256, 32, **kw).split(doc)
            out["old"][f"{size // 1024}KB/{counter}"] = {"s": round(time.perf_counter() - t0, 2), "chunks": len(chunks)}
    return out


def bench_summary(tmp: Path) -> dict:
    """Model calls of `kb summarize` on samples/docs with the scripted model: before (main's grouping)
    and after (short sections share a prompt)."""
    from lingxi.knowledge import summary
    from lingxi.knowledge.kb import KnowledgeBase
    from lingxi.models.scripted import ScriptedChat

    os.environ["LINGXI_HOME"] = str(tmp / "sumhome")
    kb = KnowledgeBase.create("sum")
    kb.ingest(ROOT / "samples" / "docs", embed="later")
    old = old_module("src/lingxi/knowledge/summary.py", "old_summary")
    out = {"chunks": kb.info()["chunks"], "documents": len(kb.sources()), "load": load()}
    for label, module in (("before", old), ("after", summary)):
        model = ScriptedChat(default="A short summary.")
        t0 = time.perf_counter()
        report = module.summarize(kb, model)
        out[label] = {"model_calls": report.model_calls, "sections": report.sections, "seconds": round(time.perf_counter() - t0, 2)}
    return out


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="lingxi-bench-ingest-"))
    env = {**os.environ, "LINGXI_HOME": str(tmp / "home")}
    try:
        only = sys.argv[1:]  # stage names: rerun those, keep the others from the last results
        results: dict = json.loads((RESULTS / "hardening_ingest.json").read_text()) if only else {}
        partial = RESULTS / "hardening_ingest.partial.json"
        for name, stage in (("hostile", lambda: bench_hostile(tmp, env)), ("concurrent", lambda: bench_concurrent(tmp, env)),
                            ("summary_calls", lambda: bench_summary(tmp)), ("split", bench_split)):  # fmt: skip
            if only and name not in only:
                continue
            results[name] = stage()  # the in-process stages come after the children (peak RSS)
            partial.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        partial.unlink(missing_ok=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "hardening_ingest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    h, c, s, m = results["hostile"], results["concurrent"], results["split"], results["summary_calls"]
    lines = ["# Ingest hardening", "", "Shared 2-core machine: load averages (1/5/15 min) beside each figure.", "",
             "| measure | result | target | load |", "| --- | --- | --- | --- |",
             f"| hostile folder ({len(h['folder_files'])} entries) wall time | {h['wall_s']} s (rc {h['rc']}) | < 60 s | {h['load']} |",
             f"| hostile folder peak memory | {h['peak_rss_mb']} MB | < 500 MB | |",
             f"| hostile folder: good files added / refused | {h['added']} / {len(h['failed'])} | 5+ / every hostile one | |",
             f"| concurrent ingests ({c['processes']} x {c['files']} files): duplicate ids | {c['duplicate_ids']} "
             f"(rows {c['rows']}, refused with a sentence {c['refused_with_sentence']}) | 0 | {c['load']} |",
             f"| 10 MB single line, split (estimate / e5 tokenizer) | {s['new']['10240KB/estimate']['s']} s / "
             f"{s['new']['10240KB/e5']['s']} s | seconds | {s['load']} |",
             f"| old splitter, 64 KB single line (estimate / e5) | {s['old']['64KB/estimate']['s']} s / {s['old']['64KB/e5']['s']} s | | |",
             f"| kb summarize on samples/docs ({m['chunks']} chunks): model calls before / after | "
             f"{m['before']['model_calls']} / {m['after']['model_calls']} | fewer | {m['load']} |", "",
             "Refusals in the hostile folder:", ""]  # fmt: skip
    lines += [f"- `{name}`: {why}" for name, why in sorted(h["failed"].items())]
    lines += ["", f"Encodings chosen: {h['encodings']}", ""]
    (RESULTS / "hardening_ingest.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
