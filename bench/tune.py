"""Fine-tuning SmolLM2-135M for lingxi's own grounded answering, measured: SFT then DPO, base vs adapter.

    python bench/tune.py            # 96 SFT examples, 36 held-out questions (about 40 min on 2 busy cores)
    python bench/tune.py --quick    # a smoke run: 16 examples, 8 questions

Task: lingxi's RAG prompt (`lingxi.rag.prompt.build_messages`, the same system text, numbered and
fenced passages, focused sentences, the question), answered with a short answer and the [n] marker
of the passage that holds it; when no passage holds the answer, "I don't know." / "我不知道。" as the
system prompt asks. Data: CMRC 2018 trial (zh) and XQuAD (en), split by *article*: questions
evaluated come from articles the adapter never saw. Each question gets the chunk holding its answer
(the answer's sentence and the next, as a knowledge base would hold it; at most 110 Chinese / 420
English characters, since SmolLM2's tokenizer spends about two tokens per Chinese character) and one
chunk of another paragraph, in a seeded random order; one question in six is asked with two other
chunks only (the answer is not there: abstention is the right answer).

SFT and DPO run through the CLI (`lingxi tune sft|dpo`), in a home of their own. DPO pairs come
from the same training questions: chosen = the gold answer with the right marker (verified), rejected
= an unsupported one (the gold answer citing the wrong passage, or another question's answer).
Generation for the evaluation uses transformers + peft on the same dequantised base (greedy, 32
new tokens), so base and adapters are compared on identical weights.

Metrics on the answerable held-out questions: EM / F1 (CMRC scorer for zh, SQuAD for en; markers
removed), citation precision (share of [n] markers pointing at the passage holding the answer), cited
rate, fallback rate (answered "I don't know" although the answer was there), verified-sentence
rate (`lingxi.rag.verify` without vectors: rules + words, as with a KB whose vectors are not
loaded); on the unanswerable ones: abstention rate.
Results: bench/results/tune.json and tune.md.
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
MAX_NEW = 32
LIMIT = {"zh": 110, "en": 420}  # characters per chunk: SmolLM2's tokenizer spends ~2 tokens per Chinese character


def load_items(lang: str) -> list[dict[str, Any]]:
    path = (DATA / FILES[lang]).resolve()
    if not path.is_file():
        raise SystemExit(f"{path} is absent: nothing to measure (see ../shared/data/README.md)")
    raw = json.loads(path.read_text("utf-8"))
    out = []
    for a, article in enumerate(raw["data"]):
        for p, para in enumerate(article["paragraphs"]):
            for qa in para["qas"]:
                answers = [x["text"] for x in qa["answers"] if x["text"].strip()]
                if answers and len(answers[0]) <= 40:
                    chunk = window(para["context"], qa["answers"][0]["answer_start"])
                    if qa["answers"][0]["text"] in chunk and len(chunk) <= LIMIT[lang]:
                        out.append({"id": qa["id"], "lang": lang, "article": a, "para": f"{lang}{a}.{p}",
                                    "question": qa["question"], "answers": answers, "context": chunk,
                                    "other": window(para["context"], 0)})
    return out


def window(text: str, at: int, size: int = 2) -> str:
    """A chunk as a knowledge base would hold it: the sentence at character `at` and the next one."""
    from lingxi.knowledge.text import sentence_spans

    spans = list(sentence_spans(text)) or [(0, len(text))]
    i = next((k for k, (a, b) in enumerate(spans) if a <= at < b), 0)
    a, b = spans[i][0], spans[min(i + size, len(spans)) - 1][1]
    return text[a:b].strip()


def split_items(items: list[dict[str, Any]], n_train: int, n_eval: int, seed: int = 0) -> tuple[list, list]:
    """Train on questions of even articles, evaluate on odd ones (never seen), per language."""
    rng = random.Random(seed)
    train, held = [], []
    for lang in ("zh", "en"):
        mine = [i for i in items if i["lang"] == lang]
        tr = [i for i in mine if i["article"] % 2 == 0]
        ev = [i for i in mine if i["article"] % 2 == 1]
        rng.shuffle(tr)
        rng.shuffle(ev)
        train += _one_per_para(tr)[: n_train // 2]
        held += _one_per_para(ev)[: n_eval // 2]
    return train, held


def _one_per_para(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    first, rest = [], []
    for i in items:
        (rest if i["para"] in seen else first).append(i)
        seen.add(i["para"])
    return first + rest


def example(item: dict[str, Any], pool: list[dict[str, Any]], rng: random.Random, answerable: bool) -> dict[str, Any]:
    """The prompt lingxi serves (messages), the sources, where the gold passage sits, and the target."""
    from lingxi.rag.answer import Source
    from lingxi.rag.prompt import build_messages

    others = [p for p in pool if p["lang"] == item["lang"] and p["para"] != item["para"]
              and len(p["other"]) <= LIMIT[p["lang"]]]
    picked: list[str] = []
    while len(picked) < 2:
        c = rng.choice(others)["other"]
        if c not in picked:
            picked.append(c)
    texts = ([item["context"], picked[0]] if answerable else picked)
    rng.shuffle(texts)
    sources = [Source(n=n, chunk_id=f"c{n}", source=f"doc{n}.txt", text=t) for n, t in enumerate(texts, start=1)]
    gold = texts.index(item["context"]) + 1 if answerable else None
    msgs = [m.model_dump(include={"role", "content"}) for m in build_messages(item["question"], sources, item["lang"])]
    if gold is None:
        target = DONT[item["lang"]]
    else:
        target = cite(item["answers"][0], gold, item["lang"])
    return {"item": item, "messages": msgs, "sources": sources, "gold": gold, "target": target}


def cite(answer: str, n: int, lang: str) -> str:
    """A short answer ending with its marker: "1990年[2]。", "in 1990 [2]"."""
    answer = answer.strip().rstrip("。.；;，,")
    return f"{answer}[{n}]。" if lang == "zh" else f"{answer} [{n}]."


def build(items: list[dict[str, Any]], pool: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [example(i, pool, rng, answerable=(k % 6 != 5)) for k, i in enumerate(items)]


def dpo_pairs(examples: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """chosen = the verified gold answer; rejected = the gold citing the other passage, or another answer."""
    rng = random.Random(seed)
    answerable = [e for e in examples if e["gold"] is not None]
    pairs = []
    for k, e in enumerate(answerable):
        lang, ans = e["item"]["lang"], e["item"]["answers"][0]
        wrong = 2 if e["gold"] == 1 else 1
        if k % 2 == 0:
            bad = cite(ans, wrong, lang)
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


def train(home: Path, method: str, data: Path, name: str, *opts: str) -> dict[str, Any]:
    """`lingxi tune METHOD` (an adapter already trained on the same data and options is reused)."""
    import hashlib
    import shutil

    folder = home / "adapters" / name
    key = hashlib.sha256(data.read_bytes() + repr(opts).encode()).hexdigest()
    done = folder / "bench-key"
    if done.is_file() and json.loads(done.read_text())["key"] == key and (folder / "manifest.json").is_file():
        manifest = json.loads((folder / "manifest.json").read_text())
        if manifest.get("status") == "trained":
            return {**manifest, "wall_s": json.loads(done.read_text())["wall_s"], "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    manifest = cli(home, "tune", method, "--model", "smollm2", "--data", str(data), "--out", name, *opts)
    done.write_text(json.dumps({"key": key, "wall_s": manifest["wall_s"]}))
    return manifest


def from_checkpoint(folder: Path) -> tuple[dict[str, Any], Path]:
    """The manifest (metrics of the steps done) and adapter of the last checkpoint of an interrupted run."""
    manifest = json.loads((folder / "manifest.json").read_text())
    ckpt = max(folder.glob("checkpoints/checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    state = json.loads((ckpt / "trainer_state.json").read_text())
    steps = int(state["global_step"])
    losses = [[h["step"], h["loss"]] for h in state["log_history"] if "loss" in h]
    seconds = manifest.get("metrics", {}).get("seconds")
    batch = manifest["hyper"]["batch_size"]
    manifest["metrics"] = {"steps": steps, "seconds": seconds, "losses": losses,
                           "train_loss": losses[-1][1] if losses else None,
                           "examples_per_s": round(steps * batch / seconds, 3) if seconds else None,
                           "interrupted_at": f"step {steps} of {manifest['steps_planned']}"}
    return {**manifest, "wall_s": None}, ckpt


def answer_all(model: Any, tok: Any, examples: list[dict[str, Any]]) -> tuple[list[str], float]:
    import torch

    from lingxi.tune.template import encode, render

    outs, started = [], time.perf_counter()
    for e in examples:
        ids = encode(tok, render(tok, e["messages"], generation_prompt=True))
        with torch.no_grad():
            got = model.generate(torch.tensor([ids]), max_new_tokens=MAX_NEW, do_sample=False,
                                 pad_token_id=tok.pad_token_id)[0][len(ids):]
        outs.append(tok.decode(got, skip_special_tokens=True).strip())
    return outs, time.perf_counter() - started


_MARK = re.compile(r"\[(\d+)\]")


def score(examples: list[dict[str, Any]], outs: list[str]) -> dict[str, Any]:
    from lingxi.evals.qa import cmrc_em, cmrc_f1, squad_em, squad_f1
    from lingxi.rag.verify import says_dont_know, split_claims, verify

    em = f1 = 0.0
    n_ans = n_unans = fallback = abstain = cited = 0
    marks = right = claims_n = supported = 0
    for e, out in zip(examples, outs, strict=True):
        dont = says_dont_know(out) or out.strip() in ("", DONT[e["item"]["lang"]])
        if e["gold"] is None:
            n_unans += 1
            abstain += dont
            continue
        n_ans += 1
        if dont:
            fallback += 1
        text = _MARK.sub("", out).strip().rstrip("。.").strip()
        zh = e["item"]["lang"] == "zh"
        em += (cmrc_em if zh else squad_em)(e["item"]["answers"], text)
        f1 += (cmrc_f1 if zh else squad_f1)(e["item"]["answers"], text)
        ns = [int(n) for n in _MARK.findall(out)]
        cited += bool(ns)
        marks += len(ns)
        right += sum(n == e["gold"] for n in ns)
        if not dont:
            cl = split_claims(out)
            verdicts = verify(cl, e["sources"], e["item"]["question"])
            claims_n += len(verdicts)
            supported += sum(v.verdict == "supported" for v in verdicts)
    pct = lambda a, b: round(100 * a / b, 1) if b else None  # noqa: E731
    return {"answerable": n_ans, "unanswerable": n_unans, "em": pct(em, n_ans), "f1": pct(f1, n_ans),
            "citation_precision": pct(right, marks), "cited_rate": pct(cited, n_ans),
            "fallback_rate": pct(fallback, n_ans), "verified_sentence_rate": pct(supported, claims_n),
            "abstention_rate_unanswerable": pct(abstain, n_unans), "sentences": claims_n,
            "supported_sentences": supported}


def evaluate(home: Path, held: list[dict[str, Any]], adapters: dict[str, Path]) -> dict[str, Any]:
    from peft import PeftModel

    from lingxi.config import load_settings
    from lingxi.tune.base import load_base, resolve_base

    os.environ["LINGXI_HOME"] = str(home)
    settings = load_settings()
    tok, model = load_base(resolve_base("smollm2", settings), settings)
    model.eval()
    names = list(adapters)
    peft_model = PeftModel.from_pretrained(model, adapters[names[0]], adapter_name=names[0]).eval()
    for n in names[1:]:
        peft_model.load_adapter(adapters[n], adapter_name=n)
    results, samples = {}, {}
    with peft_model.disable_adapter():
        outs, secs = answer_all(peft_model, tok, held)
    results["base"] = {**score(held, outs), "seconds_per_answer": round(secs / len(held), 2)}
    samples["base"] = outs
    for n in names:
        peft_model.set_adapter(n)
        outs, secs = answer_all(peft_model, tok, held)
        results[n] = {**score(held, outs), "seconds_per_answer": round(secs / len(held), 2)}
        samples[n] = outs
    return {"metrics": results, "samples": samples}


def markdown(r: dict[str, Any]) -> str:
    cfg, sft, dpo = r["config"], r["train"]["sft"], r["train"]["dpo"]
    cols = ["em", "f1", "citation_precision", "cited_rate", "fallback_rate", "verified_sentence_rate",
            "abstention_rate_unanswerable", "seconds_per_answer"]
    head = ["model", "EM", "F1", "citation precision", "cited", "fallback", "verified sentences",
            "abstains (no answer)", "s / answer"]
    size = "quick run" if cfg["quick"] else f"--train {cfg.get('asked_train')} --eval {cfg.get('asked_eval')} " \
        f"--dpo-steps {cfg['dpo_steps']}"
    lines = [f"# Tuning SmolLM2-135M for grounded answering (`python bench/tune.py {size}`)", "",
             f"{cfg['train_examples']} SFT examples ({cfg['train_unanswerable']} without the answer), "
             f"{cfg['dpo_pairs']} DPO pairs, {cfg['eval_answerable']} + {cfg['eval_unanswerable']} held-out "
             f"questions (CMRC 2018 trial zh + XQuAD en, articles never trained on). Percentages; "
             f"load average {r['load_average']} at the start, {r['load_average_end']} at the end.", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, m in r["eval"]["metrics"].items():
        lines.append("| " + " | ".join([name] + ["-" if m.get(c) is None else str(m[c]) for c in cols]) + " |")
    lines += ["", "| training | steps | examples | seconds | examples/s | s / epoch | final loss | validation loss |",
              "|---|---|---|---|---|---|---|---|"]
    for name, t in (("sft (LoRA r=8, all linear)", sft), ("dpo (LoRA r=8, ref = base)", dpo)):
        if t.get("interrupted_at"):
            name += f", stopped at {t['interrupted_at']}"
        lines.append(f"| {name} | {t['steps']} | {t['examples']} | {t['seconds']} | {t['examples_per_s']} | "
                     f"{t['seconds_per_epoch']} | {t['train_loss']} | {'-' if t['validation_loss'] is None else t['validation_loss']} |")
    lines += ["", r["verdict"], ""]
    if r.get("notes"):
        lines += ["Notes:", "", *[f"- {n}" for n in r["notes"]], ""]
    return "\n".join(lines)


def _train_row(manifest: dict[str, Any], n_train: int) -> dict[str, Any]:
    m = manifest["metrics"]
    steps, batch = m["steps"], manifest["hyper"]["batch_size"]
    seen = steps * batch
    return {"steps": steps, "examples": seen, "seconds": m["seconds"], "examples_per_s": m["examples_per_s"],
            "seconds_per_epoch": round(m["seconds"] * n_train / max(seen, 1), 1),
            "train_loss": round(m["train_loss"], 4) if m.get("train_loss") is not None else None,
            "validation_loss": round(m["validation_loss"], 4) if m.get("validation_loss") is not None else None,
            "cli_wall_s": manifest.get("wall_s"), "interrupted_at": m.get("interrupted_at")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a smoke run (16 examples, 8 questions, few steps)")
    ap.add_argument("--train", type=int, default=96)
    ap.add_argument("--eval", type=int, default=36)
    ap.add_argument("--dpo-steps", type=int, default=6)
    ap.add_argument("--sft-from-checkpoint", action="store_true",
                    help="use the last checkpoint of an interrupted SFT run instead of training")
    ap.add_argument("--render", action="store_true", help="rewrite tune.md from tune.json (no training)")
    ap.add_argument("--home", default=os.environ.get("LINGXI_BENCH_HOME", str(Path.home() / ".lingxi-bench-tune")))
    a = ap.parse_args()
    if a.render:
        result = json.loads((RESULTS / "tune.json").read_text("utf-8"))
        (RESULTS / "tune.md").write_text(markdown(result), "utf-8")
        print(markdown(result))
        return
    n_train, n_eval, dpo_steps = (16, 8, 2) if a.quick else (a.train, a.eval, a.dpo_steps)
    try:
        os.nice(10)
    except OSError:
        pass
    home = Path(a.home).expanduser()
    work = home / "bench-tune"
    work.mkdir(parents=True, exist_ok=True)
    load0 = round(os.getloadavg()[0], 2)
    items = load_items("zh") + load_items("en")
    tr_items, ev_items = split_items(items, n_train, n_eval)
    train_ex, held = build(tr_items, tr_items, seed=1), build(ev_items, ev_items, seed=2)
    sft_rows = [{"messages": [*e["messages"], {"role": "assistant", "content": e["target"]}]} for e in train_ex]
    pairs = dpo_pairs(train_ex, seed=3)
    write_jsonl(sft_rows, work / "sft.jsonl")
    write_jsonl(pairs, work / "dpo.jsonl")
    tag = "quick" if a.quick else "full"
    if a.sft_from_checkpoint:  # an SFT run stopped early (Ctrl-C): evaluate its last checkpoint
        sft, sft_path = from_checkpoint(home / "adapters" / f"rag-sft-{tag}")
    else:
        sft = train(home, "sft", work / "sft.jsonl", f"rag-sft-{tag}", "--epochs", "1", "--lr", "5e-4",
                    "--max-length", "704", "--validation", "0.05", *(["--max-steps", "4"] if a.quick else []))
        sft_path = home / "adapters" / f"rag-sft-{tag}" / "adapter"
    dpo = train(home, "dpo", work / "dpo.jsonl", f"rag-dpo-{tag}", "--max-steps", str(dpo_steps), "--lr", "5e-4",
                "--max-length", "704", "--validation", "0.05")
    adapters = {"sft": sft_path,
                "dpo": home / "adapters" / f"rag-dpo-{tag}" / "adapter"}
    ev = evaluate(home, held, adapters)
    m = ev["metrics"]
    vb, vd = m["base"]["verified_sentence_rate"], m["dpo"]["verified_sentence_rate"]
    moved = m["dpo"]["supported_sentences"] - round((vb or 0) * m["dpo"]["sentences"] / 100)
    verdict = (f"DPO ({dpo_steps} steps of 2 pairs): verified-sentence rate {vb} % (base, "
               f"{m['base']['supported_sentences']}/{m['base']['sentences']} sentences) -> {vd} % (dpo, "
               f"{m['dpo']['supported_sentences']}/{m['dpo']['sentences']}); SFT: {m['sft']['verified_sentence_rate']} %. "
               + ("It rose" if (vd or 0) > (vb or 0) else "It did not rise")
               + (", by about one or two sentences: within noise at this size." if abs(moved) <= 2 else "."))
    result = {
        "config": {"quick": a.quick, "asked_train": n_train, "asked_eval": n_eval, "train_examples": len(train_ex),
                   "train_unanswerable": sum(e["gold"] is None for e in train_ex), "dpo_pairs": len(pairs),
                   "dpo_steps": dpo_steps, "eval_answerable": sum(e["gold"] is not None for e in held),
                   "eval_unanswerable": sum(e["gold"] is None for e in held), "max_new_tokens": MAX_NEW,
                   "generation": "transformers + peft, greedy, same dequantised base"},
        "load_average": load0, "load_average_end": round(os.getloadavg()[0], 2),
        "train": {"sft": _train_row({**sft, "wall_s": sft["wall_s"]}, len(train_ex)),
                  "dpo": _train_row({**dpo, "wall_s": dpo["wall_s"]}, len(pairs))},
        "eval": {"metrics": m, "examples": [{"question": e["item"]["question"], "gold": e["item"]["answers"][0],
                                             "gold_n": e["gold"], **{k: v[i] for k, v in ev["samples"].items()}}
                                            for i, e in enumerate(held[:12])]},
        "verdict": verdict,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "tune_quick" if a.quick else "tune"
    (RESULTS / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (RESULTS / f"{name}.md").write_text(markdown(result), "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
