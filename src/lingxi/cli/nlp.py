"""`lingxi classify zero-shot|train|eval`, `lingxi cluster`, `lingxi compare`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lingxi.cli.common import JsonOpt, ModelOpt, out, print_json

classify_app = typer.Typer(help="Classify texts with embeddings: zero-shot, or a trained classifier.",
                           no_args_is_help=True)

FileArg = Annotated[Path, typer.Argument(help="CSV with a text/review/title column (and label), or text<TAB>label lines.")]
TextColOpt = Annotated[str | None, typer.Option("--text-col", help="The text column (default: text, review or title).")]
LabelColOpt = Annotated[str, typer.Option("--label-col", help="The label column.")]
EmbedderOpt = Annotated[str, typer.Option("--embedder", "-e", help="Embedding model: e5 (Chinese+English, default), use (multilingual, faster, weaker), minilm (English only) or openai:MODEL@URL.")]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="Use only the first N rows.", show_default=False)]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Folder for the Markdown + PNG report.",
                                             show_default=False)]


def _home() -> Path:
    from lingxi.config import load_settings

    return load_settings().home_dir


def reports_dir(out_dir: Path | None, kind: str) -> Path:
    """--out, or $LINGXI_HOME/reports/KIND."""
    return out_dir if out_dir is not None else _home() / "reports" / kind


def print_report(report: dict[str, Any], title: str) -> None:
    table = Table("class", "precision", "recall", "F1", "support", title=title)
    for name, m in report["per_class"].items():
        table.add_row(name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", str(m["support"]))
    for key in ("macro_avg", "weighted_avg"):
        m = report[key]
        table.add_row(key.replace("_", " "), f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
                      str(m["support"]))
    out.print(table)
    out.print(f"accuracy {report['accuracy']:.4f} on {report['n']} examples")


def _save_classification(report: dict[str, Any], stem: str, out_dir: Path | None, **run: Any) -> dict[str, Any]:
    from lingxi.evals.classification import write_report
    from lingxi.evals.runs import save_run

    metrics = {"accuracy": report["accuracy"], "macro_f1": report["macro_avg"]["f1"],
               "weighted_f1": report["weighted_avg"]["f1"], "n": report["n"]}
    run_id = save_run("classification", metrics, details=[report], **run)
    files = write_report(report, reports_dir(out_dir, "classification"), name=f"{stem}-{run_id}")
    return {"run_id": run_id, "files": files}


@classify_app.command("zero-shot")
def zero_shot_cmd(
    file: FileArg,
    labels: Annotated[str, typer.Option("--labels", "-l", help="Comma-separated labels, e.g. 好评,差评.")],
    text_col: TextColOpt = None,
    label_col: LabelColOpt = "label",
    hypothesis: Annotated[str, typer.Option("--hypothesis", help="Text embedded per label; {label} is replaced.")] = "{label}",
    method: Annotated[str, typer.Option("--method", help="calibrated (subtract each label's mean similarity over the "
                                        "file: the best measured) or similarity (raw cosine).")] = "calibrated",
    calibrate: Annotated[bool | None, typer.Option("--calibrate/--no-calibrate", help="The same as --method "
                                                   "calibrated / similarity.", show_default=False)] = None,
    label_map: Annotated[str | None, typer.Option("--label-map", help="Map file labels to --labels, e.g. 1=好评,0=差评.",
                                                  show_default=False)] = None,
    embedder: EmbedderOpt = "e5",
    limit: LimitOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Label each text by its similarity to the label names (no training).

    With a label column, the full metrics report is printed too (--json: {"predictions", "accuracy",
    "report", ...}).
    """
    from lingxi.nlp.classify import zero_shot
    from lingxi.nlp.data import read_texts

    data = read_texts(file, text_col, label_col, limit)
    names = [x.strip() for x in labels.split(",") if x.strip()]
    z = zero_shot(data.texts, names, embedder, hypothesis=hypothesis, calibrate=calibrate, method=method)
    result: dict[str, Any] = {"labels": names, "n": len(data.texts), "method": z.method, "note": z.note,
                              "predictions": z.rows(data.texts)}
    if data.labels is not None:
        from lingxi.evals.classification import classification_report

        mapping = dict(p.split("=", 1) for p in label_map.split(",")) if label_map else {}
        truth = [mapping.get(y, y) for y in data.labels]
        report = classification_report(truth, z.predictions, labels=sorted(set(names) | set(truth)))
        saved = _save_classification(report, "zero-shot", out_dir, name=f"zero-shot {file.name}",
                                     model=embedder, dataset=str(file),
                                     config={"labels": names, "hypothesis": hypothesis, "method": z.method})
        result.update(accuracy=report["accuracy"], macro_f1=report["macro_avg"]["f1"], report=report, **saved)
    if as_json:
        print_json(result)
        return
    from lingxi.cli.common import err

    err.print(f"method: {z.method}" + (f" ({z.note})" if z.note else ""), markup=False, style="dim")
    if data.labels is None:
        for row in result["predictions"]:
            out.print(f"{row['label']}\t{row['text']}", markup=False)
    else:
        print_report(result["report"], f"zero-shot on {file.name}")
        out.print(f"report: {result['files']['markdown']}", markup=False)


