"""Fine-tuning SmolLM2-135M for lingxi's own grounded answering, measured through `lingxi ask`.

    python bench/tune.py            # 96 SFT examples (2 epochs), 48 held-out questions (about 45 min on 2 cores)
    python bench/tune.py --epochs 1 # the one-epoch recipe (bench/results/tune_e1.md)
    python bench/tune.py --quick    # a smoke run: 16 examples, 8 questions, 4 steps

Task: answer from a knowledge base the way `lingxi ask` does. Data: CMRC 2018 trial (zh) and
XQuAD (en), split by *article*: even articles go into a training knowledge base, odd ones into a
held-out one, so the questions evaluated come from articles the adapters never saw.

Training prompts are `lingxi ask`'s own: each training question is asked of the training KB through
the real pipeline (`lingxi.rag.pipeline.answer_question`, mode generate, the bench's Options) with a
recording model that keeps the exact messages and says nothing. The target is the gold answer with
the [n] marker of the first passage shown that holds it; when retrieval showed no passage holding
it, "I don't know." / "我不知道。" as the system prompt asks; one answerable question in six is
also shown without its gold passage (renumbered, rebuilt with `build_messages`) to teach abstention.
SFT and DPO run through the CLI (`lingxi tune sft|dpo`) in a home of their own; DPO starts from the
SFT adapter (`--model smollm2+SFT`, the SFT adapter is also its reference). DPO pairs come
from the same prompts: chosen = the gold answer with the right marker (verified), rejected = an
unsupported one (the gold citing a wrong passage, or another question's answer).

Evaluation: `lingxi.ask(question, kb=held-out, model=M, mode="generate")` — the function the CLI's
`lingxi ask --model M` runs (checked: the CLI gives the same answer on the first question) — for
smollm2, smollm2+SFT and smollm2+DPO, plus model-free `extractive` as the reference smollm2 uses by
default. Metrics on answerable questions (the held-out KB holds the answer): EM / F1 of the answer
shown (CMRC scorer for zh, SQuAD for en; markers removed) and of the model's raw draft, citation
precision (citations whose passage holds the answer), cited rate, fallback rate (abstained), the
verified-sentence rate of the drafts; on questions from training articles (the held-out KB lacks the
answer): the abstention rate. Results: bench/results/tune.json and tune.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
RESULTS = ROOT / "bench" / "results"
FILES = {"zh": "cmrc2018/cmrc2018_trial.json", "en": "xquad/xquad.en.json"}
DONT = {"zh": "我不知道。", "en": "I don't know."}
CHUNK_TOKENS = 128  # the bench KBs' chunk size: SmolLM2 spends ~2 tokens per Chinese character
K, CONTEXT_TOKENS, MAX_TOKENS = 3, 1536, 48  # ask's Options (k, the default context cap, a short answer), training and evaluation alike
MAX_LENGTH = 1280  # training tokens per example (a longer prompt loses its start: the target is always kept)


def options() -> Any:
    from lingxi.rag.pipeline import Options

    return Options(k=K, context_tokens=CONTEXT_TOKENS, max_tokens=MAX_TOKENS)


def load(lang: str) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """Questions (short answers only) and the text of each article."""
    path = (DATA / FILES[lang]).resolve()
    if not path.is_file():
        raise SystemExit(f"{path} is absent: nothing to measure (see ../shared/data/README.md)")
    raw = json.loads(path.read_text("utf-8"))
    items, articles = [], {}
    for a, article in enumerate(raw["data"]):
        articles[a] = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                answers = [x["text"] for x in qa["answers"] if x["text"].strip()]
                if answers and len(answers[0]) <= 40:
                    items.append({"id": qa["id"], "lang": lang, "article": a, "para": f"{lang}{a}.{p}",
                                  "question": qa["question"], "answers": answers})
    return items, articles


def one_per_para(items: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    items = items[:]
    rng.shuffle(items)
    seen: set[str] = set()
    first, rest = [], []
    for i in items:
        (rest if i["para"] in seen else first).append(i)
        seen.add(i["para"])
    return first + rest


def build_kbs(home: Path, data: dict[str, tuple[list, dict]]) -> None:
    """The training KB (even articles) and the held-out KB (odd articles), built once per home."""
    from lingxi.config import load_settings
    from lingxi.knowledge.kb import KnowledgeBase

    settings = load_settings()
    for name, parity in (("tune-train", 0), ("tune-held", 1)):
        if name in KnowledgeBase.names(settings):
            continue
        folder = home / "bench-tune" / name
        folder.mkdir(parents=True, exist_ok=True)
        for lang, (_, articles) in data.items():
            for a, text in articles.items():
                if a % 2 == parity:
                    (folder / f"{lang}-{a:03d}.txt").write_text(text + "\n", "utf-8")
        kb = KnowledgeBase.create(name, chunk_tokens=CHUNK_TOKENS, settings=settings)
        t = time.perf_counter()
        report = kb.ingest(folder, embed="wait")
        print(f"{name}: {len(report.added)} files, {report.chunks} chunks in {time.perf_counter() - t:.0f} s", file=sys.stderr)


class Recorder:
    """A chat model that keeps the messages the pipeline sends and answers nothing."""

    def __init__(self, model: Any) -> None:
        self.model, self.messages = model, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def stream(self, messages: Any, params: Any = None) -> Any:
        self.messages = [m.model_dump(include={"role", "content"}) for m in messages]
        return iter(())


def holds(text: str, answers: list[str]) -> bool:
    return any(a.strip() and a.strip() in text for a in answers)


def cite(answer: str, n: int, lang: str) -> str:
    """A short answer ending with its marker: "1990年[2]。", "in 1990 [2]"."""
    answer = answer.strip().rstrip("。.；;，,")
    return f"{answer}[{n}]。" if lang == "zh" else f"{answer} [{n}]."


def training_examples(items: list[dict[str, Any]], kb: Any, model: Any) -> list[dict[str, Any]]:
    """ask's exact prompt for each training question, with the target answer (see the module text)."""
    from lingxi.rag.pipeline import answer_question
    from lingxi.rag.prompt import build_messages

    rec, out = Recorder(model), []
    for k, item in enumerate(items):
        rec.messages = None
        shown = answer_question(item["question"], kb, rec, "generate", options=options()).sources
        if rec.messages is None:  # ask abstains before calling the model (no passage close enough)
            continue
        gold = next((s.n for s in shown if holds(s.text, item["answers"])), None)
        messages = rec.messages
        if gold is not None and k % 6 == 5 and len(shown) > 1:  # the gold passage withheld: abstain
            rest = [s.model_copy(update={"n": n}) for n, s in enumerate((s for s in shown if s.n != gold), start=1)]
            messages = [m.model_dump(include={"role", "content"}) for m in build_messages(item["question"], rest, item["lang"])]
            gold = None
        elif gold is not None:
            rebuilt = [m.model_dump(include={"role", "content"}) for m in build_messages(item["question"], shown, item["lang"])]
            assert rebuilt == messages, "build_messages no longer gives ask's prompt"
        target = DONT[item["lang"]] if gold is None else cite(item["answers"][0], gold, item["lang"])
        tokens = model.count_tokens("".join(m["content"] or "" for m in messages))
        out.append({"item": item, "messages": messages, "gold": gold, "n_shown": len(shown), "target": target,
                    "prompt_tokens": tokens})
    return out


