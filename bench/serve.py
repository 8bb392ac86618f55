"""The server's cost and its behaviour under load.

(a) Overhead: the same streamed generation through `lingxi serve` (a separate process,
    SSE over loopback HTTP with a keep-alive connection, the client parsing every chunk)
    and through the provider called in-process, interleaved in one run (the order flips
    every repetition); paired differences, with a 95% bootstrap interval for their median
    because a shared machine's noise is of the same size as the effect. Real local model
    "smollm2" at temperature 0 (both sides produce the same text), and a fast echo model
    (1 token: the fixed cost of a request; 64 tokens: plus the per-token cost) without
    decode noise. Target: p50 overhead < 5 ms per request and >= 0.97x tokens/s.
(b) Load: 64 concurrent streaming clients for 60 s against the fast echo model (the server
    is stressed, not the model), and 8 for 30 s against smollm2 (one generation at a time,
    the rest queue fairly). Every stream is checked: HTTP 200, one chunk id, every chunk
    present and in order (the echo model returns the client's own numbered words; smollm2
    at temperature 0 with a seed must repeat a reference answer per prompt), one finish,
    usage equal to the chunks seen, [DONE] last. Client-side latencies include the Python
    load generator's own queueing (it needs more CPU than the server), so the server's view
    (its traces) and the CPU seconds of both sides are reported too.

llama.cpp runs with --threads (default 1) on both sides: on a shared, oversubscribed 2-CPU
machine two threads spin at every barrier and run ~10x slower (measured 4 vs 40 tokens/s).

    .venv/bin/python bench/serve.py [--reps 60] [--load-s 60] [--real-load-s 30] [--threads 1] [--out bench/results]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx

from lingxi.models.base import as_messages, collect
from lingxi.serve import ServeSettings
from lingxi.tracing import percentile
from lingxi.types import Delta, SamplingParams, Usage

REAL = "smollm2"
PROMPT = ("Write a detailed, step-by-step guide to brewing pour-over coffee at home, with at least ten numbered "
          "steps and a short explanation for each one.")
LOAD_PROMPTS = ["Name three colours.", "Count from one to ten.", "What is the capital of France?",
                "Say hello in French.", "List three fruits.", "What is two plus two?", "Name a large animal.",
                "Describe the sea in one sentence."]
TARGET_OVERHEAD_MS, TARGET_RATIO = 5.0, 0.97
KEEP_ALIVE_S = 75  # as `lingxi serve`: longer than clients keep idle pooled connections


class FastEcho:
    """Streams the last user message back word by word, as fast as it can (a concurrent, non-local model)."""

    provider, name = "scripted", "echo"

    def stream(self, messages: Any, params: Any = None, tools: Any = None) -> Iterator[Delta]:
        words = (as_messages(messages)[-1].content or "").split(" ")
        for i, w in enumerate(words):
            yield Delta(text=w if i == 0 else " " + w, finish_reason="stop" if i == len(words) - 1 else None)
        yield Delta(usage=Usage(prompt_tokens=len(words), completion_tokens=len(words)))

    def chat(self, messages: Any, params: Any = None, tools: Any = None) -> Any:
        return collect(self.stream(messages, params, tools), self.name)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def tokenize(self, text: str) -> list:
        return []


def serve_forever(port: int) -> None:
    """The server side (run in its own process by `Server`)."""
    import uvicorn

    from lingxi.config import load_settings
    from lingxi.serve import create_app, serve_settings

    app = create_app(load_settings(), serve_settings(port=port, no_auth=True, rate_limit=0, preload=[REAL],
                                                     remote_concurrency=128), models={"echo": FastEcho()})
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, timeout_keep_alive=KEEP_ALIVE_S)


class Server:
    def __enter__(self) -> Server:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.home = tempfile.TemporaryDirectory(prefix="lingxi-bench-")
        env = {**os.environ, "LINGXI_HOME": self.home.name}
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", str(self.port)], env=env)
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the bench server did not come up")
            time.sleep(0.2)

    def __exit__(self, *exc: Any) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.home.cleanup()


def body(model: str, content: str, max_tokens: int, seed: int | None = None) -> dict[str, Any]:
    b = {"model": model, "messages": [{"role": "user", "content": content}], "stream": True, "temperature": 0,
         "max_tokens": max_tokens, "stream_options": {"include_usage": True}}
    return b if seed is None else {**b, "seed": seed}


class Check:
    """Reads one SSE stream and checks it is whole: one id, no foreign or missing chunk, one finish, [DONE] last."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.pieces: list[str] = []
        self.finishes = 0
        self.usage: dict | None = None
        self.errors: list[str] = []
        self.done = False
        self.first: float | None = None

    def line(self, line: str) -> None:
        if not line.startswith("data: "):
            return
        if self.done:
            self.errors.append("data after [DONE]")
        if line == "data: [DONE]":
            self.done = True
            return
        chunk = json.loads(line[6:])
        if "error" in chunk:
            self.errors.append(chunk["error"]["message"])
            return
        self.ids.add(chunk["id"])
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        for c in chunk["choices"]:
            if c["delta"].get("content"):
                self.first = self.first or time.perf_counter()
                self.pieces.append(c["delta"]["content"])
            self.finishes += c["finish_reason"] is not None

    def verdict(self, expected: str | None) -> list[str]:
        errs = list(self.errors)
        if not self.done:
            errs.append("no [DONE]")
        if len(self.ids) != 1:
            errs.append(f"{len(self.ids)} chunk ids in one stream")
        if self.finishes != 1:
            errs.append(f"{self.finishes} finish chunks")
        if self.usage is None or self.usage["completion_tokens"] != len(self.pieces):
            errs.append(f"usage {self.usage} but {len(self.pieces)} content chunks")
        if expected is not None and "".join(self.pieces) != expected:
            errs.append("text differs from the expected (lost, reordered or foreign chunks)")
        return errs


