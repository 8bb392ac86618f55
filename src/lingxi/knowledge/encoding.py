"""Turn the bytes of a text file into str, guessing the encoding when it is not UTF-8.

Chinese files are often GBK/GB18030 or Big5; charset-normalizer guesses, and we
widen its GB2312/GBK answers to GB18030 (a superset) so rare characters decode.
"""

from __future__ import annotations

import re

from lingxi.errors import ConfigError, LingxiError

_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030", "big5": "big5hkscs"}


def missing_core(package: str) -> ConfigError:
    """A package lingxi itself depends on is missing: the installation is broken."""
    return ConfigError(
        f"The package '{package}' is not installed, but lingxi needs it for knowledge bases.",
        f"reinstall lingxi (pip install --force-reinstall lingxi) or: pip install {package}",
    )


class LoadError(LingxiError):
    """One file could not be read; the ingest reports it and goes on with the others."""


def decode_bytes(data: bytes, where: str = "the file") -> tuple[str, str]:
    """Return (text, encoding name). Raises LoadError for binary or undecodable data.

    The order prefers a decoding that round-trips and reads as the language it claims:
    UTF-8 (strict, then with a few bad bytes replaced), GB18030 / Big5 only when the result
    reads as Chinese (not Latin letters with an ideograph wedged into a word: "naïve" in
    Latin-1 is b"na\\xefve", which GBK reads as "na遥e"), then a single-byte code page:
    cp1252 (Latin-1's superset) for Western text, charset-normalizer's pick when most
    letters are non-ASCII (Cyrillic, Greek, ...), Latin-1 as the last resort.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return data.decode("utf-32", errors="replace"), "utf-32"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace"), "utf-16"
    if b"\x00" in data[:8192]:
        raise LoadError(f"{where} looks like a binary file, not text.", "exclude it with --exclude or convert it to text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    high = sum(1 for b in data if b >= 0x80)
    if bad * 50 <= high:  # UTF-8 with a stray bad byte or two (a cut file): keep UTF-8
        return text, f"utf-8 ({bad} invalid byte{'s' if bad != 1 else ''} replaced)"
    guesses = _guesses(data)
    for name in [g for g in guesses if g in _CJK_CODECS] + [c for c in ("gb18030", "big5hkscs") if c not in guesses]:
        decoded = _strict(data, name)
        if decoded is not None and _reads_as_cjk(decoded):
            return decoded, name
    return _single_byte(data, guesses)


_CJK_CODECS = {"gb18030", "big5hkscs", "big5", "cp950", "shift_jis", "cp932", "euc_jp", "euc_kr", "cp949", "iso2022_jp"}
_CJK_CHAR = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_WEDGED = re.compile(r"[A-Za-z][\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff][A-Za-z]")


def _strict(data: bytes, name: str) -> str | None:
    try:
        return data.decode(name)
    except (UnicodeDecodeError, LookupError):
        return None


def _reads_as_cjk(text: str) -> bool:
    """Chinese/Japanese/Korean text: its non-ASCII characters are CJK, and they do not sit
    inside Latin words (the sign of Western bytes read as double-byte characters)."""
    wide = [ch for ch in text if ord(ch) >= 0x80]
    if not wide:
        return False
    cjk = sum(1 for ch in wide if _CJK_CHAR.match(ch))
    return cjk >= 0.9 * len(wide) and len(_WEDGED.findall(text)) * 10 < cjk


def _single_byte(data: bytes, guesses: list[str]) -> tuple[str, str]:
    western = _strict(data, "cp1252")
    if western is not None:
        letters = [ch for ch in western if ch.isalpha()]
        accented = sum(1 for ch in letters if ord(ch) >= 0x80)
        if accented * 3 <= len(letters):  # Western text: most letters are plain ASCII
            return western, "cp1252"
    for name in guesses:  # most letters are non-ASCII: another alphabet; the detector knows which
        if name in _CJK_CODECS:
            continue
        decoded = _strict(data, name)
        if decoded is not None:
            return decoded, name
    if western is not None:
        return western, "cp1252"
    return data.decode("latin-1"), "latin-1"  # every byte is a character: always round-trips


def _guesses(data: bytes) -> list[str]:
    try:
        from charset_normalizer import from_bytes
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise missing_core("charset-normalizer") from exc
    names: list[str] = []
    for match in from_bytes(data[:200_000]):
        name = _WIDER.get(match.encoding.lower().replace("-", "").replace("_", ""), match.encoding)
        if name not in names:
            names.append(name)
        if len(names) >= 3:
            break
    return names
