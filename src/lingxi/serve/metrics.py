"""Prometheus metrics in the text exposition format (no client library needed)."""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
Labels = tuple[tuple[str, str], ...]


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(BUCKETS, value)] += 1
        self.sum += value
        self.n += 1


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[Labels, int] = defaultdict(int)
        self.tokens: dict[Labels, int] = defaultdict(int)
        self.latency: dict[Labels, Histogram] = defaultdict(Histogram)
        self.ttft: dict[Labels, Histogram] = defaultdict(Histogram)
        self.gauges: Callable[[], dict[str, dict[str, int]]] = dict  # model -> {running, waiting}
        self.replica: str | None = None  # set when replicas share a database: every series gets replica="..."

    def request(self, route: str, status: int) -> None:
        with self._lock:
            self.requests[(("route", route), ("status", str(status)))] += 1

    def model_call(self, model: str, status: str, latency: float | None, ttft: float | None,
                   prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            key = (("model", model), ("status", status))
            if latency is not None:
                self.latency[key].observe(latency)
            if ttft is not None:
                self.ttft[(("model", model),)].observe(ttft)
            self.tokens[(("model", model), ("kind", "prompt"))] += prompt_tokens
            self.tokens[(("model", model), ("kind", "completion"))] += completion_tokens

    def render(self) -> str:
        r: Labels = (("replica", self.replica),) if self.replica else ()
        with self._lock:
            lines = _counter("lingxi_http_requests_total", "HTTP requests by route and status.", self.requests, r)
            lines += _counter("lingxi_tokens_total", "Tokens processed by model and kind.", self.tokens, r)
            lines += _histogram("lingxi_model_latency_seconds", "Total latency of model calls.", self.latency, r)
            lines += _histogram("lingxi_time_to_first_token_seconds", "Time to first token of streamed calls.",
                                self.ttft, r)
        gauges = self.gauges()
        for name, help_ in (("running", "Model calls running now."), ("waiting", "Requests waiting in a model's queue.")):
            lines += [f"# HELP lingxi_model_{name} {help_}", f"# TYPE lingxi_model_{name} gauge"]
            lines += [f"lingxi_model_{name}{_labels((*r, ('model', m)))} {g[name]}" for m, g in sorted(gauges.items())]
        return "\n".join(lines) + "\n"


def _labels(labels: Labels) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}" if inner else ""


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _counter(name: str, help_: str, values: dict[Labels, int], base: Labels = ()) -> list[str]:
    out = [f"# HELP {name} {help_}", f"# TYPE {name} counter"]
    return out + [f"{name}{_labels((*base, *k))} {v}" for k, v in sorted(values.items())]


def _histogram(name: str, help_: str, values: dict[Labels, Histogram], base: Labels = ()) -> list[str]:
    out = [f"# HELP {name} {help_}", f"# TYPE {name} histogram"]
    for key, h in sorted(values.items()):
        labels = (*base, *key)
        running = 0
        for bound, count in zip((*BUCKETS, float("inf")), h.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f"{name}_bucket{_labels((*labels, ('le', le)))} {running}")
        out.append(f"{name}_sum{_labels(labels)} {h.sum}")
        out.append(f"{name}_count{_labels(labels)} {h.n}")
    return out