# -- (a) overhead ---------------------------------------------------------------------
def via_server(client: httpx.Client, url: str, req: dict) -> dict:
    t0 = time.perf_counter()
    check = Check()
    with client.stream("POST", url + "/v1/chat/completions", json=req) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            check.line(line)
    end = time.perf_counter()
    assert not check.verdict(None), check.verdict(None)
    return sample(t0, check.first, end, "".join(check.pieces), len(check.pieces))


def in_process(model: Any, req: dict) -> dict:
    params = SamplingParams(temperature=0, max_tokens=req["max_tokens"])
    t0 = time.perf_counter()
    first, pieces = None, []
    for d in model.stream(req["messages"], params):
        if d.text:
            first = first or time.perf_counter()
            pieces.append(d.text)
    return sample(t0, first, time.perf_counter(), "".join(pieces), len(pieces))


def sample(t0: float, first: float | None, end: float, text: str, n: int) -> dict:
    total = end - t0
    return {"total_ms": total * 1e3, "ttft_ms": ((first or end) - t0) * 1e3, "tokens": n, "tok_s": n / total,
            "text": text}


def overhead(url: str, model_name: str, model: Any, content: str, max_tokens: int, reps: int) -> dict:
    req = body(model_name, content, max_tokens)
    runs: dict[str, list[dict]] = {"in_process": [], "server": []}
    with httpx.Client(timeout=120) as client:
        sides = {"in_process": lambda: in_process(model, req), "server": lambda: via_server(client, url, req)}
        for _ in range(3):
            for fn in sides.values():
                fn()
        for i in range(reps):
            for name in (("in_process", "server") if i % 2 == 0 else ("server", "in_process")):
                runs[name].append(sides[name]())
    pairs = list(zip(runs["in_process"], runs["server"], strict=True))
    med = {k: {m: statistics.median(s[m] for s in v) for m in ("total_ms", "ttft_ms", "tok_s", "tokens")}
           for k, v in runs.items()}
    texts = {s["text"] for v in runs.values() for s in v}
    diffs = [b["total_ms"] - a["total_ms"] for a, b in pairs]
    ratios = [b["tok_s"] / a["tok_s"] for a, b in pairs]
    return {
        "model": model_name, "max_tokens": max_tokens, "reps": reps, "medians": med,
        "p50_overhead_ms": statistics.median(diffs), "p50_overhead_ms_ci95": median_ci(diffs),
        "p50_ttft_overhead_ms": statistics.median(b["ttft_ms"] - a["ttft_ms"] for a, b in pairs),
        "median_tok_s_ratio": med["server"]["tok_s"] / med["in_process"]["tok_s"],  # unpaired: drifts with load
        "paired_tok_s_ratio_p50": statistics.median(ratios), "paired_tok_s_ratio_ci95": median_ci(ratios),
        # noise only ever slows a run down: the fastest run of each side is the least disturbed
        "best_overhead_ms": min(b["total_ms"] for b in runs["server"]) - min(a["total_ms"] for a in runs["in_process"]),
        "best_ttft_overhead_ms": min(b["ttft_ms"] for b in runs["server"]) - min(a["ttft_ms"] for a in runs["in_process"]),
        "best_tok_s_ratio": max(b["tok_s"] for b in runs["server"]) / max(a["tok_s"] for a in runs["in_process"]),
        "same_text_everywhere": len(texts) == 1,
        "samples": {k: [{m: round(x, 3) for m, x in s.items() if m != "text"} for s in v] for k, v in runs.items()},
    }


