"""k-means on embeddings; each cluster named and summarised by a chat model; a 2-D scatter (PCA)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.errors import ConfigError
from lingxi.types import Message, SamplingParams

NAME_PROMPT = (
    "These texts were grouped together:\n{examples}\n\n"
    "Give the group a short name (2-6 words or 2-8 Chinese characters) and a one-sentence summary of what "
    "the texts have in common, in the texts' language. Reply as JSON: {{\"name\": \"...\", \"summary\": \"...\"}}"
)
_NAME_SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "summary": {"type": "string"}},
                "required": ["name", "summary"]}


@dataclass
class Cluster:
    id: int
    size: int
    examples: list[str]
    name: str = ""
    summary: str = ""


@dataclass
class Clustering:
    assignments: list[int]
    clusters: list[Cluster]
    points_2d: np.ndarray = field(repr=False)
    inertia: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"k": len(self.clusters), "inertia": self.inertia, "assignments": self.assignments,
                "clusters": [c.__dict__ for c in self.clusters]}


def kmeans(vectors: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Labels, centres and inertia of k-means (k-means++ init, 10 restarts, fixed seed)."""
    from sklearn.cluster import KMeans

    if not 1 <= k <= len(vectors):
        raise ConfigError(f"Cannot make {k} clusters from {len(vectors)} texts.", "choose --k between 1 and the number of texts")
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(vectors)
    return km.labels_, km.cluster_centers_, float(km.inertia_)


def project_2d(vectors: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    if len(vectors) < 2:
        return np.zeros((len(vectors), 2))
    return PCA(n_components=2, random_state=0).fit_transform(vectors)


def name_cluster(model: Any, examples: Sequence[str]) -> tuple[str, str]:
    """(name, summary) from the model; tolerant of prose around the JSON."""
    listing = "\n".join(f"- {t[:200]}" for t in examples)
    fmt = {"type": "json_schema", "json_schema": {"name": "cluster_name", "schema": _NAME_SCHEMA}}
    params = SamplingParams(temperature=0.0, max_tokens=160, response_format=fmt)
    text = model.chat([Message(role="user", content=NAME_PROMPT.format(examples=listing))], params).text
    match = re.search(r"\{.*\}", text, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else {}
        return str(data.get("name", "")).strip(), str(data.get("summary", "")).strip()
    except ValueError:
        first = text.strip().splitlines()[0] if text.strip() else ""
        return first[:40], text.strip()


def cluster_texts(texts: Sequence[str], k: int, embedder: str | Any = "e5", model: Any = None,
                  examples_per_cluster: int = 5, seed: int = 0, vectors: np.ndarray | None = None) -> Clustering:
    """Cluster texts; name each cluster with `model` (or by its most central text when model is None)."""
    from lingxi.nlp.classify import embed_texts

    x = embed_texts(embedder, texts) if vectors is None else vectors
    labels, centres, inertia = kmeans(x, k, seed)
    clusters = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        dist = np.linalg.norm(x[members] - centres[c], axis=1)
        central = [texts[i] for i in members[np.argsort(dist)][:examples_per_cluster]]
        cl = Cluster(id=c, size=int(len(members)), examples=central)
        if model is not None:
            cl.name, cl.summary = name_cluster(model, central)
        cl.name = cl.name or (central[0][:20] if central else f"cluster {c}")
        clusters.append(cl)
    return Clustering([int(v) for v in labels], clusters, project_2d(x), inertia)


def write_cluster_report(result: Clustering, folder: str | Path, name: str = "clusters") -> dict[str, str]:
    from lingxi.evals.charts import scatter_png

    folder = Path(folder)
    png = scatter_png(result.points_2d, result.assignments, [c.name for c in result.clusters],
                      folder / f"{name}.png", title=f"k-means, k={len(result.clusters)}")
    lines = [f"## Clusters (k={len(result.clusters)})", "", "| # | name | size | summary | example |",
             "| ---: | --- | ---: | --- | --- |"]
    for c in result.clusters:
        example = (c.examples[0] if c.examples else "").replace("|", "\\|")[:60]
        lines.append(f"| {c.id} | {c.name} | {c.size} | {c.summary} | {example} |")
    lines += ["", f"![clusters]({png.name})", ""]
    md = folder / f"{name}.md"
    md.write_text("\n".join(lines), encoding="utf-8")
    return {"markdown": str(md), "scatter_png": str(png)}
