// The citation panel: a footnote opens the quoted passage in its context (the whole chunk, the
// quote marked), with its file, page and headings, and a button that opens the file itself
// (a PDF at that page, text as text, anything else as a download). All text goes in as text.

import {call, describe, json} from "./api.js";
import {icon} from "./icons.js";
import {t} from "./i18n.js";

const panel = () => document.getElementById("passage");
const TEXT_FILES = /\.(md|markdown|txt|text|rst|csv|tsv|json|jsonl|ya?ml|toml|ini|log|py|js|ts|html?|xml|tex|c|h|cpp|java|go|rs|sh)$/i;
let opened = null; // the citation now shown

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The text with `quote` wrapped in <mark> (whitespace-insensitive), as DOM nodes. */
export function marked(text, quote) {
  const out = document.createDocumentFragment();
  const words = (quote || "").trim().split(/\s+/).filter(Boolean).map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const m = words.length ? new RegExp(words.join("\\s+")).exec(text) : null;
  if (!m) {
    out.append(text);
    return out;
  }
  out.append(text.slice(0, m.index), el("mark", "quote", m[0]), text.slice(m.index + m[0].length));
  return out;
}

export function closePassage() {
  panel().hidden = true;
  document.body.classList.remove("passage-open");
  opened = null;
}

export function isOpen() { return !panel().hidden; }

/** Show citation `cite` ({n, chunk_id, source, quote}) of knowledge base `kb`. */
export async function openPassage(kb, cite) {
  opened = cite;
  const box = panel();
  box.hidden = false;
  document.body.classList.add("passage-open");
  const body = box.querySelector(".passage-body");
  const file = cite.source.split(/[\\/]/).pop();
  box.querySelector(".passage-title").textContent = `[${cite.n}] ${file}`;
  body.replaceChildren(el("p", "muted", cite.source), el("blockquote", "quote-only", cite.quote));
  box.querySelector(".passage-close").focus();
  let found;
  try {
    found = await json(`/api/kb/${encodeURIComponent(kb)}/passages/${encodeURIComponent(cite.chunk_id)}?quote=${
      encodeURIComponent(cite.quote.slice(0, 1500))}`);
  } catch (error) {
    if (opened === cite) body.append(el("p", "error-text", t("passageMissing", {error: describe(error)})));
    return;
  }
  if (opened !== cite) return;
  const where = el("div", "passage-where");
  where.append(el("span", "passage-file", found.source));
  if (found.page != null) where.append(el("span", "badge passage-page", t("page", {n: found.page})));
  if (found.headings.length) where.append(el("span", "passage-headings", found.headings.join(" › ")));
  const text = el("div", "passage-text");
  text.append(marked(found.text, cite.quote));
  const open = el("button", "btn open-file");
  open.type = "button";
  open.append(icon("external-link", 16), el("span", "", t("openFile")));
  open.onclick = () => openFile(kb, found);
  body.replaceChildren(where, text, open);
  text.querySelector("mark")?.scrollIntoView({block: "center"});
}

async function openFile(kb, found) {
  const response = await call(`/api/kb/${encodeURIComponent(kb)}/file?source=${encodeURIComponent(found.source)}`);
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    panel().querySelector(".passage-body").append(el("p", "error-text", body.error?.message || response.statusText));
    return;
  }
  const bytes = await response.arrayBuffer();
  // the page chooses the type: a PDF opens in the viewer, text as plain text (an HTML file never runs)
  const pdf = /\.pdf$/i.test(found.file);
  const type = pdf ? "application/pdf" : TEXT_FILES.test(found.file) ? "text/plain;charset=utf-8" : null;
  const url = URL.createObjectURL(new Blob([bytes], {type: type || "application/octet-stream"}));
  if (type) {
    window.open(url + (pdf && found.page != null ? `#page=${found.page}` : ""), "_blank", "noopener");
  } else {
    const a = el("a");
    a.href = url;
    a.download = found.file;
    a.click();
  }
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
