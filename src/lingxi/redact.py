"""Keeping credentials out of what lingxi shows, logs, traces and exports.

A base URL may carry a password (``http://svc:PASSWORD@host/v1``) or a key in its query
(``?api_key=…``, ``&token=…``); a DSN may carry ``password=…``. Every URL or text that
leaves the process (error messages, API responses, trace rows, ``--json`` output,
``/readyz``, ``/metrics``) goes through `redact`.

    redact("http://bot:hunter2@10.0.0.5/v1?api_key=sk-1")  ->  "http://bot:***@10.0.0.5/v1?api_key=***"
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s:/@?#]*):(?P<pw>[^\s@/?#]*)@")
_TOKEN_ONLY = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<tok>[^\s:/@?#]{16,})@")
_QUERY = re.compile(r"(?P<key>[?&;](?:api[-_]?key|access[-_]?token|token|key|secret|password|passwd|sig|signature)=)"
                    r"(?P<val>[^&#\s]+)", re.I)
_DSN_PW = re.compile(r"(?P<key>\bpassword\s*=\s*)(?P<val>'[^']*'|\S+)", re.I)
_BEARER = re.compile(r"(?P<key>\b(?:Bearer|sk-|lx-))(?P<val>[A-Za-z0-9_\-]{12,})")


def redact(text: str | None) -> str:
    """`text` with every password, token or key it carries replaced by ***."""
    if not text:
        return text or ""
    out = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    out = _TOKEN_ONLY.sub(lambda m: f"{m['scheme']}***@", out)
    out = _QUERY.sub(lambda m: f"{m['key']}***", out)
    out = _DSN_PW.sub(lambda m: f"{m['key']}***", out)
    return _BEARER.sub(lambda m: f"{m['key']}***", out)
