"""Scale-out on one small machine: replicas on one PostgreSQL, Ray ingest, remote embedding concurrency.

1. Serving: one, then two `lingxi serve` processes on one PostgreSQL database (scripted model,
   so the numbers are the server's and the database's, not a model's), 64 concurrent clients
   spread over the replicas for `--seconds` each (bounded: this is a shared 2-core machine;
   the issue's 5 minutes would be the same test, longer): requests/s, errors, p50/p95 latency.
   Key revocation propagation: revoke through the database, poll the other replica until it refuses.
   A conversation alternating between the replicas: every turn sees all earlier ones.
2. Ingest: the same corpus (cmrc2018 passages as files) and the same embedder through the local
   path and through Ray with 1 and 2 embedding workers on a local cluster (`ray.init(num_cpus=2)`).
   On 2 cores this measures Ray's overhead, not its scaling.
   Then a worker is killed mid-ingest (SIGKILL): no duplicate, missing or extra chunk, `kb check` clean.
3. Ray ingest into a KB embedded by lingxi's own /v1/embeddings on loopback, at concurrency 1, 4, 8
   per worker; and the remote embedder alone at concurrency 1, 4, 8.

    export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)"
    nice -n 10 .venv/bin/python bench/scale.py [--seconds 90] [--files 60] [--embedding use] [--only serving|ingest|ingest_remote|embedding]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import httpx
import psycopg

from lingxi import db
from lingxi.serve.keys import create_key, revoke_key
from lingxi.testing.live import free_port

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cmrc2018"
TOML = '[models.fake]\nprovider = "scripted"\nreplies = ["Noted, thank you."]\n'
MSG = [{"role": "user", "content": "hi"}]


# Ray starts its workers 15 nice levels below the raylet (capped at 19): on this shared machine
# they would then run behind everyone's nice-10 jobs while the local path runs at nice 10; 0 keeps
# the comparison fair (the workers run at this process's niceness)
os.environ.setdefault("RAY_worker_niceness", "0")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def schema_url(dsn: str, schema: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return dsn + ("&" if "?" in dsn else "?") + f"options=-csearch_path%3D{schema}"


def start_replica(url: str, name: str, home: Path) -> tuple[subprocess.Popen, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "lingxi.toml").write_text(TOML, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINGXI_")}
    env.update(LINGXI_HOME=str(home), LINGXI_DB_URL=url, LINGXI_REPLICA=name, LINGXI_TRACE="1")
    port = free_port()
    cmd = [sys.executable, "-c", "from lingxi.cli import main; raise SystemExit(main())", "serve", "--port", str(port),
           "--log-level", "warning", "--rate-limit", "0", "--queue-size", "256"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/v1/models", timeout=1).status_code == 401:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"replica {name} did not start")


async def _load(bases: list[str], key: str, clients: int, seconds: float) -> dict:
    lat: list[float] = []
    errors: dict[str, int] = {}
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def one(i: int, http: httpx.AsyncClient) -> None:
        base = bases[i % len(bases)]
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                r = await http.post(base + "/v1/chat/completions", json={"model": "fake", "messages": MSG})
                if r.status_code == 200:
                    lat.append(time.perf_counter() - t0)
                else:
                    errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"}, timeout=60, limits=limits) as http:
        started = time.monotonic()
        await asyncio.gather(*(one(i, http) for i in range(clients)))
        took = time.monotonic() - started
    lat.sort()
    q = statistics.quantiles(lat, n=100) if len(lat) > 2 else [float("nan")] * 99
    return {"replicas": len(bases), "clients": clients, "seconds": round(took, 1), "ok": len(lat),
            "errors": errors, "requests_per_s": round(len(lat) / took, 1),
            "p50_ms": round(q[49] * 1000, 1), "p95_ms": round(q[94] * 1000, 1), "load_avg": load()}


def serving(dsn: str, seconds: float, clients: int, tmp: Path) -> dict:
    url = schema_url(dsn, "bench_scale")
    with closing(db.connect(path=url)) as conn:
        _, key = create_key(conn, "bench")
    procs = []
    try:
        a = start_replica(url, "a", tmp / "a")
        procs.append(a[0])
        one = asyncio.run(_load([a[1]], key, clients, seconds))
        print("one replica:", one, flush=True)
        b = start_replica(url, "b", tmp / "b")
        procs.append(b[0])
        two = asyncio.run(_load([a[1], b[1]], key, clients, seconds))
        print("two replicas:", two, flush=True)
        revocation = [revoke_once(url, a[1], b[1]) for _ in range(5)]
        print("revocation:", revocation, flush=True)
        session = alternate(a[1], b[1], key)
        with closing(db.connect(path=url)) as conn:
            per_replica = {r[0]: r[1] for r in conn.execute("SELECT replica, count(*) FROM traces GROUP BY replica")}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
    return {"one_replica": one, "two_replicas": two, "revocation_ms": revocation, "session": session,
            "traces_per_replica": per_replica}


def revoke_once(url: str, a: str, b: str) -> dict:
    """After the revoking commit (through the database, as `lingxi keys revoke` on any machine does):
    how many requests replica b still accepted, and ms until its first refusal (that request's latency)."""
    with closing(db.connect(path=url)) as conn:
        info, key = create_key(conn, "revoke-me")
        h = {"Authorization": f"Bearer {key}"}
        assert httpx.post(b + "/v1/chat/completions", headers=h, json={"model": "fake", "messages": MSG}).status_code == 200
        revoke_key(conn, str(info.id))
        t0, accepted = time.perf_counter(), 0
        while httpx.get(b + "/v1/models", headers=h).status_code != 401:
            accepted += 1
        return {"accepted_after_revoke": accepted, "ms": round((time.perf_counter() - t0) * 1000, 1)}


def alternate(a: str, b: str, key: str, turns: int = 6) -> dict:
    h = {"Authorization": f"Bearer {key}"}
    sid = httpx.post(a + "/api/sessions", headers=h, json={"title": "alternating"}).json()["id"]
    kept = True
    for turn in range(turns):
        base = (a, b)[turn % 2]
        history = httpx.get(f"{base}/api/sessions/{sid}", headers=h).json()["messages"]
        kept &= len(history) == 2 * turn
        msgs = [{"role": m["role"], "content": m["content"]} for m in history] + [{"role": "user", "content": f"q{turn}"}]
        r = httpx.post(base + "/v1/chat/completions", headers=h, json={"model": "fake", "messages": msgs}).json()
        httpx.post(f"{base}/api/sessions/{sid}/messages", headers=h, json={"messages": [
            {"role": "user", "content": f"q{turn}"}, {"role": "assistant", "content": r["choices"][0]["message"]["content"]}]})
    final = httpx.get(f"{a}/api/sessions/{sid}", headers=h).json()["messages"]
    return {"turns": turns, "memory_kept_every_turn": bool(kept and len(final) == 2 * turns)}


def corpus(root: Path, files: int) -> Path:
    data = json.loads((DATA / "cmrc2018_trial.json").read_text(encoding="utf-8"))
    paragraphs = [p for art in data["data"] for p in art["paragraphs"]][:files]
    root.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paragraphs):
        (root / f"p{i:04d}.md").write_text(p["context"], encoding="utf-8")
    return root


