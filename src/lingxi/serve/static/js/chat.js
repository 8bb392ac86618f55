// One conversation on screen: its messages, sending and streaming an answer (with a stop
// button), saving both turns to the conversation, feedback, copy, and citation footnotes.

import {describe, json, streamChat} from "./api.js";
import {icon} from "./icons.js";
import {t} from "./i18n.js";
import {openPassage} from "./passage.js";
import {copyText, flashCopied, markdown, stripFootnotes} from "./render.js";
import {readAloud} from "./voice.js";

// `shown` counts what was put on screen: a reply for a conversation no longer shown changes nothing there
export const state = {session: null, messages: [], running: null, defaults: {model: "", kb: ""}, shown: 0};
const views = new WeakMap(); // <article> -> its message
const $ = (id) => document.getElementById(id);
let onChange = () => {};

/** Call `fn` whenever the conversation was created, renamed by its first message, or saved to. */
export function whenSaved(fn) { onChange = fn; }

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function iconButton(name, cls, label) {
  const b = el("button", `icon-btn ${cls}`);
  b.type = "button";
  b.dataset.i18nTitle = label;
  b.title = t(label);
  b.setAttribute("aria-label", b.title);
  b.append(icon(name, 16));
  return b;
}

// -- painting ----------------------------------------------------------------------------------------------
function userView(msg) {
  const view = el("article", "msg user");
  const bubble = el("div", "bubble", msg.content);
  const actions = el("div", "actions");
  actions.append(iconButton("copy", "copy-msg", "copy"));
  view.append(bubble, actions);
  return view;
}

function assistantView() {
  const view = el("article", "msg assistant");
  const avatar = el("div", "avatar");
  const logo = el("img");
  logo.src = "/static/favicon.svg";
  logo.alt = "";
  avatar.append(logo);
  const body = el("div", "body");
  body.append(el("div", "content markdown"), el("div", "note"), el("ol", "sources"), el("div", "actions"));
  view.append(avatar, body);
  return view;
}

function paintSources(list, cites) {
  list.replaceChildren();
  list.hidden = !cites?.length;
  if (!cites?.length) return;
  const head = el("li", "sources-head", t("sources"));
  head.dataset.i18n = "sources";
  list.append(head);
  for (const c of cites) {
    const item = el("li");
    const b = el("button", "source");
    b.type = "button";
    b.dataset.n = c.n;
    b.append(el("span", "source-n", String(c.n)), el("span", "source-file", c.source.split(/[\\/]/).pop()),
      el("span", "source-quote", c.quote));
    item.append(b);
    list.append(item);
  }
}

function paintActions(bar, msg) {
  bar.replaceChildren();
  if (msg.content) bar.append(iconButton("copy", "copy-msg", "copy"), iconButton("volume-2", "read-aloud", "readAloud"));
  for (const [name, rating, label] of msg.content ? [["thumbs-up", 1, "good"], ["thumbs-down", -1, "bad"]] : []) {
    const b = iconButton(name, "rate", label);
    b.dataset.rating = rating;
    b.setAttribute("aria-pressed", String(msg.meta.rating === rating));
    bar.append(b);
  }
  if (msg.meta.error) bar.append(iconButton("refresh-cw", "retry", "retry"));
  if (msg.meta.model) bar.append(el("span", "model-name", msg.meta.kb ? `${msg.meta.kb} · ${msg.meta.model}` : msg.meta.model));
}

/** Draw an answer: its Markdown (or a typing indicator), note, sources and buttons. */
function paint(view, msg, streaming) {
  const [content, note, sources, actions] = view.querySelector(".body").children;
  const cited = Boolean(msg.meta.kb);
  const text = cited ? stripFootnotes(msg.content) : msg.content;
  if (text) content.replaceChildren(markdown(text, {cited}));
  else if (streaming) content.replaceChildren(typing(cited));
  else content.replaceChildren();
  content.classList.toggle("streaming", streaming && Boolean(text));
  note.className = "note" + (msg.meta.error ? " error-text" : "");
  note.textContent = msg.meta.error || (msg.meta.stopped ? t("stopped") : "");
  note.hidden = !note.textContent;
  paintSources(sources, streaming ? null : msg.meta.citations);
  actions.hidden = streaming;
  if (!streaming) paintActions(actions, msg);
}

