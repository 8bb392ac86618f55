// Markdown to safe DOM: marked (GFM) with KaTeX math ($…$, $$…$$, \(…\), \[…\]) and highlight.js
// code, then DOMPurify. Raw HTML in an answer is shown as text, never parsed; DOMPurify then
// removes whatever else could run (javascript: links, event attributes). Code blocks get a
// header with their language and a copy button; citation marks [n] become footnote buttons.

import {icon} from "./icons.js";
import {t} from "./i18n.js";

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
  '"': "&quot;", "'": "&#39;"})[c]);
const KATEX = {throwOnError: false, output: "htmlAndMathml", trust: false, strict: "ignore"};

const bracketMath = {
  name: "bracketMath", level: "inline",
  start(src) { const i = src.search(/\\[([]/); return i < 0 ? undefined : i; },
  tokenizer(src) {
    const m = /^\\\(([\s\S]+?)\\\)/.exec(src) || /^\\\[([\s\S]+?)\\\]/.exec(src);
    if (m) return {type: "bracketMath", raw: m[0], text: m[1].trim(), displayMode: m[0].startsWith("\\[")};
  },
  renderer(token) { return katex.renderToString(token.text, {...KATEX, displayMode: token.displayMode}); },
};

const citeMark = {  // [1], [1, 2], 【1】 in a knowledge-base answer
  name: "citeMark", level: "inline",
  start(src) { const i = src.search(/[[【]\d/); return i < 0 ? undefined : i; },
  tokenizer(src) {
    const m = /^[[【](\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)[\]】](?!\()/.exec(src);
    if (m) return {type: "citeMark", raw: m[0], numbers: m[1].split(/\s*[,，、]\s*/)};
  },
  renderer(token) {
    return token.numbers.map((n) => `<sup class="cite"><a class="cite-ref" href="#" role="button" data-n="${
      Number(n)}">${Number(n)}</a></sup>`).join("");
  },
};

function code({text, lang}) {
  const name = (lang || "").trim().split(/\s+/)[0].toLowerCase();
  let html;
  if (name && hljs.getLanguage(name)) html = hljs.highlight(text, {language: name, ignoreIllegals: true}).value;
  else if (!name && text.length < 20000) html = hljs.highlightAuto(text).value;
  else html = escapeHtml(text);
  return `<pre><code class="hljs" data-lang="${escapeHtml(name)}">${html}</code></pre>\n`;
}

function parser(cited) {
  const md = new marked.Marked({gfm: true, breaks: false});
  md.use(markedKatex({...KATEX, nonStandard: false}));
  md.use({extensions: cited ? [bracketMath, citeMark] : [bracketMath], renderer: {
    code,
    html: ({text}) => escapeHtml(text), // raw HTML is text
  }});
  return md;
}

const PARSERS = {};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href") && !node.classList.contains("cite-ref")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

/** `text` (Markdown) as a sanitised fragment; `cited` turns [n] marks into footnote buttons. */
export function markdown(text, {cited = false} = {}) {
  const md = PARSERS[cited] ??= parser(cited);
  const html = md.parse(text);
  const fragment = DOMPurify.sanitize(html, {RETURN_DOM_FRAGMENT: true, SANITIZE_NAMED_PROPS: true,
    FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select", "iframe", "object", "embed"]});
  for (const pre of fragment.querySelectorAll("pre")) decorateCode(pre);
  for (const img of fragment.querySelectorAll("img:not([src])")) img.replaceWith(img.alt || "");  // its src was unsafe
  for (const table of fragment.querySelectorAll("table")) {
    const wrap = document.createElement("div");
    wrap.className = "table-wrap";
    table.replaceWith(wrap);
    wrap.appendChild(table);
  }
  return fragment;
}

function decorateCode(pre) {
  const codeEl = pre.querySelector("code");
  const box = document.createElement("div");
  box.className = "code-block";
  const head = document.createElement("div");
  head.className = "code-head";
  const lang = document.createElement("span");
  lang.textContent = codeEl?.dataset.lang || "";
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "copy-code";
  copy.append(icon("copy", 14), document.createElement("span"));
  copy.lastChild.dataset.i18n = "copyCode";
  copy.lastChild.textContent = t("copyCode");
  head.append(lang, copy);
  pre.replaceWith(box);
  box.append(head, pre);
}

/** Copy text to the clipboard (the async API where allowed, a hidden textarea otherwise). */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  }
}

/** Show "copied" on a button for a moment. */
export function flashCopied(button) {
  const label = button.querySelector("span");
  button.classList.add("done");
  button.replaceChild(icon("check", 14), button.querySelector("svg"));
  if (label) label.textContent = t("copied");
  setTimeout(() => {
    button.classList.remove("done");
    button.replaceChild(icon("copy", 14), button.querySelector("svg"));
    if (label) label.textContent = t(label.dataset.i18n || "copy");
  }, 1500);
}

/** The answer without the markdown footnotes a knowledge-base model appends ("\n\n[1]: …"). */
export function stripFootnotes(text) {
  const cut = text.search(/\n\n\[\d+\]: /);
  return cut >= 0 ? text.slice(0, cut) : text;
}