def _embed_worker_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ray::") and b"Embed" in cmdline:
                pids.append(int(entry.name))
    return pids


def _ids(kb) -> list[str]:
    return kb.store.table.to_arrow().column("id").to_pylist()


def _timed_ray(kb, root: Path, workers: int, n: int, **kw) -> dict:
    from lingxi.knowledge.distributed import ingest_ray

    marks: list[tuple[float, int]] = []  # (time, files written): the driver commits every 4 files here
    t0 = time.perf_counter()
    report = ingest_ray(kb, root, workers=workers, batch_files=4, progress=lambda _, done, total: marks.append(
        (time.perf_counter(), done)), **kw)
    took = time.perf_counter() - t0
    assert kb.store.count() == n and not report.failed, (kb.store.count(), n, report.failed)
    out = {"seconds": round(took, 1), "passages_per_s": round(n / took, 2), "load_avg": load()}
    if marks:  # a worker's results come back a Ray block (up to 64 files) at a time, so this is not a rate
        out["first_commit_s"] = round(marks[0][0] - t0, 1)
    return out


def ingest(files: int, embedding: str, tmp: Path) -> dict:
    """Local path vs Ray with 1 and 2 workers (same embedder, in process), then a worker killed mid-ingest."""
    import threading

    import ray

    from lingxi.knowledge import KnowledgeBase
    from lingxi.knowledge.distributed import ingest_ray

    os.environ["LINGXI_HOME"] = str(tmp / "kb-home")
    root = corpus(tmp / "corpus", files)
    out: dict = {"files": files, "embedding": embedding}
    kb = KnowledgeBase.create("local", embedding=embedding)
    t0 = time.perf_counter()
    kb.ingest(root, embed="wait")
    took = time.perf_counter() - t0
    n = kb.store.count()
    want = set(_ids(kb))
    out["chunks"] = n
    out["local"] = {"seconds": round(took, 1), "passages_per_s": round(n / took, 2), "load_avg": load()}
    print("local:", out["local"], flush=True)
    t0 = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    out["ray_init_s"] = round(time.perf_counter() - t0, 1)
    try:
        for workers in (1, 2):
            kb = KnowledgeBase.create(f"ray{workers}", embedding=embedding)
            out[f"ray_{workers}_workers"] = _timed_ray(kb, root, workers, n)
            print(f"ray {workers}:", out[f"ray_{workers}_workers"], flush=True)
        kb = KnowledgeBase.create("killed", embedding=embedding)
        seen: list = []
        result: dict = {}

        def run() -> None:
            result["r"] = ingest_ray(kb, root, workers=2, batch_files=4, progress=lambda *a: seen.append(a))

        thread = threading.Thread(target=run)
        thread.start()
        killed: list[int] = []
        while thread.is_alive() and not killed:
            if seen:  # the first files are written: embedding is under way
                pids = _embed_worker_pids()[:1]
                for pid in pids:
                    os.kill(pid, 9)
                killed += pids
            time.sleep(0.05)
        thread.join()
        ids = _ids(kb)
        found = kb.check()
        out["killed_worker"] = {"killed": len(killed), "files_written_before_kill": seen[0][1] if seen else 0,
                                "failed": len(result["r"].failed), "chunks": len(ids),
                                "duplicates": len(ids) - len(set(ids)), "missing": len(want - set(ids)),
                                "extra": len(set(ids) - want), "kb_check_ok": found["ok"],
                                "kb_check_problems": found["problems"], "load_avg": load()}
        print("killed:", out["killed_worker"], flush=True)
    finally:
        ray.shutdown()
    return out


