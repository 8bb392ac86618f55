// Voice on the page: the microphone button records (MediaRecorder), sends the recording to
// /v1/audio/transcriptions and puts the words into the message box; the read-aloud button on an
// answer plays it from /v1/audio/speech. Both go through this server only.

import {ApiError, apiKey} from "./api.js";
import {SHAPES, icon} from "./icons.js";
import {language, t} from "./i18n.js";

// lucide-static 1.62.0 shapes (ISC, ../vendor/lucide-1.62.0/LICENSE), added beside the generated set
Object.assign(SHAPES, {
  "mic": [["path", {d: "M12 19v3"}], ["path", {d: "M19 10v2a7 7 0 0 1-14 0v-2"}], ["rect", {x: "9", y: "2", width: "6", height: "13", rx: "3"}]],
  "volume-2": [["path", {d: "M11 4.702a.705.705 0 0 0-1.203-.498L6.413 7.587A1.4 1.4 0 0 1 5.416 8H3a1 1 0 0 0-1 1v6a1 1 0 0 0 1 1h2.416a1.4 1.4 0 0 1 .997.413l3.383 3.384A.705.705 0 0 0 11 19.298z"}],
    ["path", {d: "M16 9a5 5 0 0 1 0 6"}], ["path", {d: "M19.364 18.364a9 9 0 0 0 0-12.728"}]],
});

const $ = (id) => document.getElementById(id);
let recorder = null;
let playing = null;

function auth() { const key = apiKey(); return key ? {Authorization: "Bearer " + key} : {}; }

async function failure(response) {
  try { return new ApiError((await response.json()).error?.message || response.statusText, response.status); }
  catch { return new ApiError(`${response.status} ${response.statusText}`, response.status); }
}

/** The words of a recording (a Blob), in the page's language. */
export async function transcribe(blob) {
  const form = new FormData();
  form.append("file", blob, blob.type.includes("ogg") ? "speech.ogg" : "speech.webm");
  form.append("model", "whisper-1");
  form.append("language", language());
  const response = await fetch("/v1/audio/transcriptions", {method: "POST", headers: auth(), body: form});
  if (!response.ok) throw await failure(response);
  return (await response.json()).text;
}

/** A WAV Blob that says `text`. */
export async function speech(text) {
  const response = await fetch("/v1/audio/speech", {method: "POST", headers: {...auth(), "Content-Type": "application/json"},
    body: JSON.stringify({model: "tts-1", voice: "auto", input: text.slice(0, 4096), response_format: "wav"})});
  if (!response.ok) throw await failure(response);
  return response.blob();
}

function setRecording(button, on) {
  button.classList.toggle("recording", on);
  button.setAttribute("aria-pressed", String(on));
  button.title = t(on ? "stopRecording" : "record");
  button.setAttribute("aria-label", button.title);
}

async function toggleRecording(button, onText, onError) {
  if (recorder) { recorder.stop(); return; }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({audio: true});
  } catch (error) {
    onError(t("micDenied", {error: error.message || error.name}));
    return;
  }
  const parts = [];
  recorder = new MediaRecorder(stream);
  recorder.addEventListener("dataavailable", (ev) => { if (ev.data.size) parts.push(ev.data); });
  recorder.addEventListener("stop", async () => {
    stream.getTracks().forEach((track) => track.stop());
    const type = recorder.mimeType;
    recorder = null;
    setRecording(button, false);
    button.disabled = true;
    try {
      const text = await transcribe(new Blob(parts, {type}));
      onText(text.trim());
    } catch (error) {
      onError(error.message || String(error));
    } finally {
      button.disabled = false;
    }
  });
  recorder.start();
  setRecording(button, true);
}

/** The microphone button, put before the send button of the message box. */
export function micButton(onText, onError) {
  const button = document.createElement("button");
  button.type = "button";
  button.id = "mic";
  button.className = "icon-btn mic";
  button.dataset.i18nTitle = "record";
  button.append(icon("mic", 18));
  setRecording(button, false);
  if (!navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === "undefined") button.hidden = true;
  button.addEventListener("click", () => toggleRecording(button, onText, onError));
  return button;
}

/** Read `text` aloud (a second press stops it); `button` shows that it is playing. */
export async function readAloud(text, button, onError) {
  if (playing) { playing.pause(); playing = null; button.classList.remove("playing"); return; }
  button.classList.add("playing");
  try {
    const audio = new Audio(URL.createObjectURL(await speech(text)));
    playing = audio;
    audio.addEventListener("ended", () => { playing = null; button.classList.remove("playing"); });
    await audio.play();
  } catch (error) {
    playing = null;
    button.classList.remove("playing");
    onError(error.message || String(error));
  }
}
