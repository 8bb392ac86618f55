// The chat page's start: pickers on the server's defaults, the conversation list, the address
// (#/c/ID opens a saved conversation), the message box, dialogs, theme, language, shortcuts.

import {micButton} from "./voice.js";
import {apiKey, describe, json, setApiKey} from "./api.js";
import * as chat from "./chat.js";
import {apply, language, setLanguage, t} from "./i18n.js";
import {icon} from "./icons.js";
import {closePassage, isOpen} from "./passage.js";
import * as sidebar from "./sidebar.js";

const $ = (id) => document.getElementById(id);
const mobile = () => matchMedia("(max-width: 760px)").matches;
const touch = () => matchMedia("(hover: none) and (pointer: coarse)").matches;

// -- pickers -----------------------------------------------------------------------------------------------
function option(value, text) {
  const o = document.createElement("option");
  o.value = value;
  o.textContent = text;
  return o;
}

function choose(select, value) {
  if ([...select.options].some((o) => o.value === value)) select.value = value;
}

async function loadPickers() {
  const [models, defaults] = await Promise.all([json("/v1/models"), json("/api/defaults")]);
  const chatModels = [], kbs = [];
  for (const m of models.data) {
    if (m.owned_by === "lingxi/embedding") continue;
    (m.id.startsWith("kb:") ? kbs : chatModels).push(m.id);
  }
  $("model").replaceChildren(...chatModels.map((id) => option(id, id)));
  $("kb").replaceChildren(option("", t("noKb")), ...kbs.map((id) => option(id.slice(3), id.slice(3))));
  $("kb").options[0].dataset.i18n = "noKb";
  $("kb").closest(".picker").hidden = !kbs.length; // no knowledge base on this server: no picker
  chat.state.defaults = {model: defaults.model, kb: defaults.kb || ""};
  resetPickers();
}

function resetPickers() {
  choose($("model"), chat.state.defaults.model);
  choose($("kb"), chat.state.defaults.kb);
}

async function pickerChanged() {
  const s = chat.state.session;
  if (!s) return;
  try {
    chat.state.session = await json(`/api/sessions/${s.id}`, {method: "PATCH",
      body: {model: $("model").value, kb: $("kb").value || null}});
  } catch (error) {
    chat.toast(describe(error));
  }
}

// -- conversations and the address -------------------------------------------------------------------------
function newChat() {
  if (chat.state.running) chat.stop();
  chat.load(null);
  resetPickers();
  if (location.hash) history.replaceState(null, "", location.pathname);
  markActive();
  closeSidebarOnMobile();
  $("q").focus();
}

async function route() {
  const m = /^#\/c\/(\d+)$/.exec(location.hash);
  if (!m) return chat.state.session && newChat();
  const id = Number(m[1]);
  if (chat.state.session?.id === id) return;
  if (chat.state.running) chat.stop();
  try {
    const session = await json(`/api/sessions/${id}`);
    chat.load(session);
    choose($("model"), session.model || chat.state.defaults.model);
    choose($("kb"), session.kb || "");
  } catch (error) {
    chat.toast(describe(error));
    history.replaceState(null, "", location.pathname);
    chat.load(null);
  }
  markActive();
  closeSidebarOnMobile();
}

function markActive() {
  for (const row of document.querySelectorAll(".conv")) {
    row.classList.toggle("active", Number(row.dataset.id) === chat.state.session?.id);
  }
}

// -- layout: sidebar, theme, language ----------------------------------------------------------------------
function sidebarShown() {
  return mobile() ? document.body.classList.contains("side-open") : !document.body.classList.contains("side-closed");
}

/** Desktop: shown unless body.side-closed; mobile: hidden unless body.side-open. */
function toggleSidebar(open = !sidebarShown()) {
  if (mobile()) document.body.classList.toggle("side-open", open);
  else document.body.classList.toggle("side-closed", !open);
}

function closeSidebarOnMobile() { if (mobile()) document.body.classList.remove("side-open"); }

function setTheme(choice) {
  if (choice === "system") localStorage.removeItem("lingxi-theme"); else localStorage.setItem("lingxi-theme", choice);
  paintTheme();
}

function paintTheme() {
  const saved = localStorage.getItem("lingxi-theme");
  const dark = saved ? saved === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  $("hl-light").disabled = dark;
  $("hl-dark").disabled = !dark;
  $("theme").replaceChildren(icon(dark ? "sun" : "moon"));
  $("theme-select").value = saved || "system";
}

function paintLanguage() {
  $("lang").textContent = t("toggleLang");
  $("lang-select").value = language();
  sidebar.draw();
}

// -- the message box ---------------------------------------------------------------------------------------
function grow() {
  const q = $("q");
  q.style.height = "auto";
  q.style.height = Math.min(q.scrollHeight, 240) + "px";
}

function submit() {
  const text = $("q").value.trim();
  if (!text || chat.state.running) return;
  $("q").value = "";
  grow();
  chat.send(text);
}

function composer() {
  $("composer").addEventListener("submit", (ev) => { ev.preventDefault(); submit(); });
  $("q").addEventListener("input", grow);
  $("q").addEventListener("keydown", (ev) => {
    // Enter sends; Shift+Enter is a new line; Enter while an input method composes (pinyin) is not a send;
    // on a touch screen Enter is a new line and the send button sends, as a phone keyboard expects
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229 && !touch()) {
      ev.preventDefault();
      submit();
    }
  });
  $("stop").addEventListener("click", () => chat.stop());
  const heard = (text) => {
    const box = $("q");
    box.value = box.value.trim() ? `${box.value.trim()} ${text}` : text;
    grow();
    box.focus();
  };
  $("send").before(micButton(heard, chat.toast));
}