def dpo_pairs(examples: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """chosen = the verified gold answer; rejected = the gold citing another passage, or another answer."""
    rng = random.Random(seed)
    answerable = [e for e in examples if e["gold"] is not None]
    pairs = []
    for k, e in enumerate(answerable):
        lang, ans = e["item"]["lang"], e["item"]["answers"][0]
        if k % 2 == 0 and e["n_shown"] > 1:
            bad = cite(ans, rng.choice([n for n in range(1, e["n_shown"] + 1) if n != e["gold"]]), lang)
        else:
            other = rng.choice([x for x in answerable if x["item"]["lang"] == lang and x is not e])["item"]["answers"][0]
            bad = cite(other, e["gold"], lang)
        pairs.append({"prompt": e["messages"], "chosen": e["target"], "rejected": bad})
    return pairs


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")


def cli(home: Path, *args: str) -> dict[str, Any]:
    env = {**os.environ, "LINGXI_HOME": str(home), "OMP_WAIT_POLICY": "PASSIVE"}
    exe = [sys.executable, "-c", "import sys; from lingxi.cli import main; sys.exit(main())"]
    t = time.perf_counter()
    r = subprocess.run([*exe, *args, "--json"], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"lingxi {' '.join(args)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    out = json.loads(r.stdout)
    out["wall_s"] = round(time.perf_counter() - t, 1)
    return out


def train(home: Path, method: str, data: Path, name: str, *opts: str, model: str = "smollm2") -> dict[str, Any]:
    """`lingxi tune METHOD` (an adapter already trained on the same data and options is reused)."""
    import hashlib
    import shutil

    folder = home / "adapters" / name
    key = hashlib.sha256(data.read_bytes() + repr(opts if model == "smollm2" else (opts, model)).encode()).hexdigest()
    done = folder / "bench-key"
    if done.is_file() and json.loads(done.read_text())["key"] == key and (folder / "manifest.json").is_file():
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("status") == "trained":
            return {**manifest, "wall_s": json.loads(done.read_text())["wall_s"], "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    manifest = cli(home, "tune", method, "--model", model, "--data", str(data), "--out", name, *opts)
    done.write_text(json.dumps({"key": key, "wall_s": manifest["wall_s"]}))
    return manifest


_MARK = re.compile(r"\[(\d+)\]")


def scores(item: dict[str, Any], text: str) -> tuple[float, float]:
    from lingxi.evals.qa import cmrc_em, cmrc_f1, squad_em, squad_f1
    from lingxi.rag.verify import strip_markers

    text = strip_markers(text).strip().rstrip("。.").strip()
    zh = item["lang"] == "zh"
    return ((cmrc_em if zh else squad_em)(item["answers"], text), (cmrc_f1 if zh else squad_f1)(item["answers"], text))


def evaluate(held: list[dict[str, Any]], unans: list[dict[str, Any]], models: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """Every question through `lingxi.ask` for each (model, mode); metrics and the answers."""
    import lingxi

    metrics, samples = {}, {}
    for label, (model, mode) in models.items():
        rows, started = [], time.perf_counter()
        for item in held + unans:
            a = lingxi.ask(item["question"], kb="tune-held", model=model, mode=mode, options=options())
            rows.append((item, a))
        secs = time.perf_counter() - started
        metrics[label] = score(rows, len(held)) | {"seconds_per_answer": round(secs / len(rows), 2)}
        if mode == "extractive":  # no model, no draft
            metrics[label].update(draft_em=None, draft_f1=None)
        samples[label] = [{"text": a.text, "draft": a.draft, "mode": a.mode} for _, a in rows]
    return {"metrics": metrics, "samples": samples}


def score(rows: list[tuple[dict[str, Any], Any]], n_held: int) -> dict[str, Any]:
    em = f1 = dem = df1 = 0.0
    n = fallback = cited = marks = right = sentences = supported = abstain = reachable = 0
    for k, (item, a) in enumerate(rows):
        if k >= n_held:  # the held-out KB lacks the answer
            abstain += a.abstained
            continue
        n += 1
        by_n = {s.n: s.text for s in a.sources}
        reachable += any(holds(t, item["answers"]) for t in by_n.values())
        fallback += a.abstained
        e, f = scores(item, "" if a.abstained else a.text)
        em, f1 = em + e, f1 + f
        e, f = scores(item, a.draft)
        dem, df1 = dem + e, df1 + f
        cited += bool(a.citations)
        marks += len(a.citations)
        right += sum(holds(by_n.get(c.n, ""), item["answers"]) for c in a.citations)
        sentences += len(a.sentences)
        supported += sum(v.verdict == "supported" for v in a.sentences)
    pct = lambda x, y: round(100 * x / y, 1) if y else None  # noqa: E731
    n_un = len(rows) - n_held
    return {"answerable": n, "unanswerable": n_un, "retrieved_answer": pct(reachable, n), "em": pct(em, n),
            "f1": pct(f1, n), "draft_em": pct(dem, n), "draft_f1": pct(df1, n), "citation_precision": pct(right, marks),
            "cited_rate": pct(cited, n), "fallback_rate": pct(fallback, n), "verified_sentence_rate": pct(supported, sentences),
            "sentences": sentences, "supported_sentences": supported, "abstention_rate_unanswerable": pct(abstain, n_un)}


def cli_agrees(home: Path, item: dict[str, Any], label: str, model: str, mode: str, text: str) -> dict[str, Any]:
    """`lingxi ask --model M` on one question gives what the library gave."""
    out = cli(home, "ask", item["question"], "--kb", "tune-held", "--model", model, "--mode", mode,
              "--k", str(K), "--max-tokens", str(MAX_TOKENS))
    return {"model": label, "same": out.get("text") == text, "cli_text": out.get("text"), "library_text": text}


COLS = [("em", "EM"), ("f1", "F1"), ("draft_f1", "draft F1"), ("citation_precision", "citation precision"),
        ("cited_rate", "cited"), ("fallback_rate", "fallback"), ("verified_sentence_rate", "verified sentences"),
        ("abstention_rate_unanswerable", "abstains (answer absent)"), ("seconds_per_answer", "s / answer")]


def markdown(r: dict[str, Any]) -> str:
    cfg = r["config"]
    size = "--quick" if cfg["quick"] else f"--train {cfg['asked_train']} --eval {cfg['asked_eval']} --dpo-steps {cfg['dpo_steps']}" \
        f" --epochs {cfg.get('epochs', '1')} --lr {cfg.get('lr', '2e-4')}"
    lines = [f"# Tuning SmolLM2-135M for grounded answering, measured through `lingxi ask` (`python bench/tune.py {size}`)", "",
             f"{cfg['train_examples']} SFT examples ({cfg['train_unanswerable']} answered \"I don't know\"), "
             f"{cfg['dpo_pairs']} DPO pairs; {cfg['eval_answerable']} held-out questions from articles never trained on "
             f"(CMRC 2018 trial zh + XQuAD en) asked of a KB of those articles, {cfg['eval_unanswerable']} questions "
             f"whose article is not in it. ask Options: k={K}, context_tokens={CONTEXT_TOKENS}, max_tokens={MAX_TOKENS}; "
             f"KB chunks of {CHUNK_TOKENS} tokens. The KB shows a passage holding the answer for "
             f"{r['eval']['metrics']['smollm2 (extractive)']['retrieved_answer']} % of the answerable questions. "
             f"Percentages; load average {r['load_average']} at the start, {r['load_average_end']} at the end.", "",
             "| model (mode) | " + " | ".join(h for _, h in COLS) + " |", "|---" * (len(COLS) + 1) + "|"]
    for name, m in r["eval"]["metrics"].items():
        lines.append(f"| {name} | " + " | ".join("-" if m.get(c) is None else str(m[c]) for c, _ in COLS) + " |")
    lines += ["", "| training | steps | examples | seconds | examples/s | s / epoch | final loss | validation loss |",
              "|---|---|---|---|---|---|---|---|"]
    for name, t in r["train"].items():
        lines.append(f"| {name} | {t['steps']} | {t['examples']} | {t['seconds']} | {t['examples_per_s']} | "
                     f"{t['seconds_per_epoch']} | {t['train_loss']} | {'-' if t['validation_loss'] is None else t['validation_loss']} |")
    agree = r.get("cli_check", [])
    if agree:
        lines += ["", "CLI check (`lingxi ask --model M --mode generate --json` on the first question = the library's answer): "
                  + ", ".join(f"{c['model']} {'same' if c['same'] else 'DIFFERENT'}" for c in agree) + "."]
    lines += ["", r["verdict"], ""]
    if r.get("notes"):
        lines += ["Notes:", "", *[f"- {n}" for n in r["notes"]], ""]
    return "\n".join(lines)


def train_row(manifest: dict[str, Any], n_train: int) -> dict[str, Any]:
    m = manifest["metrics"]
    steps, batch = m["steps"], manifest["hyper"]["batch_size"]
    seen = steps * batch
    return {"steps": steps, "examples": seen, "seconds": m["seconds"], "examples_per_s": m["examples_per_s"],
            "seconds_per_epoch": round(m["seconds"] * n_train / max(seen, 1), 1),
            "train_loss": round(m["train_loss"], 4) if m.get("train_loss") is not None else None,
            "validation_loss": round(m["validation_loss"], 4) if m.get("validation_loss") is not None else None,
            "cli_wall_s": manifest.get("wall_s"), "hyper": manifest["hyper"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run (16 examples, 8 questions, 4 steps)")
    ap.add_argument("--train", type=int, default=96)
    ap.add_argument("--eval", type=int, default=48)
    ap.add_argument("--epochs", default="2", help="SFT epochs (measured: 2 beat 1, F1 30.2 vs 17.9; tune_e1.md)")
    ap.add_argument("--lr", default="2e-4")
    ap.add_argument("--dpo-steps", type=int, default=6)
    ap.add_argument("--render", action="store_true", help="rewrite tune.md from tune.json (no training)")
    ap.add_argument("--home", default=os.environ.get("LINGXI_BENCH_HOME", str(Path.home() / ".lingxi-bench-tune")))
    a = ap.parse_args()
    if a.render:
        result = json.loads((RESULTS / "tune.json").read_text("utf-8"))
        (RESULTS / "tune.md").write_text(markdown(result), "utf-8")
        return print(markdown(result))
    n_train, n_eval, dpo_steps = (16, 8, 2) if a.quick else (a.train, a.eval, a.dpo_steps)
    home = Path(a.home).expanduser()
    os.environ["LINGXI_HOME"] = str(home)
    work = home / "bench-tune"
    work.mkdir(parents=True, exist_ok=True)
    load0 = round(os.getloadavg()[0], 2)
    from lingxi.knowledge.kb import KnowledgeBase
    from lingxi.models.funnel import open_chat

    data = {lang: load(lang) for lang in ("zh", "en")}
    build_kbs(home, data)
    rng = random.Random(0)
    tr, ev, un = [], [], []
    for lang, (items, _) in data.items():
        tr += one_per_para([i for i in items if i["article"] % 2 == 0], rng)[: n_train // 2]
        ev += one_per_para([i for i in items if i["article"] % 2 == 1], rng)[: n_eval // 2]
        un += one_per_para([i for i in items if i["article"] % 2 == 0], random.Random(9))[-max(2, n_eval // 16):]
    examples = training_examples(tr, KnowledgeBase.open("tune-train"), open_chat("smollm2"))
    write_jsonl([{"messages": [*e["messages"], {"role": "assistant", "content": e["target"]}]} for e in examples],
                work / "sft.jsonl")
    pairs = dpo_pairs(examples, seed=3)
    write_jsonl(pairs, work / "dpo.jsonl")
    recipe = "" if (a.epochs, a.lr) == ("2", "2e-4") else f"-e{a.epochs}-lr{a.lr}"  # the default recipe keeps the plain names
    tag = ("quick" if a.quick else "full") + recipe
    quick = ["--max-steps", "4"] if a.quick else []
    common = ["--lr", a.lr, "--max-length", str(MAX_LENGTH), "--validation", "0.05"]
    sft = train(home, "sft", work / "sft.jsonl", f"ask-sft-{tag}", "--epochs", a.epochs, *common, *quick)
    dpo = train(home, "dpo", work / "dpo.jsonl", f"ask-dpo-{tag}", "--max-steps", str(dpo_steps), *common,
                model=f"smollm2+ask-sft-{tag}")  # DPO on top of the SFT adapter (the reference: the SFT adapter)
    models = {"smollm2 (extractive)": ("smollm2", "extractive"), "smollm2 (generate)": ("smollm2", "generate"),
              f"smollm2+ask-sft-{tag} (generate)": (f"smollm2+ask-sft-{tag}", "generate"),
              f"smollm2+ask-dpo-{tag} (generate)": (f"smollm2+ask-dpo-{tag}", "generate"),
              "smollm2 (auto)": ("smollm2", "auto"), f"smollm2+ask-sft-{tag} (auto)": (f"smollm2+ask-sft-{tag}", "auto")}
    ev_out = evaluate(ev, un, models)
    m = ev_out["metrics"]
    check = [cli_agrees(home, ev[0], label, model, mode, ev_out["samples"][label][0]["text"])
             for label, (model, mode) in models.items() if mode == "generate"]
    base, s, d = (m[k] for k in list(models)[1:4])
    verdict = (f"Verified-sentence rate of the drafts: base {base['verified_sentence_rate']} % "
               f"({base['supported_sentences']}/{base['sentences']}), SFT {s['verified_sentence_rate']} % "
               f"({s['supported_sentences']}/{s['sentences']}), DPO {d['verified_sentence_rate']} % "
               f"({d['supported_sentences']}/{d['sentences']}). F1 of the answer shown: base {base['f1']}, SFT {s['f1']}, "
               f"DPO {d['f1']}, extractive {m['smollm2 (extractive)']['f1']}.")
    result = {
        "config": {"quick": a.quick, "epochs": a.epochs, "lr": a.lr, "asked_train": n_train, "asked_eval": n_eval, "train_examples": len(examples),
                   "train_unanswerable": sum(e["gold"] is None for e in examples), "dpo_pairs": len(pairs),
                   "prompt_tokens_max": max(e["prompt_tokens"] for e in examples),
                   "prompt_tokens_median": sorted(e["prompt_tokens"] for e in examples)[len(examples) // 2],
                   "dpo_steps": dpo_steps, "eval_answerable": len(ev), "eval_unanswerable": len(un),
                   "k": K, "context_tokens": CONTEXT_TOKENS, "max_tokens": MAX_TOKENS, "chunk_tokens": CHUNK_TOKENS,
                   "max_length": MAX_LENGTH, "generation": "lingxi.ask through the funnel (llama.cpp, BASE+ADAPTER), greedy"},
        "load_average": load0, "load_average_end": round(os.getloadavg()[0], 2),
        "train": {f"sft (LoRA r=8, all linear, lr {a.lr}, {a.epochs} epoch)": train_row(sft, len(examples)),
                  f"dpo from the SFT adapter (ref = SFT, {dpo_steps} steps)": train_row(dpo, len(pairs))},
        "eval": {"metrics": m, "examples": [{"question": i["question"], "gold": i["answers"][0],
                                             **{k: v[n] for k, v in ev_out["samples"].items()}}
                                            for n, i in enumerate(ev[:12])]},
        "cli_check": check, "verdict": verdict,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = ("tune_quick" if a.quick else "tune") + recipe.replace("-", "_")
    (RESULTS / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (RESULTS / f"{name}.md").write_text(markdown(result), "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