def median_ci(values: list[float], rounds: int = 2000) -> list[float]:
    """A 95% bootstrap interval for the median: how much of a difference is the machine's noise."""
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(rounds))
    return [meds[int(rounds * 0.025)], meds[int(rounds * 0.975)]]


# -- (b) load ---------------------------------------------------------------------------
def load(srv: Server, model: str, clients: int, seconds: float, make: Any) -> dict:
    """Client-side figures, plus what the server saw (its traces) and the CPU each side used."""
    since, cpu0, server_cpu0 = time.time(), time.process_time(), cpu_s(srv.proc.pid)
    out = asyncio.run(clients_for(srv.url, clients, seconds, make))
    out["cpu_s"] = {"server": cpu_s(srv.proc.pid) - server_cpu0, "load_generator": time.process_time() - cpu0}
    time.sleep(1.0)  # the server's trace writer lingers before it writes
    conn = sqlite3.connect(Path(srv.home.name) / "lingxi.db")
    try:
        rows = conn.execute("SELECT latency_s, queue_s FROM traces WHERE model = ? AND ts >= ?", (model, since)).fetchall()
    finally:
        conn.close()
    lat, waits = sorted(r[0] for r in rows), sorted(r[1] or 0.0 for r in rows)
    out["server_side"] = {"traced_calls": len(rows), "latency_s": {"p50": percentile(lat, 50), "p99": percentile(lat, 99)},
                          "queue_s": {"p50": percentile(waits, 50), "p99": percentile(waits, 99)}}
    return out


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def clients_for(url: str, clients: int, seconds: float, make: Any) -> dict:
    """`clients` loops, each sending streamed requests back to back until time is up."""
    results: list[dict] = []
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        end = time.perf_counter() + seconds

        async def one_client(cid: int) -> None:
            seq = 0
            while time.perf_counter() < end:
                req, expected = make(cid, seq)
                seq += 1
                check, t0 = Check(), time.perf_counter()
                try:
                    async with client.stream("POST", url + "/v1/chat/completions", json=req) as r:
                        if r.status_code != 200:
                            check.errors.append(f"HTTP {r.status_code}: {(await r.aread())[:200]!r}")
                        else:
                            async for line in r.aiter_lines():
                                check.line(line)
                except httpx.HTTPError as exc:
                    check.errors.append(f"{type(exc).__name__}: {exc!r} after {time.perf_counter() - t0:.2f}s "
                                        f"and {len(check.pieces)} chunks")
                t1 = time.perf_counter()
                errs = check.verdict(expected) if not check.errors else check.errors
                results.append({"latency_s": t1 - t0, "ttft_s": (check.first or t1) - t0, "tokens": len(check.pieces),
                                "errors": errs})

        started = time.perf_counter()
        await asyncio.gather(*(one_client(c) for c in range(clients)))
        wall = time.perf_counter() - started
    lat = sorted(r["latency_s"] for r in results)
    ttft = sorted(r["ttft_s"] for r in results)
    failed = [r for r in results if r["errors"]]
    return {
        "clients": clients, "seconds": seconds, "wall_s": wall, "requests": len(results), "errors": len(failed),
        "error_examples": sorted({e for r in failed for e in r["errors"]})[:5],
        "requests_per_s": len(results) / wall, "tokens_per_s": sum(r["tokens"] for r in results) / wall,
        "latency_s": {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": lat[-1] if lat else None},
        "ttft_s": {"p50": percentile(ttft, 50), "p99": percentile(ttft, 99)},
    }


def echo_request(words: int):
    def make(cid: int, seq: int) -> tuple[dict, str]:
        text = f"c{cid}-r{seq} " + " ".join(f"w{i}" for i in range(words - 1))
        return body("echo", text, words + 8), text
    return make


def real_request(references: dict[str, str], max_tokens: int):
    def make(cid: int, seq: int) -> tuple[dict, str]:
        prompt = LOAD_PROMPTS[cid % len(LOAD_PROMPTS)]
        return body(REAL, prompt, max_tokens, seed=1), references[prompt]
    return make


def references(url: str, max_tokens: int) -> dict[str, str]:
    out = {}
    with httpx.Client(timeout=120) as client:
        for p in LOAD_PROMPTS:
            check = Check()
            with client.stream("POST", url + "/v1/chat/completions", json=body(REAL, p, max_tokens, seed=1)) as r:
                for line in r.iter_lines():
                    check.line(line)
            out[p] = "".join(check.pieces)
    return out


# -- report ---------------------------------------------------------------------------
def run(args: argparse.Namespace) -> dict:
    from lingxi.config import load_settings
    from lingxi.models.resolve import build, parse
    from lingxi.registry import default_registry

    os.environ["LINGXI_N_THREADS"] = str(args.threads)  # here and in the server process
    settings = load_settings()
    real = build(parse(REAL, settings, default_registry()), settings)  # the provider itself, untraced
    loads: dict[str, Any] = {"start": os.getloadavg()}
    with Server() as srv:
        a_real = overhead(srv.url, REAL, real, PROMPT, args.max_tokens, args.reps)
        loads["after_overhead_real"] = os.getloadavg()
        a_echo1 = overhead(srv.url, "echo", FastEcho(), "w0", 1, args.echo_reps)
        a_echo = overhead(srv.url, "echo", FastEcho(), " ".join(f"w{i}" for i in range(args.echo_words)),
                          args.echo_words, args.echo_reps)
        b_echo = load(srv, "echo", args.clients, args.load_s, echo_request(args.echo_words))
        loads["after_load_echo"] = os.getloadavg()
        refs = references(srv.url, args.real_tokens)
        b_real = load(srv, REAL, args.real_clients, args.real_load_s, real_request(refs, args.real_tokens))
        loads["after_load_real"] = os.getloadavg()
    met = {"overhead_ms": a_real["p50_overhead_ms"] < TARGET_OVERHEAD_MS,  # paired medians
           "tok_s_ratio": a_real["paired_tok_s_ratio_p50"] >= TARGET_RATIO,
           "load_echo_zero_errors": b_echo["errors"] == 0, "load_real_zero_errors": b_real["errors"] == 0}
    return {
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "lingxi": version("lingxi"), "uvicorn": version("uvicorn"), "fastapi": version("fastapi"),
                    "httpx": version("httpx"), "llama_cpp_python": version("llama-cpp-python"),
                    "n_threads": args.threads, "stream_pace_s": ServeSettings().stream_pace_s,
                    "uvicorn_keep_alive_s": KEEP_ALIVE_S, "loadavg_1_5_15": loads},
        "overhead": {"real": a_real, "echo_1_token": a_echo1, "echo": a_echo},
        "load": {"echo": {**b_echo, "words_per_answer": args.echo_words}, "real": {**b_real, "max_tokens": args.real_tokens}},
        "target": {"overhead_ms_max": TARGET_OVERHEAD_MS, "tok_s_ratio_min": TARGET_RATIO},
        "target_met": {**met, "all": all(met.values())},
    }