function typing(kb) {
  const box = el("div", "typing");
  box.append(el("span", "dot"), el("span", "dot"), el("span", "dot"), el("span", "typing-text", t(kb ? "searching" : "thinking")));
  return box;
}

function nearBottom() {
  const log = $("log");
  return log.scrollHeight - log.scrollTop - log.clientHeight < 120;
}

function toBottom() { $("log").scrollTop = $("log").scrollHeight; }

function show(msg, streaming = false) {
  const view = msg.role === "user" ? userView(msg) : assistantView();
  views.set(view, msg);
  if (msg.role === "assistant") paint(view, msg, streaming);
  $("messages").append(view);
  $("empty").hidden = true;
  return view;
}

/** Replace what is on screen with `session` (a card with messages) or, for null, an empty new chat. */
export function load(session) {
  state.shown += 1;
  state.session = session ? {...session, messages: undefined} : null;
  // a CLI session's answers carry no "kb" of their own: they were asked of the session's knowledge base
  const kbOf = (m) => (m.role === "assistant" && !("kb" in (m.meta || {})) && session.kb ? {kb: session.kb} : {});
  state.messages = session ? session.messages.map((m) => ({...m, meta: {...m.meta, ...kbOf(m)}})) : [];
  document.title = session ? `${session.title} · 灵犀 lingxi` : "灵犀 lingxi";
  $("messages").replaceChildren();
  for (const m of state.messages) show(m);
  $("empty").hidden = state.messages.length > 0;
  toBottom();
}

// -- sending -----------------------------------------------------------------------------------------------
function payload(messages) {
  return messages.filter((m) => m.content && !(m.meta.error && m.role === "assistant"))
    .map((m) => ({role: m.role, content: m.content}));
}

/** Save the user's message: in the open conversation, or in a new one it starts (and names). */
async function saveQuestion(user, model, kb) {
  if (state.session) {
    const session = state.session;
    await save(session, [user]);
    return session;
  }
  const shown = state.shown;
  const made = await json("/api/sessions", {method: "POST", body: {model, kb: kb || null,
    messages: [{role: "user", content: user.content, meta: user.meta}]}});
  user.id = made.ids[0];
  if (shown === state.shown) { // still on screen: this is now the open conversation
    state.session = made;
    document.title = `${made.title} · 灵犀 lingxi`;
    history.replaceState(null, "", `#/c/${made.id}`);
  }
  onChange();
  return made;
}

async function save(session, messages) {
  const saved = await json(`/api/sessions/${session.id}/messages`, {method: "POST", body: {
    messages: messages.map((m) => ({role: m.role, content: m.content, meta: m.meta}))}});
  saved.ids.forEach((id, i) => { messages[i].id = id; });
  if (state.session?.id === session.id) {
    state.session = saved.session;
    document.title = `${saved.session.title} · 灵犀 lingxi`;
  }
  onChange();
}

export function setRunning(controller) {
  state.running = controller;
  $("send").hidden = Boolean(controller);
  $("stop").hidden = !controller;
  document.body.classList.toggle("running", Boolean(controller));
}

export function stop() { state.running?.abort(); }

/** Send `text` as the next user message and stream the answer. */
export async function send(text) {
  const model = $("model").value, kb = $("kb").value;
  if (state.running || !text.trim()) return;
  if (!model) return toast(t("noModels"));
  const user = {role: "user", content: text, meta: {}};
  state.messages.push(user);
  show(user);
  toBottom();
  const saving = saveQuestion(user, model, kb);
  saving.catch(() => {}); // reported once, by persist(), after the answer
  await generate(model, kb, saving);
}

