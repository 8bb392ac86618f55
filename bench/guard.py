"""Guardrail benchmark (issue 12). Writes bench/results/guard.json and guard.md.

    python bench/guard.py                         # all parts, default sample sizes
    python bench/guard.py --parts moderation,injection --n-dev 1000

Moderation: COLD dev (the character model on all of it; the full check, e5 included, on a
stratified sample), waimai negative reviews of the "B" half (never trained on), the seeds' test
part per category. Injection: giskard (English), the seeds' Chinese test attacks, the fresh set
(bench/guard_fresh.json, written after the heuristics were tuned and never used to tune them),
benign CMRC / XQuAD questions and waimai reviews ("B" half), look-alikes. PII: a generated set
with valid and invalid (bad checksum) numbers. Latency: each check, the default input policy,
and what the whole default policy adds to `lingxi ask` and to a server round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT / "src"))

from lingxi.config import load_settings  # noqa: E402
from lingxi.guard import datasets as D  # noqa: E402
from lingxi.guard.injection import Injection, NanoGuardCheck  # noqa: E402
from lingxi.guard.moderation import Moderation  # noqa: E402


def prf(pred: list[bool], gold: list[bool]) -> dict:
    pred, gold = [bool(p) for p in pred], [bool(g) for g in gold]
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    tn = len(gold) - tp - fp - fn
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    p0 = tn / (tn + fn) if tn + fn else 0.0
    r0 = tn / (tn + fp) if tn + fp else 0.0
    f0 = 2 * p0 * r0 / (p0 + r0) if p0 + r0 else 0.0
    return {"n": len(gold), "accuracy": round((tp + tn) / len(gold), 4), "precision": round(p, 4), "recall": round(r, 4),
            "f1": round(f1, 4), "macro_f1": round((f1 + f0) / 2, 4)}


def rate(flags: list[bool]) -> dict:
    flags = [bool(f) for f in flags]
    return {"n": len(flags), "flagged": sum(flags), "rate": round(sum(flags) / max(1, len(flags)), 4)}


def sample(items: list, n: int, seed: int = 0) -> list:
    return items if len(items) <= n else random.Random(seed).sample(items, n)


def moderation(args) -> dict:
    from lingxi.guard import heads as H
    from lingxi.guard.embed import embed_cached

    heads = H.load()
    dev = D.cold(DATA, "dev")
    gold = [y == 1 for y in dev.labels]
    out = {"cold_dev_char_all": prf(list(heads.char(dev.texts) >= 0.5), gold)}
    idx = sample(list(range(len(dev.texts))), args.n_dev, 1)
    texts, g = [dev.texts[i] for i in idx], [gold[i] for i in idx]
    embed_cached(texts)  # vectors through the on-disk cache, then the checks read them from memory
    reviews = D.waimai(DATA)
    harsh = sample([t for t, y in zip(reviews.texts, reviews.labels) if y == 0 and D.half(t) == "B"], args.n_reviews, 2)
    out["waimai_negative_B_char_all"] = rate(list(heads.char(
        [t for t, y in zip(reviews.texts, reviews.labels) if y == 0 and D.half(t) == "B"]) >= 0.5))
    seeds = D.seeds()["moderation"]["test"]
    for deep in ("never", "auto", "always"):
        m = Moderation(deep=deep)
        _warm(m, texts + harsh)
        pred = [m.check(t).flagged for t in texts]
        out[f"cold_dev_sample_{deep}"] = prf(pred, g)
        out[f"waimai_negative_B_{deep}"] = rate([m.check(t).flagged for t in harsh])
        per = {}
        for cat, items in seeds.items():
            if cat == "safe":
                per["safe_flagged"] = rate([m.check(t).flagged for t in items])
            else:
                per[cat] = round(sum(m.check(t).categories.get(cat, False) for t in items) / len(items), 4)
        out[f"seed_test_recall_{deep}"] = per
    return out


def _warm(check, texts) -> None:
    from lingxi.guard.embed import _recent, embed_cached, key

    for t, v in zip(texts, embed_cached(texts)):
        _recent[key(t[:1000])] = v


def injection(args) -> dict:
    fresh = json.loads((ROOT / "bench" / "guard_fresh.json").read_text("utf-8"))
    seeds = D.seeds()["injection"]["test"]
    qs = [q for w in ("cmrc", "xquad-zh", "xquad-en") for q in D.questions(DATA, w) if D.half(q) == "B"]
    benign_q = sample(qs, args.n_benign, 3)
    reviews = sample([t for t in D.waimai(DATA).texts if D.half(t) == "B"], args.n_benign, 4)
    sets = {"giskard_en": D.giskard(DATA), "seed_test_zh_attacks": seeds["attack"], "fresh_attacks": fresh["attack"],
            "benign_questions": benign_q, "waimai_reviews": reviews,
            "lookalikes": seeds["lookalike"] + fresh["lookalike"]}
    attacks = {"giskard_en", "seed_test_zh_attacks", "fresh_attacks"}
    out: dict = {"note": "heuristics were revised after reading giskard and the seed test attacks; the fresh set was "
                         "written afterwards and never used to tune anything"}
    for deep in ("never", "auto", "always"):
        check = Injection(deep=deep)
        _warm(check, [t for s in sets.values() for t in s])
        out[deep] = {name: _inj_rate([check.check(t).flagged for t in items], name in attacks)
                     for name, items in sets.items()}
    if args.nanoguard:
        try:
            ng = NanoGuardCheck()
            times = []
            res = {}
            for name, items in sets.items():
                flags = []
                for t in items:
                    v = ng.check(t)
                    times.append(v.seconds)
                    flags.append(v.flagged)
                res[name] = _inj_rate(flags, name in attacks)
            res["p50_ms"] = round(statistics.median(times) * 1000, 1)
            out["nanoguard"] = res
        except Exception as exc:  # noqa: BLE001 - an optional extra
            out["nanoguard"] = {"skipped": str(exc)}
    return out


def _inj_rate(flags: list[bool], attack: bool) -> dict:
    r = rate(flags)
    return {"n": r["n"], ("recall" if attack else "false_positive_rate"): r["rate"]}


def pii(args) -> dict:
    from lingxi.guard.pii import PII

    rng = random.Random(5)
    items = [_pii_item(rng, valid=i % 2 == 0) for i in range(args.n_pii)]
    check = PII()
    stats: dict[str, dict[str, int]] = {}
    for text, truth in items:
        found = {(s.label, text[s.start:s.end]) for s in check.spans(text)}
        for label, value in truth:
            st = stats.setdefault(label, {"tp": 0, "fp": 0, "fn": 0})
            st["tp" if any(lab == label and value in v for lab, v in found) else "fn"] += 1
        for label, v in found:
            if not any(lab == label and val in v for lab, val in truth):
                stats.setdefault(label, {"tp": 0, "fp": 0, "fn": 0})["fp"] += 1
    out = {}
    for label, st in sorted(stats.items()):
        p = st["tp"] / (st["tp"] + st["fp"]) if st["tp"] + st["fp"] else 0.0
        r = st["tp"] / (st["tp"] + st["fn"]) if st["tp"] + st["fn"] else 0.0
        out[label] = {**st, "precision": round(p, 4), "recall": round(r, 4)}
    return {"n_texts": len(items), "per_type": out, "note": "half the texts carry ID and card numbers with a wrong "
                                                           "check digit: those must not be found (they count as fp)"}


_SURNAMES, _GIVEN = "王李张刘陈杨赵黄周吴", ["伟", "芳", "娜", "敏", "静", "秀英", "建国", "小明", "丽", "强"]
_CITIES = ["北京市朝阳区建国路88号", "上海市浦东新区张江路100号", "广州市天河区体育西路12号", "深圳市南山区科技园路3号"]
_EN_NAMES = ["John Smith", "Mary Johnson", "David Brown", "Sarah Miller"]


def _id(rng, valid: bool) -> str:
    body = f"{rng.choice(['110105', '310115', '440106'])}{rng.randint(1960, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
    w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * k for c, k in zip(body, w)) % 11]
    if not valid:
        check = "10X98765432"[("10X98765432".index(check) + 3) % 11]
    return body + check


def _card(rng, valid: bool) -> str:
    body = "622202" + "".join(str(rng.randint(0, 9)) for _ in range(12))
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    digit = (10 - total % 10) % 10
    return body + str(digit if valid else (digit + 1) % 10)


def _pii_item(rng, valid: bool) -> tuple[str, list[tuple[str, str]]]:
    name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
    idn, card = _id(rng, valid), _card(rng, valid)
    phone = f"1{rng.choice('3589')}{rng.randint(100000000, 999999999)}"
    email = f"user{rng.randint(1, 999)}@example.com"
    addr = rng.choice(_CITIES)
    en = rng.choice(_EN_NAMES)
    text = (f"姓名：{name}，身份证号{idn}，手机{phone}，银行卡{card}，邮箱{email}，收货地址：{addr}。"
            f" Contact {en} at {en.split()[0].lower()}@mail.example.org.")
    truth = [("PERSON", name), ("PHONE", phone), ("EMAIL", email), ("ADDRESS", addr), ("PERSON", en),
             ("EMAIL", f"{en.split()[0].lower()}@mail.example.org")]
    if valid:
        truth += [("ID_CARD", idn), ("BANK_CARD", card)]
    return text, truth


def latency(args) -> dict:
    from lingxi.guard.pii import PII
    from lingxi.guard.screen import screen

    prompts = sample([q for q in D.questions(DATA, "cmrc") if D.half(q) == "B"], args.n_latency, 7)
    prompts += sample([q for q in D.questions(DATA, "xquad-en") if D.half(q) == "B"], args.n_latency // 2, 8)
    settings = load_settings()
    out = {}
    for name, check in (("moderation", Moderation()), ("injection", Injection()), ("pii", PII())):
        check.check("warm up 你好")
        out[name] = _timed(lambda t, c=check: c.check(t), prompts)
    default = settings.guard.resolve("default")
    out["default_input_policy"] = _timed(lambda t: screen(t, "input", settings, default), prompts, fresh=True)
    out["e5_one_short_text"] = _timed(lambda t: Moderation(deep="always").check(t + " "), prompts[:20])
    out.update(round_trips(args))
    return out


def _timed(fn, texts, fresh: bool = False) -> dict:
    from lingxi.guard import embed as E
    from lingxi.guard import screen as S

    times = []
    for t in texts:
        E._recent.clear()  # no e5 vector from an earlier part: each text is embedded when a check asks
        if fresh:
            S._verdicts.clear()
        t0 = time.perf_counter()
        fn(t)
        times.append(time.perf_counter() - t0)
    times.sort()
    return {"n": len(times), "p50_ms": round(statistics.median(times) * 1000, 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 2)}


def round_trips(args) -> dict:
    """The whole default policy's added latency on `ask` (extractive: no LLM) and a server round trip."""
    import tempfile

    import httpx

    from lingxi.guard import embed as E
    from lingxi.guard import screen as S
    from lingxi.models.scripted import ScriptedChat

    out = {}
    with tempfile.TemporaryDirectory() as home:
        os.environ["LINGXI_HOME"] = home
        from lingxi.knowledge import KnowledgeBase
        from lingxi.rag import ask

        docs = Path(home) / "docs"
        docs.mkdir()
        (docs / "a.md").write_text("# Serving\n\nThe command lingxi serve starts a server on port 8700.\n", "utf-8")
        kb = KnowledgeBase.create("bench", settings=load_settings(home=home))
        kb.ingest(docs)
        qs = ["Which port does lingxi serve use?", "lingxi serve 用哪个端口？"] * (args.n_rounds // 2)
        for profile in ("off", "default"):
            os.environ["LINGXI_GUARD__PROFILE"] = profile
            ask(qs[0], kb=kb, mode="extractive")
            times = []
            for q in qs:
                S._verdicts.clear()
                E._recent.clear()
                t0 = time.perf_counter()
                ask(q, kb=kb, mode="extractive")
                times.append(time.perf_counter() - t0)
            out[f"ask_extractive_{profile}_p50_ms"] = round(statistics.median(times) * 1000, 2)
        out["ask_added_p50_ms"] = round(out["ask_extractive_default_p50_ms"] - out["ask_extractive_off_p50_ms"], 2)
        os.environ.pop("LINGXI_GUARD__PROFILE", None)
        sys.path.insert(0, str(ROOT / "tests" / "guard"))
        from guard_helpers import LiveServer

        from lingxi.config import Settings
        from lingxi.serve import create_app, serve_settings

        settings = Settings(home=home, guard={"keys": {}})
        for profile in ("off", "default"):
            s = settings.model_copy(update={"guard": settings.guard.model_copy(update={"profile": profile})})
            app = create_app(s, serve_settings(no_auth=True, rate_limit=0, trace=False),
                             models={"fake": ScriptedChat(default="The port is 8700.")})
            with LiveServer(app) as live, httpx.Client(base_url=live.url) as c:
                body = {"model": "fake", "messages": [{"role": "user", "content": "lingxi serve 用哪个端口？"}]}
                c.post("/v1/chat/completions", json=body)
                times = []
                for i in range(args.n_rounds):
                    S._verdicts.clear()
                    E._recent.clear()
                    body["messages"][0]["content"] = f"lingxi serve 用哪个端口？第{i}次"
                    t0 = time.perf_counter()
                    c.post("/v1/chat/completions", json=body).raise_for_status()
                    times.append(time.perf_counter() - t0)
            out[f"server_{profile}_p50_ms"] = round(statistics.median(times) * 1000, 2)
        out["server_added_p50_ms"] = round(out["server_default_p50_ms"] - out["server_off_p50_ms"], 2)
    return out


def markdown(res: dict) -> str:
    m, inj, lat = res.get("moderation", {}), res.get("injection", {}), res.get("latency", {})
    lines = [f"# Guard benchmark ({res['when']}, load {res['load']})", ""]
    if m:
        lines += ["## Moderation", "", "| set | mode | n | accuracy | precision | recall | macro-F1 |", "|---|---|---|---|---|---|---|"]
        c = m["cold_dev_char_all"]
        lines.append(f"| COLD dev (all) | char model | {c['n']} | {c['accuracy']} | {c['precision']} | {c['recall']} | {c['macro_f1']} |")
        for deep in ("never", "auto", "always"):
            c = m[f"cold_dev_sample_{deep}"]
            lines.append(f"| COLD dev (sample) | {deep} | {c['n']} | {c['accuracy']} | {c['precision']} | {c['recall']} | {c['macro_f1']} |")
        lines += ["", "| false positives | mode | n | flagged | rate |", "|---|---|---|---|---|"]
        c = m["waimai_negative_B_char_all"]
        lines.append(f"| waimai negative reviews (B) | char model | {c['n']} | {c['flagged']} | {c['rate']} |")
        for deep in ("never", "auto", "always"):
            c = m[f"waimai_negative_B_{deep}"]
            lines.append(f"| waimai negative reviews (B, sample) | {deep} | {c['n']} | {c['flagged']} | {c['rate']} |")
        cats = [k for k in m["seed_test_recall_auto"] if k != "safe_flagged"]
        lines += ["", "| seed test recall | " + " | ".join(cats) + " | safe flagged |", "|---" * (len(cats) + 2) + "|"]
        for deep in ("never", "auto", "always"):
            r = m[f"seed_test_recall_{deep}"]
            lines.append(f"| {deep} | " + " | ".join(str(r[c]) for c in cats) + f" | {r['safe_flagged']['rate']} |")
    if inj:
        names = list(inj["auto"])
        lines += ["", "## Prompt injection", "", inj["note"], "", "| mode | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for deep in ("never", "auto", "always", "nanoguard"):
            if deep in inj and "skipped" not in inj[deep]:
                row = inj[deep]
                lines.append(f"| {deep} | " + " | ".join(
                    f"{'R' if 'recall' in row[n] else 'FP'} {row[n].get('recall', row[n].get('false_positive_rate'))}"
                    for n in names) + " |")
    if "pii" in res:
        lines += ["", "## PII (generated)", "", "| type | tp | fp | fn | precision | recall |", "|---|---|---|---|---|---|"]
        for label, st in res["pii"]["per_type"].items():
            lines.append(f"| {label} | {st['tp']} | {st['fp']} | {st['fn']} | {st['precision']} | {st['recall']} |")
    if lat:
        lines += ["", "## Latency (ms)", "", "| what | p50 | p95 |", "|---|---|---|"]
        for k, v in lat.items():
            if isinstance(v, dict):
                lines.append(f"| {k} | {v['p50_ms']} | {v['p95_ms']} |")
        lines += [""] + [f"- {k}: {v}" for k, v in lat.items() if not isinstance(v, dict)]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="moderation,injection,pii,latency")
    ap.add_argument("--n-dev", type=int, default=800)
    ap.add_argument("--n-reviews", type=int, default=400)
    ap.add_argument("--n-benign", type=int, default=300)
    ap.add_argument("--n-pii", type=int, default=200)
    ap.add_argument("--n-latency", type=int, default=100)
    ap.add_argument("--n-rounds", type=int, default=40)
    ap.add_argument("--nanoguard", action=argparse.BooleanOptionalAction, default=True)
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"skipped: the shared data folder {DATA} is absent")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "guard.json"
    res = json.loads(path.read_text("utf-8")) if path.is_file() else {}
    res.update({"when": time.strftime("%Y-%m-%d %H:%M"), "load": round(os.getloadavg()[0], 1),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs"})
    for part in args.parts.split(","):
        t0 = time.time()
        res[part] = globals()[part](args)
        print(part, f"{time.time() - t0:.0f}s", json.dumps(res[part], ensure_ascii=False)[:400], flush=True)
        path.write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (OUT / "guard.md").write_text(markdown(res), "utf-8")


if __name__ == "__main__":
    main()
