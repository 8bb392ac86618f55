// The /edu page: one page, three roles (admin: coverage; teacher: plans, quizzes, coverage; student: the tutor).
// Everything shown from the server is set as text (never as HTML).
const KEY = "lingxi-key";
const $ = (id) => document.getElementById(id);
let me = null, lastPlan = null, lastQuiz = null;

function headers() {
  const key = localStorage.getItem(KEY) || "";
  return {"Content-Type": "application/json", ...(key ? {Authorization: "Bearer " + key} : {})};
}

async function call(method, path, body) {
  const r = await fetch(path, {method, headers: headers(), body: body === undefined ? undefined : JSON.stringify(body)});
  if (!r.ok) {
    let msg = r.statusText;
    try { msg = (await r.json()).error?.message || msg; } catch {}
    throw new Error(msg);
  }
  return r;
}
const json = async (method, path, body) => (await call(method, path, body)).json();

function showError(e) { $("error").textContent = e ? String(e.message || e) : ""; $("error").hidden = !e; }
function el(tag, text, cls) { const n = document.createElement(tag); if (text !== undefined) n.textContent = text; if (cls) n.className = cls; return n; }
const course = () => $("course").value;

async function start() {
  showError(null);
  try {
    me = await json("GET", "/v1/edu/me");
  } catch (e) { showError(e); document.body.classList.add("ready"); return; }
  $("role").textContent = me.role + (me.student ? " · " + me.student : "");
  $("role").dataset.role = me.role;
  $("course").replaceChildren(...me.courses.map((c) => { const o = el("option", c); o.value = c; return o; }));
  const teach = me.role === "admin" || me.role === "teacher";
  $("coverage-view").hidden = !teach;
  $("plan-view").hidden = !teach;
  $("quiz-view").hidden = !teach;
  $("tutor-view").hidden = false;
  $("tutor-student-row").hidden = me.role === "student";
  document.body.classList.add("ready");
}

async function runCoverage() {
  showError(null);
  $("coverage-summary").textContent = "…";
  try {
    const r = await json("POST", `/v1/edu/courses/${encodeURIComponent(course())}/coverage`, {});
    $("coverage-summary").textContent = `覆盖率 coverage ${Math.round(r.coverage * 100)}% — ${r.counts.covered} covered, ${r.counts.partial} partial, ${r.counts.missing} missing`;
    const body = $("coverage-table").querySelector("tbody");
    body.replaceChildren(...r.objectives.map((o) => {
      const tr = el("tr", undefined, o.status);
      const ev = o.citations.slice(0, 2).map((c) => `${c.file}${c.heading ? " § " + c.heading : ""}: “${c.quote}”`).join("\n");
      [o.id, o.objective, o.status, o.score.toFixed(2), ev].forEach((v) => tr.appendChild(el("td", v)));
      return tr;
    }));
    $("coverage-table").hidden = false;
    const gaps = r.gaps.clusters || [];
    $("gaps").replaceChildren(el("h3", "缺口 Gap report: questions the tutor could not answer"),
      ...(gaps.length ? gaps.map((g) => el("p", `${g.name} (${g.size}): ${g.examples.slice(0, 3).join(" / ")}`)) : [el("p", "none yet", "muted")]));
    const png = await (await call("GET", `/v1/edu/courses/${encodeURIComponent(course())}/heatmap.png`)).blob();
    $("heatmap").src = URL.createObjectURL(png);
    $("heatmap").hidden = false;
  } catch (e) { showError(e); $("coverage-summary").textContent = ""; }
}

function renderPlan(p) {
  const out = $("plan-out");
  out.replaceChildren();
  const list = (title, items) => { out.appendChild(el("h3", title)); const ul = el("ul"); (items || []).forEach((x) => ul.appendChild(el("li", String(x)))); out.appendChild(ul); };
  list("教学目标 objectives", p.objectives);
  out.appendChild(el("h3", `教学过程 timeline (${p.timeline.reduce((a, s) => a + s.minutes, 0)} / ${p.minutes} min)`));
  const t = el("table"); t.id = "plan-timeline";
  p.timeline.forEach((s) => { const tr = el("tr"); [s.minutes + "′", s.activity, s.details].forEach((v) => tr.appendChild(el("td", v))); t.appendChild(tr); });
  out.appendChild(t);
  list("学生活动 activities", p.activities);
  list("分层 differentiation", [...(p.differentiation.weaker || []).map((x) => "基础较弱：" + x), ...(p.differentiation.stronger || []).map((x) => "学有余力：" + x)]);
  list("评价 assessment", p.assessment);
  list("作业 homework", p.homework);
  list("出处 citations", (p.citations || []).map((c) => `[${c.n}] ${c.file}: “${c.quote}”`));
  out.appendChild(el("p", `verified ${p.verification.supported} / ${p.verification.factual} factual sentences`, "muted"));
}

