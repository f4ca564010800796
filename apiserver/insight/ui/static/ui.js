// Skiff's pages: the overview's tables follow the API's watch (JSON lines of
// {"type","object"}), as kubectl get -w does.
"use strict";

function humanAge(created) {
  if (!created) return "<unknown>";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(created)) / 1000));
  // As k8s.io/apimachinery's duration.HumanDuration, in its coarse steps.
  if (s < 120) return s + "s";
  const m = Math.floor(s / 60);
  if (m < 10) return m + "m" + (s % 60 ? (s % 60) + "s" : "");
  if (m < 180) return m + "m";
  const h = Math.floor(m / 60);
  if (h < 8) return h + "h" + (m % 60 ? (m % 60) + "m" : "");
  if (h < 48) return h + "h";
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return d + "d" + (h % 24 ? (h % 24) + "h" : "");
  if (d < 365 * 2) return d + "d";
  return Math.floor(d / 365) + "y";
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// podCells is the Go NewPodRow of the same pod.
function podCells(pod) {
  const md = pod.metadata, st = pod.status || {}, spec = pod.spec || {};
  let ready = 0, restarts = 0;
  for (const c of st.containerStatuses || []) {
    if (c.ready) ready++;
    restarts += c.restartCount || 0;
  }
  const name = document.createElement("td");
  const a = document.createElement("a");
  a.href = "/ui/pods/" + encodeURIComponent(md.namespace) + "/" + encodeURIComponent(md.name);
  a.textContent = md.name;
  name.appendChild(a);
  const age = cell(humanAge(md.creationTimestamp), "age");
  age.dataset.created = md.creationTimestamp || "";
  return [name, cell(md.namespace), cell(md.deletionTimestamp ? "Terminating" : (st.phase || ""), "phase"),
    cell(spec.nodeName || ""), cell(ready + "/" + (spec.containers || []).length), cell(String(restarts)), age];
}

// nodeCells is the Go NewNodeRow of the same node.
function nodeCells(node) {
  const md = node.metadata, st = node.status || {};
  let status = "Unknown";
  for (const c of st.conditions || []) {
    if (c.type === "Ready") status = c.status === "True" ? "Ready" : c.status === "False" ? "NotReady" : "Unknown";
  }
  if (node.spec && node.spec.unschedulable) status += ",SchedulingDisabled";
  const roles = Object.keys(md.labels || {}).filter(k => k.startsWith("node-role.kubernetes.io/"))
    .map(k => k.slice("node-role.kubernetes.io/".length)).filter(r => r).sort().join(",") || "<none>";
  const ip = ((st.addresses || []).find(a => a.type === "InternalIP") || {}).address || "";
  const age = cell(humanAge(md.creationTimestamp), "age");
  age.dataset.created = md.creationTimestamp || "";
  return [cell(md.name), cell(status, "status"), cell(roles), cell((st.nodeInfo || {}).kubeletVersion || ""), cell(ip), age];
}

// LiveTable keeps a table's rows equal to the objects of a list and watch.
class LiveTable {
  constructor(table, path, key, cells) {
    this.table = table;
    this.body = table.tBodies[0];
    this.path = path;
    this.key = key;
    this.cells = cells;
    this.version = table.dataset.resourceVersion || "";
  }

  rowFor(obj) {
    const k = this.key(obj);
    for (const tr of this.body.rows) if (tr.dataset.key === k) return tr;
    return null;
  }

  apply(type, obj) {
    if (obj.metadata && obj.metadata.resourceVersion) this.version = obj.metadata.resourceVersion;
    if (type === "BOOKMARK") return;
    const existing = this.rowFor(obj);
    if (type === "DELETED") {
      if (existing) existing.remove();
      return;
    }
    const tr = document.createElement("tr");
    tr.dataset.key = this.key(obj);
    for (const td of this.cells(obj)) tr.appendChild(td);
    tr.className = "changed";
    setTimeout(() => tr.classList.remove("changed"), 1500);
    if (existing) existing.replaceWith(tr); else this.body.appendChild(tr);
  }

  async relist() {
    const resp = await fetch(this.path, {headers: {Accept: "application/json"}});
    if (!resp.ok) throw new Error("list " + this.path + ": " + resp.status);
    const list = await resp.json();
    this.body.replaceChildren();
    for (const obj of list.items || []) this.apply("ADDED", obj);
    this.version = list.metadata.resourceVersion;
  }

  // run lists (unless the page came with the list's version) and watches from there, again
  // and again: a watch the server closes resumes at the last version seen, an expired
  // version (410 Gone) lists again.
  async run(status) {
    // The server-rendered rows get the same keys as the script's.
    for (const tr of this.body.rows) tr.dataset.key = tr.dataset.key || tr.dataset.uid || tr.dataset.name;
    for (;;) {
      try {
        if (!this.version) await this.relist();
        const sep = this.path.includes("?") ? "&" : "?";
        const resp = await fetch(this.path + sep + "watch=1&allowWatchBookmarks=true&resourceVersion=" + encodeURIComponent(this.version),
          {headers: {Accept: "application/json"}});
        if (resp.status === 410) { this.version = ""; continue; }
        if (!resp.ok) throw new Error("watch " + this.path + ": " + resp.status);
        status("live");
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.indexOf("\n")) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line);
            if (ev.type === "ERROR") {
              if (ev.object && ev.object.code === 410) this.version = "";
              throw new Error(ev.object && ev.object.message || "watch error");
            }
            this.apply(ev.type, ev.object);
          }
        }
      } catch (e) {
        status("reconnecting: " + e.message);
        await new Promise(r => setTimeout(r, 1000));
      }
    }
  }
}

function refreshAges() {
  for (const td of document.querySelectorAll("td.age[data-created]")) td.textContent = humanAge(td.dataset.created);
}

document.addEventListener("DOMContentLoaded", () => {
  const pods = document.getElementById("pods");
  const nodes = document.getElementById("nodes");
  const live = document.getElementById("live");
  if (!pods || !nodes) return;
  const states = {};
  const status = name => s => { states[name] = s; live.textContent = "nodes: " + (states.nodes || "…") + " · pods: " + (states.pods || "…"); };
  const ns = pods.dataset.namespace;
  const podsPath = ns ? "/api/v1/namespaces/" + encodeURIComponent(ns) + "/pods" : "/api/v1/pods";
  new LiveTable(nodes, "/api/v1/nodes", n => n.metadata.name, nodeCells).run(status("nodes"));
  new LiveTable(pods, podsPath, p => p.metadata.uid, podCells).run(status("pods"));
  setInterval(refreshAges, 5000);
});