def ingest_remote(files: int, embedding: str, tmp: Path, concurrencies=(1, 4, 8)) -> dict:
    """Ray ingest (2 workers) into a KB whose embedder is lingxi's own /v1/embeddings on loopback,
    LINGXI_EMBED_CONCURRENCY requests in flight per worker (each worker call holds up to 256 chunks,
    i.e. up to 4 requests of 64)."""
    import ray

    from lingxi.knowledge import KnowledgeBase
    from lingxi.knowledge.remote import OpenAIEmbedder

    os.environ["LINGXI_HOME"] = str(tmp / "kb-remote-home")
    root = corpus(tmp / "corpus-remote", files)
    proc, base = _embedding_server(tmp, embedding)
    spec = f"openai:{embedding}@{base}"
    out: dict = {"files": files, "embedding": f"openai:{embedding}@http://127.0.0.1:PORT/v1", "workers": 2}
    try:
        OpenAIEmbedder(embedding, base_url=base).embed(["warm up"])  # load the model in the server
        kb = KnowledgeBase.create("remote-local", embedding=spec)
        t0 = time.perf_counter()
        kb.ingest(root, embed="wait")
        took = time.perf_counter() - t0
        n = out["chunks"] = kb.store.count()
        out["local_path"] = {"seconds": round(took, 1), "passages_per_s": round(n / took, 2), "load_avg": load()}
        print("remote, local path:", out["local_path"], flush=True)
        for c in concurrencies:
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": {"LINGXI_EMBED_CONCURRENCY": str(c)}})
            try:
                kb = KnowledgeBase.create(f"remote{c}", embedding=spec)
                out[f"ray_concurrency_{c}"] = _timed_ray(kb, root, 2, n, files_per_task=64, embed_batch=256)
                print(f"remote, ray concurrency {c}:", out[f"ray_concurrency_{c}"], flush=True)
            finally:
                ray.shutdown()
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def _embedding_server(tmp: Path, embedding: str) -> tuple[subprocess.Popen, str]:
    home = tmp / "embed-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINGXI_")}
    env["LINGXI_HOME"] = str(home)
    port = free_port()
    cmd = [sys.executable, "-c", "from lingxi.cli import main; raise SystemExit(main())", "serve", "--port", str(port),
           "--no-auth", "--log-level", "warning", "--queue-size", "256"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/models", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the embedding server ({embedding}) did not start")


