// The conversation list: saved conversations grouped by day, a search box, rename in place,
// delete after a confirmation. Opening one loads it into the chat (and the address: #/c/ID).

import {describe, json} from "./api.js";
import {toast} from "./chat.js";
import {icon} from "./icons.js";
import {t} from "./i18n.js";

const $ = (id) => document.getElementById(id);
let sessions = [];
let handlers = {open: () => {}, deleted: () => {}, current: () => null};

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function group(ts) {
  const day = new Date();
  day.setHours(0, 0, 0, 0);
  const start = day.getTime() / 1000;
  if (ts >= start) return "today";
  if (ts >= start - 86400) return "yesterday";
  if (ts >= start - 7 * 86400) return "week";
  return "older";
}

function item(s) {
  const row = el("div", "conv");
  row.dataset.id = s.id;
  row.classList.toggle("active", handlers.current() === s.id);
  const open = el("a", "conv-open", s.title);
  open.href = `#/c/${s.id}`;
  open.title = s.title;
  const rename = el("button", "icon-btn conv-rename");
  const remove = el("button", "icon-btn conv-delete");
  for (const [b, name, label] of [[rename, "square-pen", "rename"], [remove, "trash", "delete"]]) {
    b.type = "button";
    b.title = t(label);
    b.setAttribute("aria-label", b.title);
    b.append(icon(name, 15));
  }
  rename.onclick = () => startRename(row, s);
  remove.onclick = () => confirmDelete(s);
  row.append(open, rename, remove);
  return row;
}

/** Draw the list (filtered by the search box). */
export function draw() {
  const box = $("conversations");
  const needle = $("search").value.trim().toLowerCase();
  const shown = sessions.filter((s) => !needle || s.title.toLowerCase().includes(needle));
  box.replaceChildren();
  if (!shown.length) box.append(el("p", "muted conv-empty", t(needle ? "noMatch" : "noChats")));
  let last = null;
  for (const s of shown) {
    const g = group(s.updated_at);
    if (g !== last) box.append(el("h3", "conv-group", t(g)));
    last = g;
    box.append(item(s));
  }
}

export async function refresh() {
  try {
    sessions = (await json("/api/sessions")).data;
  } catch (error) {
    sessions = [];
    $("conversations").replaceChildren(el("p", "error-text", t("loadFailed", {error: describe(error)})));
    return;
  }
  draw();
}

function startRename(row, s) {
  const input = el("input", "conv-input");
  input.value = s.title;
  input.maxLength = 200;
  input.setAttribute("aria-label", t("rename"));
  row.replaceChildren(input);
  input.focus();
  input.select();
  let done = false;
  const finish = async (keep) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    if (keep && title && title !== s.title) {
      try {
        const card = await json(`/api/sessions/${s.id}`, {method: "PATCH", body: {title}});
        Object.assign(s, card);
        handlers.renamed?.(card);
      } catch (error) {
        toast(describe(error));
      }
    }
    draw();
  };
  input.onkeydown = (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); finish(true); }
    if (ev.key === "Escape") { ev.preventDefault(); ev.stopPropagation(); finish(false); }
  };
  input.onblur = () => finish(true);
}

function confirmDelete(s) {
  const dialog = $("confirm-dialog");
  dialog.querySelector(".confirm-body").textContent = t("deleteBody", {title: s.title});
  dialog.returnValue = "";
  dialog.onclose = async () => {
    if (dialog.returnValue !== "delete") return;
    try {
      await json(`/api/sessions/${s.id}`, {method: "DELETE"});
    } catch (error) {
      return toast(describe(error));
    }
    sessions = sessions.filter((x) => x.id !== s.id);
    draw();
    handlers.deleted(s.id);
  };
  dialog.showModal();
  dialog.querySelector("button[value=cancel]").focus();
}

/** `open(id)` loads a conversation, `deleted(id)` hears of a deletion, `current()` is the open one's id. */
export function init(given) {
  handlers = {...handlers, ...given};
  $("search").addEventListener("input", draw);
}
