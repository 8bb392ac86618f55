// Talking to this server: the API key (kept in localStorage, asked for once, when a route
// first answers 401), JSON calls that throw the server's sentence, and the chat stream.

import {t} from "./i18n.js";

const KEY = "lingxi-key";
let asking = null; // the one open "give me a key" question, shared by every call that got a 401

export class ApiError extends Error {
  constructor(message, status, code) { super(message); this.status = status; this.code = code; }
}

export function apiKey() { return localStorage.getItem(KEY) || ""; }

export function setApiKey(value) {
  if (value) localStorage.setItem(KEY, value.trim()); else localStorage.removeItem(KEY);
}

function headers(extra = {}) {
  const key = apiKey();
  return {"Content-Type": "application/json", ...(key ? {Authorization: "Bearer " + key} : {}), ...extra};
}

async function errorOf(response) {
  try {
    const body = await response.json();
    return new ApiError(body.error?.message || response.statusText, response.status, body.error?.code);
  } catch {
    return new ApiError(`${response.status} ${response.statusText}`, response.status, null);
  }
}

/** Ask for a key in the key dialog; resolves true when one was saved, false when dismissed. */
function askForKey(reason) {
  if (asking) return asking;
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  const why = document.getElementById("key-error");
  why.textContent = reason || "";
  why.hidden = !reason;
  input.value = "";
  asking = new Promise((resolve) => {
    const done = (ok) => {
      dialog.removeEventListener("close", onClose);
      form.removeEventListener("submit", onSubmit);
      asking = null;
      resolve(ok);
    };
    const form = dialog.querySelector("form");
    const onSubmit = (ev) => {
      if (ev.submitter?.value === "cancel") return; // the dialog closes itself, unsaved
      ev.preventDefault();
      if (!input.value.trim()) return;
      setApiKey(input.value);
      dialog.close("saved");
    };
    const onClose = () => done(dialog.returnValue === "saved");
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("close", onClose);
    dialog.returnValue = "";
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/** fetch() with the key; a 401 asks for a key (once) and tries again with it. */
export async function call(path, {method = "GET", body, signal} = {}) {
  for (;;) {
    const response = await fetch(path, {method, signal, headers: headers(),
      body: body === undefined ? undefined : JSON.stringify(body)});
    if (response.status !== 401) return response;
    const error = await errorOf(response);
    if (!(await askForKey(apiKey() ? error.message : ""))) throw error;
  }
}

/** A JSON call: the parsed body, or an ApiError carrying the server's sentence. */
export async function json(path, options = {}) {
  const response = await call(path, options);
  if (!response.ok) throw await errorOf(response);
  return response.status === 204 ? null : response.json();
}

/** Stream a chat completion: onChunk(chunk) for every server-sent event, until [DONE]. */
export async function streamChat(body, signal, onChunk) {
  const response = await call("/v1/chat/completions", {method: "POST", body: {...body, stream: true}, signal});
  if (!response.ok) throw await errorOf(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true}).replace(/\r\n/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of event.split("\n")) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") return;
        const chunk = JSON.parse(data);
        if (chunk.error) throw new ApiError(chunk.error.message, 500, chunk.error.code);
        onChunk(chunk);
      }
    }
  }
}

export function describe(error) {
  return error instanceof ApiError ? error.message : `${t("errorPrefix")}: ${error.message || error}`;
}