// -- keyboard shortcuts ------------------------------------------------------------------------------------
const SHORTCUTS = [
  ["Ctrl Shift O", "scNew", (e) => e.shiftKey && e.code === "KeyO", () => newChat()],
  ["Ctrl K", "scSearch", (e) => !e.shiftKey && e.code === "KeyK", () => { toggleSidebar(true); $("search").focus(); }],
  ["Ctrl Shift S", "scSidebar", (e) => e.shiftKey && e.code === "KeyS", () => toggleSidebar()],
  ["Ctrl Shift C", "scCopy", (e) => e.shiftKey && e.code === "KeyC", () => copyLast()],
  ["Ctrl Shift L", "scTheme", (e) => e.shiftKey && e.code === "KeyL", () => toggleTheme()],
  ["Ctrl /", "scHelp", (e) => e.code === "Slash", () => $("shortcuts-dialog").showModal()],
];

async function copyLast() {
  const last = chat.lastAnswer();
  if (last) {
    const {copyText} = await import("./render.js");
    await copyText(last.content);
    chat.toast(t("copied"));
  }
}

function toggleTheme() { setTheme(document.documentElement.dataset.theme === "dark" ? "light" : "dark"); }

function onKey(ev) {
  if (ev.ctrlKey || ev.metaKey) {
    const hit = SHORTCUTS.find(([, , test]) => test(ev));
    if (hit) {
      ev.preventDefault();
      hit[3]();
    }
    return;
  }
  if (ev.key === "Escape" && ev.shiftKey) {
    ev.preventDefault();
    $("q").focus();
  } else if (ev.key === "Escape" && !document.querySelector("dialog[open]")) {
    if (chat.state.running) chat.stop();
    else if (isOpen()) closePassage();
    else closeSidebarOnMobile();
  }
}

function shortcutList() {
  const rows = [...SHORTCUTS.map(([keys, label]) => [keys, label]), ["Enter", "scSend"], ["Shift Enter", "scNewline"],
    ["Shift Esc", "scFocus"], ["Esc", "scStop"]];
  $("shortcut-list").replaceChildren(...rows.map(([keys, label]) => {
    const row = document.createElement("div");
    row.className = "shortcut";
    const name = document.createElement("span");
    name.dataset.i18n = label;
    name.textContent = t(label);
    const combo = document.createElement("span");
    for (const k of keys.split(" ")) {
      const kbd = document.createElement("kbd");
      kbd.textContent = k === "Ctrl" && /Mac/.test(navigator.platform) ? "⌘" : k;
      combo.append(kbd);
    }
    row.append(name, combo);
    return row;
  }));
}

// -- settings ----------------------------------------------------------------------------------------------
function settings() {
  const dialog = $("settings-dialog");
  $("open-settings").onclick = () => {
    const sampling = JSON.parse(localStorage.getItem("lingxi-sampling") || "{}");
    $("settings-key").value = apiKey();
    $("settings-temperature").value = sampling.temperature ?? "";
    $("settings-max-tokens").value = sampling.max_tokens ?? "";
    dialog.showModal();
  };
  dialog.querySelector("form").addEventListener("submit", (ev) => {
    if (ev.submitter?.value !== "save") return;
    const sampling = {};
    const temp = $("settings-temperature").value, max = $("settings-max-tokens").value;
    if (temp !== "") sampling.temperature = Number(temp);
    if (max !== "") sampling.max_tokens = Number(max);
    localStorage.setItem("lingxi-sampling", JSON.stringify(sampling));
    if ($("settings-key").value.trim() !== apiKey()) {
      setApiKey($("settings-key").value);
      start();
    }
  });
  $("forget-key").onclick = () => { setApiKey(""); $("settings-key").value = ""; };
  $("theme-select").onchange = (ev) => setTheme(ev.target.value);
  $("lang-select").onchange = (ev) => setLanguage(ev.target.value);
}

// -- start -------------------------------------------------------------------------------------------------
async function start() {
  try {
    await loadPickers();
  } catch (error) {
    chat.toast(describe(error));
  }
  await sidebar.refresh();
  await route();
  markActive();
}

function wire() {
  for (const [id, name] of [["new-chat-icon", "plus"], ["toggle-side", "panel-left"], ["open-settings-icon", "settings"],
    ["open-shortcuts-icon", "keyboard"], ["send", "arrow-up"], ["stop", "square"], ["close-side", "x"],
    ["passage-close", "x"], ["search-icon", "search"], ["key-icon", "key-round"]]) $(id).prepend(icon(name));
  $("new-chat").onclick = newChat;
  $("toggle-side").onclick = () => toggleSidebar();
  $("close-side").onclick = () => toggleSidebar(false);
  $("scrim").onclick = () => toggleSidebar(false);
  $("open-shortcuts").onclick = () => $("shortcuts-dialog").showModal();
  $("passage-close").onclick = closePassage;
  $("theme").onclick = toggleTheme;
  $("lang").onclick = () => setLanguage(language() === "zh" ? "en" : "zh");
  $("model").onchange = pickerChanged;
  $("kb").onchange = pickerChanged;
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", paintTheme);
  document.addEventListener("lingxi:language", paintLanguage);
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", route);
}

chat.init();
sidebar.init({current: () => chat.state.session?.id ?? null,
  deleted: (id) => { if (chat.state.session?.id === id) newChat(); },
  renamed: (card) => { if (chat.state.session?.id === card.id) chat.state.session = card; }});
chat.whenSaved(() => sidebar.refresh().then(markActive));
wire();
composer();
settings();
shortcutList();
apply();
paintTheme();
start().then(() => {
  document.body.classList.add("ready");
  if (!touch()) $("q").focus(); // on a phone the keyboard would cover the page
});
