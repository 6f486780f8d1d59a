// The Stead dashboard: renders each view of the event stream (`/v1/events`) and sends the
// operator's actions to the API, each after a confirmation, with the API token when one
// is entered.
"use strict";

const EVENTS = "/v1/events";
const TOKEN_KEY = "stead-api-token";
const RETRY_MS = 2000;

const $ = (id) => document.getElementById(id);
const last = {};

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const badge = (text, extra) => el("span", { class: `badge ${text || ""} ${extra || ""}` }, text || "—");

function headers(extra) {
  const token = $("token").value.trim();
  const all = Object.assign({}, extra || {});
  if (token) all.Authorization = `Bearer ${token}`;
  return all;
}

function notice(text, isError) {
  const node = $("notice");
  node.textContent = text;
  node.className = isError ? "error" : "";
}

// ---- actions ----

function confirmThen(text, action) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "yes") action();
  };
  dialog.showModal();
}

async function post(path) {
  try {
    const response = await fetch(path, { method: "POST", headers: headers() });
    const text = await response.text();
    let message = text;
    try { message = JSON.parse(text).message || text; } catch (_) { /* not JSON */ }
    if (response.status === 401) {
      notice(`${path}: refused, this action needs the API token (enter it above)`, true);
    } else if (!response.ok) {
      notice(`${path}: ${response.status} ${message}`, true);
    } else {
      notice(`${path}: done`, false);
    }
  } catch (e) {
    notice(`${path}: ${e}`, true);
  }
}

const ACTIONS = {
  restart: (b) => confirmThen(
    `Restart ${b.dataset.instance}? Its task is killed and relaunched in place (same agent, same volume).`,
    () => post(`/v1/pods/${encodeURIComponent(b.dataset.instance)}/restart`)),
  replace: (b) => confirmThen(
    `Replace ${b.dataset.instance}? It is placed anew and its volume is DESTROYED with its data.`,
    // The API takes a replace only confirmed with the instance's name.
    () => post(`/v1/pods/${encodeURIComponent(b.dataset.instance)}/replace` +
      `?confirm=${encodeURIComponent(b.dataset.instance)}`)),
  interrupt: (b) => confirmThen(
    `Interrupt plan ${b.dataset.plan}? No further step starts until it is continued.`,
    () => post(`/v1/plans/${encodeURIComponent(b.dataset.plan)}/interrupt`)),
  continue: (b) => confirmThen(
    `Continue plan ${b.dataset.plan}?`,
    () => post(`/v1/plans/${encodeURIComponent(b.dataset.plan)}/continue`)),
};

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button && ACTIONS[button.dataset.action]) ACTIONS[button.dataset.action](button);
});

const actionButton = (action, attrs, label, danger) =>
  el("button", Object.assign({ "data-action": action, class: danger ? "danger" : "" }, attrs), label);

// ---- rendering ----

