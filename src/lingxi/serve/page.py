"""The chat page at `/`: one self-contained HTML file (no CDN, works offline), and the
feedback route it posts thumbs up/down to."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lingxi.guard.hooks import scrub_feedback
from lingxi.serve.errors import ApiError, validation_error
from lingxi.serve.state import Caller, read_json

router = APIRouter()


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1)
    messages: list[dict[str, Any]]
    answer: str
    rating: int = Field(ge=-1, le=1)
    comment: str | None = None


def _caller(request: Request) -> Caller:
    return request.app.state.lingxi.authenticate(request)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
                                       "style-src 'unsafe-inline'"})


@router.post("/api/feedback")
async def feedback(request: Request, who: Caller = Depends(_caller)) -> dict[str, Any]:
    srv = request.app.state.lingxi
    try:
        fb = Feedback.model_validate(await read_json(request, srv.serve.max_body_bytes))
    except ValidationError as exc:
        raise validation_error(exc.errors()) from exc
    if fb.rating == 0:
        raise ApiError(400, "rating must be 1 (thumbs up) or -1 (thumbs down).", param="rating", code="invalid_value")
    messages, answer, comment = scrub_feedback(fb.messages, fb.answer, fb.comment, srv.settings)  # PII per the policy
    cur = srv.execute(
        "INSERT INTO feedback (ts, model, messages, answer, rating, comment, key_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (time.time(), fb.model, messages, answer, fb.rating, comment, who.key.id if who.key else None))
    return {"id": cur.lastrowid, "saved": True}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>灵犀 lingxi</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:0 auto;padding:1rem;color:#222}
header{display:flex;gap:.6rem;flex-wrap:wrap;align-items:center;margin-bottom:.8rem}
header label{font-size:13px;color:#555}
#log .msg{padding:.6rem .8rem;border-radius:8px;margin:.5rem 0;white-space:pre-wrap}
.user{background:#eef3ff}.assistant{background:#f6f6f6}.error{background:#fee;color:#900}
.fb button{border:0;background:none;cursor:pointer;font-size:16px}.fb .on{outline:2px solid #888;border-radius:4px}
.cites{margin:-.2rem 0 .5rem .8rem;font-size:13px;color:#444}.cites .cite{margin:.3rem 0}
.cites .src{font-weight:600}.cites blockquote{margin:.15rem 0 0 .8rem;padding-left:.5rem;border-left:3px solid #ccc;color:#555}
form{display:flex;gap:.5rem}textarea{flex:1;min-height:3.2em;font:inherit}
</style></head><body>
<header><strong>灵犀 lingxi</strong>
<label>model <select id="model"></select></label>
<label>knowledge base <select id="kb"><option value="">none</option></select></label>
<label>temperature <input id="temperature" type="number" min="0" max="2" step="0.1" value="0.7" style="width:4em"></label>
<label>max tokens <input id="max_tokens" type="number" min="1" value="256" style="width:5em"></label>
<label>API key <input id="key" type="password" placeholder="lx-… (blank with --no-auth)" size="14"></label>
</header>
<div id="log"></div>
<form id="ask"><textarea id="q" placeholder="Ask something… (Enter sends, Shift+Enter for a new line)"></textarea>
<button id="send">Send</button></form>
<script>
const $ = (id) => document.getElementById(id);
const history = [];
$("key").value = localStorage.getItem("lingxi-key") || "";
$("key").onchange = () => { localStorage.setItem("lingxi-key", $("key").value); loadModels(); };
const headers = () => ({"Content-Type": "application/json",
  ...($("key").value ? {"Authorization": "Bearer " + $("key").value} : {})});
function add(role, text) {
  const div = document.createElement("div"); div.className = "msg " + role; div.textContent = text;
  $("log").appendChild(div); return div;
}
async function loadModels() {
  const r = await fetch("/v1/models", {headers: headers()});
  const body = await r.json();
  if (!r.ok) { add("error", body.error.message); return; }
  $("model").innerHTML = ""; $("kb").innerHTML = '<option value="">none</option>';
  for (const m of body.data) {
    if (m.owned_by === "lingxi/embedding") continue;
    const kb = m.id.startsWith("kb:"), o = document.createElement("option");
    o.textContent = kb ? m.id.slice(3) : m.id; o.value = kb ? m.id.slice(3) : m.id;
    $(kb ? "kb" : "model").appendChild(o);
  }
}
function showCitations(div, cites) {
  // the citations under the answer: source and quoted passage (the footnotes in the text are dropped)
  const first = div.textContent.indexOf("\\n\\n[" + cites[0].n + "]: ");
  if (first >= 0) div.textContent = div.textContent.slice(0, first);
  const box = document.createElement("div"); box.className = "cites";
  for (const c of cites) {
    const row = document.createElement("div"); row.className = "cite";
    const src = document.createElement("span"); src.className = "src"; src.textContent = "[" + c.n + "] " + c.source;
    const q = document.createElement("blockquote"); q.textContent = c.quote;
    row.append(src, q); box.appendChild(row);
  }
  div.after(box); return box;
}
function feedbackButtons(div, model, messages, answer) {
  const bar = document.createElement("div"); bar.className = "fb";
  for (const [label, rating] of [["👍", 1], ["👎", -1]]) {
    const b = document.createElement("button"); b.type = "button"; b.textContent = label;
    b.dataset.rating = rating;
    b.onclick = async () => {
      const r = await fetch("/api/feedback", {method: "POST", headers: headers(),
        body: JSON.stringify({model, messages, answer, rating})});
      if (r.ok) { bar.querySelectorAll("button").forEach(x => x.classList.remove("on")); b.classList.add("on"); }
    };
    bar.appendChild(b);
  }
  (div.nextElementSibling && div.nextElementSibling.className === "cites" ? div.nextElementSibling : div).after(bar);
}
async function send(ev) {
  ev.preventDefault();
  const text = $("q").value.trim(); if (!text) return;
  $("q").value = ""; add("user", text); history.push({role: "user", content: text});
  const model = $("kb").value ? "kb:" + $("kb").value + "@" + $("model").value : $("model").value;
  const out = add("assistant", ""), asked = history.slice(); let cites = null;
  $("send").disabled = true;
  try {
    const r = await fetch("/v1/chat/completions", {method: "POST", headers: headers(), body: JSON.stringify({
      model, messages: asked, stream: true, temperature: +$("temperature").value, max_tokens: +$("max_tokens").value})});
    if (!r.ok) { const e = await r.json(); out.className = "msg error"; out.textContent = e.error.message; history.pop(); return; }
    const reader = r.body.getReader(), dec = new TextDecoder(); let buf = "";
    for (;;) {
      const {value, done} = await reader.read(); if (done) break;
      buf += dec.decode(value, {stream: true});
      let cut; while ((cut = buf.indexOf("\\n\\n")) >= 0) {
        const line = buf.slice(0, cut).trim(); buf = buf.slice(cut + 2);
        if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
        const chunk = JSON.parse(line.slice(6));
        if (chunk.error) { out.className = "msg error"; out.textContent += "\\n" + chunk.error.message; continue; }
        for (const c of chunk.choices) if (c.delta.content) out.textContent += c.delta.content;
        if (chunk.citations) cites = chunk.citations;
      }
    }
    if (cites && cites.length) showCitations(out, cites);
    history.push({role: "assistant", content: out.textContent});
    feedbackButtons(out, model, asked, out.textContent);
  } finally { $("send").disabled = false; }
}
$("ask").onsubmit = send;
$("q").onkeydown = (e) => { if (e.key === "Enter" && !e.shiftKey) send(e); };
loadModels();
</script></body></html>
"""
