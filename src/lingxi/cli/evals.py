"""`lingxi eval qa|retrieval|judge|classification|runs|show|compare`: every run is stored in the
home database and written as Markdown + PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lingxi.cli.common import JsonOpt, ModelOpt, out, print_json
from lingxi.cli.nlp import OutOpt, eval_cmd, reports_dir

app = typer.Typer(help="Evaluate: QA EM/F1, retrieval, LLM-as-judge, classification; compare runs.",
                  no_args_is_help=True)
NameOpt = Annotated[str | None, typer.Option("--name", help="A name for this run (compare runs by name).",
                                             show_default=False)]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="Only the first N questions.", show_default=False)]

QA_PROMPT = ("Read the passage and answer the question with the shortest exact span copied from the passage. "
             "Reply with the span only.\n\nPassage:\n{context}\n\nQuestion: {question}")


def _finish(kind: str, metrics: dict[str, Any], details: list[Any], as_json: bool, out_dir: Path | None,
            **run: Any) -> None:
    from lingxi.evals.runs import load_run, save_run, write_run_report

    run_id = save_run(kind, metrics, details=details, **run)
    files = write_run_report(load_run(run_id), reports_dir(out_dir, "eval"))
    if as_json:
        print_json({"run_id": run_id, "kind": kind, **{k: v for k, v in metrics.items() if k != "items"},
                    "files": files})
        return
    table = Table("metric", "value", title=f"{kind} run #{run_id}")
    for k, v in metrics.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            table.add_row(k, f"{v:.4g}")
    out.print(table)
    out.print(f"report: {files['markdown']}", markup=False)


@app.command("qa")
def qa(
    dataset: Annotated[Path, typer.Argument(help="SQuAD-format JSON (CMRC 2018, XQuAD, SQuAD).")],
    predictions: Annotated[Path | None, typer.Option("--predictions", "-p", help="{id: answer} JSON or JSON lines.",
                                                     show_default=False)] = None,
    model: ModelOpt = None,
    lang: Annotated[str, typer.Option("--lang", help="zh (CMRC scorer), en (SQuAD scorer) or auto.")] = "auto",
    limit: LimitOpt = None,
    name: NameOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Exact match and F1 (0-100): score a predictions file, or let --model answer from each passage.

    --json prints {"run_id", "kind", "em", "f1", "average", "total", "skip", "scorer", "files"}.
    """
    from lingxi.evals.qa import qa_scores, read_predictions, read_squad

    questions = read_squad(dataset)[:limit]
    if predictions is not None:
        preds = read_predictions(predictions)
        model_name = str(predictions)
    else:
        from lingxi.models.funnel import open_chat
        from lingxi.types import SamplingParams

        chat = open_chat(model)
        params = SamplingParams(temperature=0.0, max_tokens=64)
        preds = {q["id"]: _first_line(chat.chat(QA_PROMPT.format(**q), params).text) for q in questions}
        model_name = getattr(chat, "name", model)
    scores = qa_scores(preds, {q["id"]: q["answers"] for q in questions}, lang=lang)  # type: ignore[arg-type]
    _finish("qa", scores, scores["items"], as_json, out_dir, name=name, model=model_name, dataset=str(dataset))


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _labelled(path: Path) -> list[dict[str, Any]]:
    """JSON lines of {query, relevant|answer}, or a SQuAD file (question -> its answer text)."""
    from lingxi.evals.qa import read_squad
    from lingxi.evals.retrieval import read_labelled_queries

    if path.suffix == ".json":
        return [{"query": q["question"], "answer": q["answers"][0]} for q in read_squad(path) if q["answers"]]
    return read_labelled_queries(path)