def remote_embedding(embedding: str, passages: int, tmp: Path) -> dict:
    from lingxi.knowledge.remote import OpenAIEmbedder

    proc, base = _embedding_server(tmp, embedding)
    data = json.loads((DATA / "cmrc2018_trial.json").read_text(encoding="utf-8"))
    texts = [p["context"][:400] for art in data["data"] for p in art["paragraphs"]][:passages]
    out: dict = {"embedding": embedding, "passages": passages, "batch_size": 16}
    try:
        OpenAIEmbedder(embedding, base_url=base, batch_size=16).embed(texts[:16])  # load the model
        for c in (1, 4, 8):
            e = OpenAIEmbedder(embedding, base_url=base, batch_size=16, concurrency=c)
            t0 = time.perf_counter()
            e.embed(texts)
            took = time.perf_counter() - t0
            out[f"concurrency_{c}"] = {"seconds": round(took, 2), "passages_per_s": round(len(texts) / took, 1),
                                       "load_avg": load()}
            print(f"embed concurrency {c}:", out[f"concurrency_{c}"], flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    return out


def markdown(r: dict) -> str:
    s = r.get("serving")
    lines = ["# Scale-out (bench/scale.py)", "",
             f"{r['machine']}; load averages are recorded per row: this machine is shared by several engineers,",
             "so the numbers are noisy and the absolute values are floors.", ""]
    if r.get("note"):
        lines += [r["note"], ""]
    if s:
        lines += [f"## Replicas on one PostgreSQL ({s['one_replica']['clients']} concurrent clients, "
                  f"{s['one_replica']['seconds']} s each, scripted model; bounded, not the issue's 5 minutes)", "",
                  "| setup | ok requests | errors | req/s | p50 ms | p95 ms | load avg |", "| --- | --- | --- | --- | --- | --- | --- |"]
        for name in ("one_replica", "two_replicas"):
            x = s[name]
            lines.append(f"| {name.replace('_', ' ')} | {x['ok']} | {sum(x['errors'].values())} {x['errors'] or ''} | "
                         f"{x['requests_per_s']} | {x['p50_ms']} | {x['p95_ms']} | {x['load_avg']} |")
        rv = s["revocation_ms"]
        accepted = [x["accepted_after_revoke"] if isinstance(x, dict) else "?" for x in rv]
        lines += ["", f"Key revocation (5 runs): requests the other replica still accepted after the revoking commit: "
                  f"{accepted}; ms until its refusal (= that one request's latency "
                  f"on this loaded machine): {[x['ms'] if isinstance(x, dict) else x for x in rv]}",
                  f"Conversation alternating between replicas ({s['session']['turns']} turns) kept its memory: "
                  f"{s['session']['memory_kept_every_turn']}", f"Trace rows per replica: {s['traces_per_replica']}", ""]
    i = r.get("ingest")
    if i:
        lines += [f"## Ingest: {i['files']} cmrc2018 passages as files, {i['chunks']} chunks, embedding `{i['embedding']}`", "",
                  "| path | seconds | passages/s | s to the first commit | load avg |",
                  "| --- | --- | --- | --- | --- |"]
        for name in ("local", "ray_1_workers", "ray_2_workers"):
            if name in i:
                x = i[name]
                lines.append(f"| {name.replace('_', ' ')} | {x['seconds']} | {x['passages_per_s']} | "
                             f"{x.get('first_commit_s', '-')} | {x['load_avg']} |")
        lines += ["", f"Ray rows include starting the workers (one actor per worker: a Python process that imports Ray "
                  f"and lingxi and loads the embedder); `ray.init` itself took {i.get('ray_init_s', '?')} s and is not "
                  "counted. Two cores hold the driver, the Ray runtime and the workers at once, so this is Ray's "
                  "overhead, not its scaling."]
        if "ray_1_workers" in i and "local" in i:
            loc, one = i["local"], i["ray_1_workers"]
            lines += [f"Overhead with one worker: {one['seconds'] - loc['seconds']:.1f} s on {i['chunks']} chunks (worker "
                      "start, Ray Data's scheduling, results coming back a block at a time). Extrapolation: one worker "
                      "on a core of its own embeds at about the local path's single-process rate "
                      f"({loc['passages_per_s']} passages/s with `{i['embedding']}` here; multilingual-e5-small does "
                      "1-5/s per core), N workers at about N x that, less the driver's hashing and writes and a "
                      "fixed start of tens of seconds: 1 M passages with e5 at ~3/s per core is ~90 h on one core, "
                      "~1.5 h on 64 worker CPUs."]
        lines += [""]
        k = i.get("killed_worker")
        if k:
            lines += [f"Worker killed mid-ingest (SIGKILL to {k['killed']} of 2 embedding actors after "
                      f"{k['files_written_before_kill']} files were written): {k['chunks']} chunks, "
                      f"{k['duplicates']} duplicate, {k['missing']} missing, {k['extra']} extra against the local path; "
                      f"failed files {k['failed']}; `kb check` ok: {k['kb_check_ok']} "
                      f"({k['kb_check_problems']} problems); load {k['load_avg']}", ""]
    x = r.get("ingest_remote")
    if x:
        lines += [f"## Ray ingest with a remote embedder: {x['files']} files, {x['chunks']} chunks, `{x['embedding']}` "
                  f"(lingxi serve on loopback), {x['workers']} workers", "",
                  "| path | seconds | passages/s | load avg |", "| --- | --- | --- | --- |"]
        rows = [("local path (LINGXI_EMBED_CONCURRENCY default 4)", "local_path")] + [
            (f"ray, concurrency {c} per worker", f"ray_concurrency_{c}") for c in (1, 4, 8)]
        for label, key in rows:
            if key in x:
                y = x[key]
                lines.append(f"| {label} | {y['seconds']} | {y['passages_per_s']} | {y['load_avg']} |")
        lines += ["", "The embedding server is one process on the same 2 cores as the driver, the raylet and both "
                  "workers, and computes one request at a time per model: more requests in flight only queue there "
                  "and add contention (here concurrency 8 was slower than 1). This shows the mechanism works through "
                  "Ray, not fleet throughput; against a fleet (N servers behind a balancer, or TEI/vLLM batching "
                  "across requests) each worker's in-flight requests are what keeps it busy.", ""]
    e = r.get("remote_embedding")
    if e:
        lines += [f"## Remote embedding: {e['passages']} passages to lingxi's /v1/embeddings (`{e['embedding']}`), "
                  f"batches of {e['batch_size']}", "", "| concurrency | seconds | passages/s | load avg |", "| --- | --- | --- | --- |"]
        for c in (1, 4, 8):
            x = e[f"concurrency_{c}"]
            lines.append(f"| {c} | {x['seconds']} | {x['passages_per_s']} | {x['load_avg']} |")
        lines += ["", "One lingxi server computes one embedding request at a time per model, so concurrency here "
                  "only overlaps transfer and queueing with compute; against a fleet (N servers behind a balancer, "
                  "or TEI/vLLM that batch across requests) it multiplies throughput up to the fleet's size.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=45.0)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--files", type=int, default=120)
    ap.add_argument("--embedding", default="use")
    ap.add_argument("--passages", type=int, default=128)
    ap.add_argument("--only", choices=["serving", "ingest", "ingest_remote", "embedding"], action="append")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results"))
    args = ap.parse_args()
    dsn = os.environ.get("LINGXI_TEST_PG_DSN")
    out = Path(args.out)
    path = out / "scale.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    results["machine"] = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    only = set(args.only or ["serving", "ingest", "ingest_remote", "embedding"])
    with tempfile.TemporaryDirectory(prefix="lingxi-scale-") as tmp:
        if "serving" in only:
            if not dsn:
                raise SystemExit('set LINGXI_TEST_PG_DSN (export LINGXI_TEST_PG_DSN="$(scripts/pg.sh start)")')
            results["serving"] = serving(dsn, args.seconds, args.clients, Path(tmp))
        if "ingest" in only:
            results["ingest"] = ingest(args.files, args.embedding, Path(tmp))
        if "ingest_remote" in only:
            results["ingest_remote"] = ingest_remote(args.files, args.embedding, Path(tmp))
        if "embedding" in only:
            results["remote_embedding"] = remote_embedding(args.embedding, args.passages, Path(tmp))
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    (out / "scale.md").write_text(markdown(results) + "\n", encoding="utf-8")
    print((out / "scale.md").read_text())


if __name__ == "__main__":
    main()