async function runPlan() {
  showError(null);
  try {
    lastPlan = await json("POST", `/v1/edu/courses/${encodeURIComponent(course())}/plan`, {topic: $("plan-topic").value, minutes: Number($("plan-minutes").value)});
    renderPlan(lastPlan);
    $("plan-md").disabled = $("plan-docx").disabled = false;
  } catch (e) { showError(e); }
}

async function runQuiz() {
  showError(null);
  try {
    const topic = $("quiz-topic").value.trim();
    lastQuiz = await json("POST", `/v1/edu/courses/${encodeURIComponent(course())}/quiz`, {topic: topic || null, n: Number($("quiz-n").value)});
    const ol = el("ol", undefined, "quiz");
    lastQuiz.questions.forEach((q) => {
      const li = el("li", `[${q.kind}] ${q.question}`);
      if (q.options && q.options.length && q.kind === "mc") li.appendChild(el("div", q.options.map((o, i) => String.fromCharCode(65 + i) + ". " + o).join("   ")));
      li.appendChild(el("div", `答案 ${q.answer} — ${q.source.file}: “${q.source.quote}”`, "src"));
      ol.appendChild(li);
    });
    const s = lastQuiz.stats;
    $("quiz-out").replaceChildren(ol, el("p", `reviewer: ${s.accepted} accepted, ${s.rejected} rejected, ${s.regenerated} regenerated, ${s.fallback} extracted`, "muted"));
    $("quiz-md").disabled = $("quiz-docx").disabled = false;
  } catch (e) { showError(e); }
}

async function download(kind, data, format) {
  try {
    const blob = await (await call("POST", "/v1/edu/export", {kind, data, format})).blob();
    const a = el("a"); a.href = URL.createObjectURL(blob); a.download = `${kind}.${format}`; a.click();
  } catch (e) { showError(e); }
}

async function send() {
  const text = $("tutor-input").value.trim();
  if (!text) return;
  showError(null);
  $("chat").appendChild(el("div", text, "msg me"));
  $("tutor-input").value = "";
  try {
    const body = {message: text};
    if (me.role !== "student") body.student = $("tutor-student").value.trim();
    const t = await json("POST", `/v1/edu/courses/${encodeURIComponent(course())}/tutor`, body);
    const box = el("div", t.text, "msg tutor");
    box.appendChild(el("div", `hint level ${t.hint_level}${t.socratic ? " · Socratic" : ""}`, "hint"));
    (t.citations || []).forEach((c) => box.appendChild(el("div", `[${c.n}] ${c.source.split("/").pop()}` + (c.quote ? `: “${c.quote}”` : ""), "cite")));
    $("chat").appendChild(box);
    $("practice").textContent = (t.practice || []).length ? "建议练习 practise next: " + t.practice.map((p) => `${p.id} ${p.objective}`).join("; ") : "";
  } catch (e) { showError(e); }
}

document.addEventListener("DOMContentLoaded", () => {
  $("key").value = localStorage.getItem(KEY) || "";
  $("save-key").addEventListener("click", () => { const v = $("key").value.trim(); if (v) localStorage.setItem(KEY, v); else localStorage.removeItem(KEY); start(); });
  $("run-coverage").addEventListener("click", runCoverage);
  $("run-plan").addEventListener("click", runPlan);
  $("run-quiz").addEventListener("click", runQuiz);
  $("plan-md").addEventListener("click", () => download("plan", lastPlan, "md"));
  $("plan-docx").addEventListener("click", () => download("plan", lastPlan, "docx"));
  $("quiz-md").addEventListener("click", () => download("quiz", lastQuiz, "md"));
  $("quiz-docx").addEventListener("click", () => download("quiz", lastQuiz, "docx"));
  $("tutor-send").addEventListener("click", send);
  $("tutor-input").addEventListener("keydown", (e) => { if (e.key === "Enter") send(); });
  start();
});