/** Stream an answer to the conversation so far; keep what arrived when stopped. */
async function generate(model, kb, saving) {
  const answer = {role: "assistant", content: "", meta: {model, kb: kb || null}};
  const asked = payload(state.messages);
  state.messages.push(answer);
  const view = show(answer, true);
  toBottom();
  const controller = new AbortController();
  setRunning(controller);
  let frame = 0;
  const repaint = () => {
    const stick = nearBottom();
    frame = 0;
    paint(view, answer, true);
    if (stick) toBottom();
  };
  const settings = JSON.parse(localStorage.getItem("lingxi-sampling") || "{}");
  try {
    await streamChat({model: kb ? `kb:${kb}@${model}` : model, messages: asked, ...settings}, controller.signal,
      (chunk) => {
        for (const c of chunk.choices || []) if (c.delta?.content) answer.content += c.delta.content;
        if (chunk.citations) answer.meta.citations = chunk.citations;
        if (typeof chunk.abstained === "boolean") answer.meta.abstained = chunk.abstained;
        frame ||= requestAnimationFrame(repaint);
      });
  } catch (error) {
    if (error.name === "AbortError") answer.meta.stopped = true;
    else answer.meta.error = describe(error);
  } finally {
    cancelAnimationFrame(frame);
    setRunning(null);
  }
  if (kb) answer.content = stripFootnotes(answer.content);
  const stick = nearBottom();
  paint(view, answer, false);
  if (stick) toBottom();
  await persist(saving, answer);
}

async function persist(saving, answer) {
  try {
    const session = await saving;
    if (answer.content) await save(session, [answer]);
  } catch (error) {
    toast(describe(error));
  }
}

// -- clicks on messages ------------------------------------------------------------------------------------
async function rate(view, msg, button) {
  const rating = Number(button.dataset.rating);
  const index = state.messages.indexOf(msg);
  const model = msg.meta.kb ? `kb:${msg.meta.kb}@${msg.meta.model}` : msg.meta.model || "";
  try {
    await json("/api/feedback", {method: "POST", body: {model, messages: payload(state.messages.slice(0, index)),
      answer: msg.content, rating, ...(msg.id ? {message_id: msg.id} : {})}});
  } catch (error) {
    return toast(describe(error));
  }
  msg.meta.rating = rating;
  for (const b of view.querySelectorAll(".rate")) b.setAttribute("aria-pressed", String(b === button));
  toast(t("thanks"));
}

async function retry(view, msg) {
  const index = state.messages.indexOf(msg);
  if (state.running || index !== state.messages.length - 1) return;
  state.messages.pop();
  view.remove();
  await generate(msg.meta.model || $("model").value, msg.meta.kb || "", Promise.resolve(state.session));
}

function onClick(ev) {
  const target = ev.target.closest("button, a.cite-ref");
  const view = ev.target.closest("article.msg");
  if (!target || !view) return;
  const msg = views.get(view);
  if (target.classList.contains("copy-code")) {
    copyText(target.closest(".code-block").querySelector("code").textContent).then(() => flashCopied(target));
  } else if (target.classList.contains("copy-msg")) {
    copyText(msg.content).then(() => flashCopied(target));
  } else if (target.classList.contains("read-aloud")) {
    readAloud(stripFootnotes(msg.content), target, toast);
  } else if (target.classList.contains("rate")) {
    rate(view, msg, target);
  } else if (target.classList.contains("retry")) {
    retry(view, msg);
  } else if (target.classList.contains("cite-ref") || target.classList.contains("source")) {
    ev.preventDefault();
    const cite = (msg.meta.citations || []).find((c) => String(c.n) === target.dataset.n);
    if (cite && msg.meta.kb) openPassage(msg.meta.kb, cite);
  }
}

export function lastAnswer() {
  return [...state.messages].reverse().find((m) => m.role === "assistant" && m.content);
}

export function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 2500);
}

export function init() {
  $("messages").addEventListener("click", onClick);
}