def markdown(res: dict) -> str:
    m, (le, lr) = res["machine"], res["load"].values()
    la = m["loadavg_1_5_15"]
    out = ["# lingxi serve: overhead and load\n",
           f"{m['cpu_count']} CPUs, shared; load average (1 min) {la['start'][0]:.1f} at start, "
           f"{la['after_load_real'][0]:.1f} at the end; llama.cpp n_threads={m['n_threads']} on both sides. "
           f"Server in its own process on loopback, SSE streaming (stream pace {m['stream_pace_s']} s).\n",
           "## Overhead: through the server vs the provider in-process (interleaved, paired medians)\n",
           "| model | tokens | pairs | in-process ms | server ms | p50 overhead [95% CI] | TTFT overhead | "
           "tok/s ratio (paired p50 [95% CI]) | best-of-N overhead / TTFT / tok/s | same text |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for a in res["overhead"].values():
        med, (lo, hi), (rlo, rhi) = a["medians"], a["p50_overhead_ms_ci95"], a["paired_tok_s_ratio_ci95"]
        out.append(f"| {a['model']} | {a['max_tokens']} | {a['reps']} | {med['in_process']['total_ms']:.1f} | "
                   f"{med['server']['total_ms']:.1f} | {a['p50_overhead_ms']:+.2f} ms [{lo:+.1f}, {hi:+.1f}] | "
                   f"{a['p50_ttft_overhead_ms']:+.2f} ms | {a['paired_tok_s_ratio_p50']:.3f}x [{rlo:.3f}, {rhi:.3f}] | "
                   f"{a['best_overhead_ms']:+.2f} ms / {a['best_ttft_overhead_ms']:+.2f} ms / {a['best_tok_s_ratio']:.3f}x | "
                   f"{a['same_text_everywhere']} |")
    out += ["", "## Load: concurrent streaming clients, every stream checked whole and in order\n",
            "| model | clients | seconds | requests | errors | req/s | tokens/s | p50 / p99 latency | p50 / p99 TTFT | "
            "server-side p50 / p99 | server CPU s | client CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, ld in (("echo (fast fake)", le), (REAL, lr)):
        ss, cpu = ld["server_side"]["latency_s"], ld["cpu_s"]
        out.append(f"| {name} | {ld['clients']} | {ld['seconds']:.0f} | {ld['requests']} | {ld['errors']} | "
                   f"{ld['requests_per_s']:.1f} | {ld['tokens_per_s']:.0f} | {_ms(ld['latency_s']['p50'])} / "
                   f"{_ms(ld['latency_s']['p99'])} | {_ms(ld['ttft_s']['p50'])} / {_ms(ld['ttft_s']['p99'])} | "
                   f"{_ms(ss['p50'])} / {_ms(ss['p99'])} | {cpu['server']:.1f} | {cpu['load_generator']:.1f} |")
    ar, e1, e64 = (res["overhead"][k] for k in ("real", "echo_1_token", "echo"))
    per_token_us = (e64["p50_overhead_ms"] - e1["p50_overhead_ms"]) / max(1, e64["max_tokens"] - 1) * 1e3
    lo, hi = ar["p50_overhead_ms_ci95"]
    out += ["", f"On {REAL} the median paired overhead is {ar['p50_overhead_ms']:+.1f} ms (95% interval [{lo:+.1f}, "
            f"{hi:+.1f}] ms: the machine's noise is as large as the effect). Without decode noise the server costs "
            f"{e1['p50_overhead_ms']:.2f} ms per request (HTTP round trip included) and {per_token_us:.0f} µs per "
            "further token, client-side JSON parsing included."]
    errs = le["error_examples"] + lr["error_examples"]
    out += ["", f"Error examples: {errs}" if errs else "No errors; no lost, reordered, foreign or duplicated chunks.",
            f"\nTargets (p50 overhead < {TARGET_OVERHEAD_MS} ms and tok/s ratio >= {TARGET_RATIO} on {REAL}; zero errors): "
            + ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in res["target_met"].items()) + "\n"]
    return "\n".join(out)


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=60)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--echo-reps", type=int, default=200)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--load-s", type=float, default=60)
    ap.add_argument("--echo-words", type=int, default=64)
    ap.add_argument("--real-clients", type=int, default=8)
    ap.add_argument("--real-load-s", type=float, default=30)
    ap.add_argument("--real-tokens", type=int, default=24)
    ap.add_argument("--threads", type=int, default=1, help="llama.cpp threads, in-process and in the server")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = ap.parse_args()
    if args.serve:
        serve_forever(args.serve)
        return
    res = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "serve.json").write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n")
    (args.out / "serve.md").write_text(markdown(res))
    print(markdown(res))


if __name__ == "__main__":
    main()