@app.command("retrieval")
def retrieval(
    kb: Annotated[str, typer.Argument(help="Knowledge base name.")],
    labelled: Annotated[Path, typer.Argument(help="JSON lines of {query, relevant: [source or chunk id]}, or SQuAD JSON.")],
    ks: Annotated[str, typer.Option("--k", help="Cut-offs, comma-separated.")] = "1,3,5,10",
    mode: Annotated[str, typer.Option("--mode", help="hybrid, vector or keyword.")] = "hybrid",
    limit: LimitOpt = None,
    name: NameOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recall@k, hit@k, MRR and nDCG@k of a knowledge base's search over a labelled set.

    --json prints {"run_id", "kind", "queries", "mrr", "recall@K", "hit@K", "ndcg@K", "files"}.
    """
    from lingxi.evals.retrieval import evaluate_search
    from lingxi.knowledge import KnowledgeBase

    base = KnowledgeBase.open(kb)
    rows = _labelled(labelled)[:limit]
    cutoffs = tuple(int(k) for k in ks.split(","))
    scores = evaluate_search(lambda q, k: base.search(q, k=k, mode=mode), rows, cutoffs)  # type: ignore[arg-type]
    _finish("retrieval", scores, scores["items"], as_json, out_dir, name=name, model=f"{kb}:{mode}",
            dataset=str(labelled), config={"ks": cutoffs, "mode": mode})


@app.command("judge")
def judge(
    file: Annotated[Path | None, typer.Argument(help="JSON lines of {question, answer, context}.",
                                                show_default=False)] = None,
    model: ModelOpt = None,
    kinds: Annotated[str, typer.Option("--kinds", help="faithfulness, relevance, or both.")] = "faithfulness,relevance",
    show_prompt: Annotated[bool, typer.Option("--show-prompt", help="Print the judge's prompts and stop.")] = False,
    limit: LimitOpt = None,
    name: NameOpt = None,
    out_dir: OutOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Faithfulness and answer relevance scored 1-5 by a judge model (any configured model).

    --json prints {"run_id", "kind", "judge", "n", "faithfulness", "faithfulness_mean", "relevance", ...}.
    """
    from lingxi.errors import ConfigError
    from lingxi.evals.judge import JUDGE_PROMPTS, judge_rows

    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in JUDGE_PROMPTS]
    if unknown:
        raise ConfigError(f"Unknown judge kind '{unknown[0]}'.", "use faithfulness and/or relevance")
    if show_prompt:
        prompts = {k: JUDGE_PROMPTS[k] for k in wanted}
        print_json(prompts) if as_json else [out.print(f"## {k}\n{v}\n", markup=False) for k, v in prompts.items()]
        return
    if file is None or not file.is_file():
        raise ConfigError(f"The file {file} does not exist.", "pass JSON lines of {question, answer, context}")
    rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    from lingxi.models.funnel import open_chat

    chat = open_chat(model)
    result = judge_rows(chat, rows, wanted)  # type: ignore[arg-type]
    _finish("judge", result, result["items"], as_json, out_dir, name=name, model=chat.name, dataset=str(file))


app.command("classification")(eval_cmd)


@app.command("runs")
def runs(kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.", show_default=False)] = None,
         as_json: JsonOpt = False) -> None:
    """The stored evaluation runs, newest first. --json prints [{"id", "kind", "name", "model", "metrics", ...}]."""
    from lingxi.evals.runs import list_runs

    rows = list_runs(kind)
    if as_json:
        print_json(rows)
        return
    table = Table("id", "kind", "name", "model", "dataset", "metrics")
    for r in rows:
        shown = ", ".join(f"{k}={v:.3g}" for k, v in list(r["metrics"].items())[:4])
        table.add_row(str(r["id"]), r["kind"], r["name"] or "", r["model"] or "", Path(r["dataset"] or "").name, shown)
    out.print(table)


@app.command("show")
def show(run: Annotated[str, typer.Argument(help="Run id or name.")], out_dir: OutOpt = None,
         as_json: JsonOpt = False) -> None:
    """One run's metrics (and its Markdown + PNG report). --json prints the run with its details."""
    from lingxi.evals.runs import load_run, run_markdown, write_run_report

    data = load_run(run, with_details=as_json)
    if as_json:
        print_json(data)
        return
    files = write_run_report(data, reports_dir(out_dir, "eval"))
    out.print(run_markdown(data), markup=False)
    out.print(f"report: {files['markdown']}", markup=False)


@app.command("compare")
def compare_runs_cmd(run_a: Annotated[str, typer.Argument(help="Run id or name (A).")],
                     run_b: Annotated[str, typer.Argument(help="Run id or name (B).")],
                     out_dir: OutOpt = None, as_json: JsonOpt = False) -> None:
    """Metric by metric: A, B and B − A, written as Markdown + PNG.

    --json prints {"a", "b", "rows": [{"metric", "a", "b", "delta"}], "note", "files"}.
    """
    from lingxi.evals.runs import compare_runs, comparison_markdown, write_comparison

    cmp = compare_runs(run_a, run_b)
    files = write_comparison(cmp, reports_dir(out_dir, "eval"))
    if as_json:
        print_json({**cmp, "files": files})
        return
    out.print(comparison_markdown(cmp), markup=False)
    out.print(f"report: {files['markdown']}", markup=False)