@classify_app.command("train")
def train_cmd(
    file: FileArg,
    model_out: Annotated[Path | None, typer.Option("--save", "-s", help="Where to save the classifier (.npz + .json).",
                                                   show_default=False)] = None,
    text_col: TextColOpt = None,
    label_col: LabelColOpt = "label",
    c: Annotated[float, typer.Option("--C", help="Inverse regularisation strength.")] = 1.0,
    embedder: EmbedderOpt = "e5",
    limit: LimitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Train embeddings + logistic regression on a labelled file and save it.

    --json prints {"path", "labels", "n_train", "train_accuracy"}.
    """
    from lingxi.errors import ConfigError
    from lingxi.nlp.classify import EmbeddingClassifier, embed_texts
    from lingxi.nlp.data import read_texts

    data = read_texts(file, text_col, label_col, limit)
    if data.labels is None:
        raise ConfigError(f"{file.name} has no '{label_col}' column with a label on every row.",
                          "name the label column with --label-col")
    vectors = embed_texts(embedder, data.texts)
    clf = EmbeddingClassifier(embedder, C=c).fit_vectors(vectors, data.labels)
    train_acc = sum(p == y for p, y in zip(clf.predict_vectors(vectors), data.labels)) / len(data.labels)
    clf.meta = {"n_train": len(data.texts), "trained_on": str(file), "train_accuracy": train_acc}
    path = clf.save(model_out or _home() / "classifiers" / file.stem)
    result = {"path": str(path), "labels": clf.labels, "n_train": len(data.texts), "train_accuracy": train_acc}
    if as_json:
        print_json(result)
        return
    out.print(f"trained on {len(data.texts)} texts, {len(clf.labels)} labels; training accuracy {train_acc:.3f}")
    out.print(f"saved: {path}", markup=False)


@classify_app.command("eval")
def eval_cmd(
    model_path: Annotated[Path, typer.Argument(help="A classifier saved by `lingxi classify train`.")],
    file: FileArg,
    text_col: TextColOpt = None,
    label_col: LabelColOpt = "label",
    limit: LimitOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Per-class precision/recall/F1/support, accuracy, macro and weighted averages, confusion-matrix PNG.

    --json prints {"accuracy", "macro_f1", "report", "run_id", "files"}.
    """
    from lingxi.errors import ConfigError
    from lingxi.nlp.classify import EmbeddingClassifier
    from lingxi.nlp.data import read_texts

    clf = EmbeddingClassifier.load(model_path)
    data = read_texts(file, text_col, label_col, limit)
    if data.labels is None:
        raise ConfigError(f"{file.name} has no '{label_col}' column to evaluate against.", "use --label-col")
    report = clf.evaluate(data.texts, data.labels)
    saved = _save_classification(report, Path(model_path).stem, out_dir, name=f"classifier {Path(model_path).stem}",
                                 model=str(model_path), dataset=str(file))
    result = {"accuracy": report["accuracy"], "macro_f1": report["macro_avg"]["f1"], "report": report, **saved}
    if as_json:
        print_json(result)
        return
    print_report(report, f"{Path(model_path).stem} on {file.name}")
    out.print(f"report: {saved['files']['markdown']} (run {saved['run_id']})", markup=False)


def cluster(
    file: FileArg,
    k: Annotated[int, typer.Option("--k", "-k", help="Number of clusters.")] = 5,
    model: ModelOpt = None,
    names: Annotated[bool, typer.Option("--names/--no-names", help="Ask the chat model to name each cluster.")] = True,
    text_col: TextColOpt = None,
    embedder: EmbedderOpt = "e5",
    limit: LimitOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """k-means on embeddings; each cluster named and summarised by the model; a 2-D scatter PNG.

    --json prints {"k", "clusters": [{"id", "size", "name", "summary", "examples"}], "assignments", "files"}.
    """
    from lingxi.nlp.cluster import cluster_texts, write_cluster_report
    from lingxi.nlp.data import read_texts

    data = read_texts(file, text_col, limit=limit)
    chat = None
    if names:
        from lingxi.models.funnel import open_chat

        chat = open_chat(model)
    result = cluster_texts(data.texts, k, embedder=embedder, model=chat)
    files = write_cluster_report(result, reports_dir(out_dir, "clusters"), name=f"clusters-{file.stem}")
    doc = {**result.to_dict(), "files": files}
    if as_json:
        print_json(doc)
        return
    table = Table("#", "name", "size", "summary", title=f"k-means on {file.name}")
    for c in result.clusters:
        table.add_row(str(c.id), c.name, str(c.size), c.summary)
    out.print(table)
    out.print(f"report: {files['markdown']}", markup=False)


def compare(
    prompts_file: Annotated[Path, typer.Argument(help="prompts.yaml: prompts (and optional sampling settings).")],
    models: Annotated[str, typer.Option("--models", help="Comma-separated model names, e.g. smollm2,qwen2.5-1.5b.")],
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the same prompts across models and sampling settings; write a side-by-side Markdown report.

    --json prints {"rows": [{"prompt", "model", "sampling", "text", "prompt_tokens", "completion_tokens",
    "latency_s", "cost"}], "report"}.
    """
    from lingxi.prompts.compare import comparison_markdown, load_suite, run_comparison

    suite, sampling = load_suite(prompts_file)
    names = [m.strip() for m in models.split(",") if m.strip()]
    rows = run_comparison(suite, sampling, names)
    folder = reports_dir(out_dir, "compare")
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / f"compare-{prompts_file.stem}.md"
    report.write_text(comparison_markdown(rows), encoding="utf-8")
    if as_json:
        print_json({"rows": rows, "report": str(report)})
        return
    table = Table("prompt", "sampling", "model", "text", "tokens", "latency s")
    for r in rows:
        text = f"error: {r['error']}" if r.get("error") else r["text"]
        table.add_row(r["prompt"], r["sampling"], r["model"], text[:200],
                      f"{r.get('prompt_tokens', 0)}/{r.get('completion_tokens', 0)}", f"{r['latency_s']:.2f}")
    out.print(table)
    out.print(f"report: {report}", markup=False)