function age(seconds) {
  if (!seconds) return "";
  const s = Math.max(0, Math.floor(Date.now() / 1000 - seconds));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function renderStep(step) {
  return el("tr", { "data-step": step.name, "data-status": step.status },
    el("td", {}, step.name),
    el("td", {}, step.kind),
    el("td", {}, badge(step.status)),
    el("td", { class: "message" }, step.message),
    el("td", { class: "errors" }, step.errors.join("; ")));
}

function renderPhase(phase) {
  return el("div", { class: "phase", "data-phase": phase.name },
    el("h3", {}, `${phase.name} `, badge(phase.status),
      el("span", { class: "message" }, ` ${phase.strategy}`)),
    el("table", {}, el("tbody", {}, phase.steps.map(renderStep))));
}

function renderPlan(plan) {
  return el("div", { class: "plan", "data-plan": plan.name, "data-status": plan.status },
    el("div", { class: "plan-head" },
      el("strong", {}, plan.name),
      badge(plan.status, "plan-status"),
      el("span", { class: "message" }, plan.strategy),
      actionButton("interrupt", { "data-plan": plan.name }, "Interrupt"),
      actionButton("continue", { "data-plan": plan.name }, "Continue")),
    plan.errors.length ? el("div", { class: "errors" }, plan.errors.join("; ")) : null,
    plan.phases.map(renderPhase));
}

function renderPlans(plans) {
  $("plans").replaceChildren(...plans.map(renderPlan));
}

function renderPods(pods, targetId) {
  $("pods").tBodies[0].replaceChildren(...pods.map((pod) => {
    const address = pod.hostname
      ? pod.hostname + (pod.ports.length ? ":" + pod.ports.map(([a, b]) => (a === b ? a : `${a}-${b}`)).join(",") : "")
      : "";
    const volumes = pod.volumes.map((v) => `${v.container_path} (${v.size_mb} MiB ${v.kind})`).join(", ");
    const config = pod.config_id === null ? "" :
      pod.config_id === targetId ? "target" : pod.differs.length ? pod.differs.join("; ") : pod.config_id;
    return el("tr", { "data-instance": pod.instance },
      el("td", {}, el("strong", {}, pod.instance)),
      el("td", { class: "state" }, badge(pod.state)),
      el("td", { class: "ready" }, badge(pod.ready ? "yes" : "no")),
      el("td", { class: "restarts" }, pod.restarts),
      el("td", { class: "age", "data-since": pod.status_time }, age(pod.status_time)),
      el("td", { class: "mono" }, pod.agent_id || ""),
      el("td", { class: "mono" }, address),
      el("td", {}, volumes),
      el("td", { class: pod.config_id === targetId ? "config" : "config differs", title: pod.config_id || "" }, config),
      el("td", { class: "task-id mono" }, pod.task_id || ""),
      el("td", {},
        actionButton("restart", { "data-instance": pod.instance }, "Restart"), " ",
        actionButton("replace", { "data-instance": pod.instance }, "Replace", true)));
  }));
}

function renderTarget(target) {
  $("target-id").textContent = target ? target.id : "none yet";
  $("target").replaceChildren(...(target ? target.task_types : []).map((t) => el("div", {},
    el("h3", {}, t.name),
    el("table", {}, el("tbody", {}, Object.entries(t.settings).map(([key, value]) =>
      el("tr", {}, el("td", {}, key), el("td", { class: "mono" }, value))))))));
}

function renderOffers(offers) {
  const resources = (rs) => rs.filter((r) => r.scalar !== null)
    .map((r) => `${r.name} ${r.scalar}${r.role ? ` (${r.role})` : ""}`).join(", ");
  $("offers").replaceChildren(
    el("h3", {}, `Latest offers (${offers.offers.length})`),
    el("table", {}, el("tbody", {}, offers.offers.map((o) => el("tr", {},
      el("td", { class: "mono" }, o.offer_id), el("td", {}, o.hostname), el("td", {}, resources(o.resources)))))),
    el("h3", {}, `Pending steps (${offers.steps.length})`),
    el("table", {}, el("tbody", {}, offers.steps.map((s) => s.outcomes.map((o) => el("tr", {},
      el("td", {}, `${s.plan}/${s.step}`), el("td", { class: "mono" }, o.offer_id),
      el("td", {}, badge(o.used ? "yes" : "no")), el("td", { class: "message" }, o.reason)))))));
}

// Renders a section only when its part of the view changed, so that buttons stay put.
function renderPart(name, value, render) {
  const json = JSON.stringify(value);
  if (last[name] === json) return;
  last[name] = json;
  render();
}

function render(view) {
  $("service").textContent = view.service || "Stead";
  document.title = `${view.service || "Stead"} · Stead dashboard`;
  const health = $("health");
  health.textContent = view.health.state;
  health.className = `badge ${view.health.state}`;
  const targetId = view.target ? view.target.id : null;
  renderPart("plans", view.plans, () => renderPlans(view.plans));
  renderPart("pods", [view.pods, targetId], () => renderPods(view.pods, targetId));
  renderPart("target", view.target, () => renderTarget(view.target));
  renderPart("offers", view.offers, () => renderOffers(view.offers));
}

setInterval(() => {
  for (const cell of document.querySelectorAll("td.age[data-since]")) {
    cell.textContent = age(Number(cell.dataset.since));
  }
}, 1000);

// ---- the event stream (fetched rather than EventSource, which cannot send a token) ----

function setLive(live, text) {
  const node = $("live");
  node.dataset.live = String(live);
  node.textContent = text;
}

function dispatch(block) {
  let type = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return;
  const payload = JSON.parse(data.join("\n"));
  if (type === "dashboard") render(payload);
  else if (type === "error") notice(payload.message, true);
}

async function stream() {
  try {
    const response = await fetch(EVENTS, { headers: headers({ Accept: "text/event-stream" }) });
    if (response.status === 401) {
      setLive(false, "needs token");
      notice("Reading this service needs the API read token: enter it above.", true);
      return;
    }
    if (!response.ok) throw new Error(`${EVENTS}: ${response.status}`);
    setLive(true, "live");
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    setLive(false, "disconnected");
  } catch (e) {
    setLive(false, "disconnected");
  }
  setTimeout(stream, RETRY_MS);
}

const tokenInput = $("token");
tokenInput.value = sessionStorage.getItem(TOKEN_KEY) || "";
tokenInput.addEventListener("change", () => {
  sessionStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
  if ($("live").dataset.live !== "true") stream();
});
stream();
