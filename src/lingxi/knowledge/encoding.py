"""Turn the bytes of a text file into str, guessing the encoding when it is not UTF-8.

Chinese files are often GBK/GB18030 or Big5; charset-normalizer guesses, and we
widen its GB2312/GBK answers to GB18030 (a superset) so rare characters decode.
"""

from __future__ import annotations

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
    """Return (text, encoding name). Raises LoadError for binary or undecodable data."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:8192]:
        raise LoadError(f"{where} looks like a binary file, not text.", "exclude it with --exclude or convert it to text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    for name in _guesses(data):
        try:
            return data.decode(name), name
        except (UnicodeDecodeError, LookupError):
            continue
    raise LoadError(
        f"Could not work out the text encoding of {where}.",
        "save it as UTF-8 (e.g. iconv -f GBK -t UTF-8) and ingest again",
    )


def _guesses(data: bytes) -> list[str]:
    from charset_normalizer import from_bytes

    names: list[str] = []
    for match in from_bytes(data[:200_000]):
        name = _WIDER.get(match.encoding.lower().replace("-", "").replace("_", ""), match.encoding)
        if name not in names:
            names.append(name)
        if len(names) >= 3:
            break
    # the usual suspects for Chinese text, strictest first
    for name in ("gb18030", "big5hkscs"):
        if name not in names:
            names.append(name)
    return names
