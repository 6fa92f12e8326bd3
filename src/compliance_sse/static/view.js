// Rendering. Every text that comes from a document or a user (file names, quotes, titles) is set
// with textContent, never as HTML.

export const STAGES = ["queued", "ingest", "extract", "analyze", "report"];

export const SEVERITY = {
  5: "Critical",
  4: "High",
  3: "Medium",
  2: "Low",
  1: "Info",
};

const CATEGORY = {
  aml: "Anti-money laundering",
  kyc_cdd: "KYC / due diligence",
  sanctions: "Sanctions",
  bribery_corruption: "Bribery and corruption",
  cross_border: "Cross-border transfer",
  data_protection: "Data protection",
  personal_data: "Personal data",
  financial_regulation: "Financial regulation",
  risk_management: "Risk management",
  document_integrity: "Document integrity",
  other: "Other",
};

const GAUGE_LENGTH = 157.08; // the length of the gauge's half circle (radius 50)

export const $ = (id) => document.getElementById(id);

/** Build an element; string children become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function show(id, visible = true) {
  $(id).hidden = !visible;
}

export function setText(id, text) {
  $(id).textContent = text;
}

export function formatBytes(n) {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

export function formatSeconds(s) {
  if (s < 1) return "under a second";
  if (s < 60) return `${Math.round(s)} s`;
  const minutes = Math.floor(s / 60);
  return `${minutes} min ${Math.round(s - minutes * 60)} s`;
}

export function severityName(severity) {
  return SEVERITY[clampSeverity(severity)];
}

function clampSeverity(severity) {
  const n = Math.round(Number(severity));
  return Number.isFinite(n) ? Math.min(5, Math.max(1, n)) : 1;
}

// ---- the live view ----

export function resetLive(docName, waiting) {
  setText("live-doc", docName || "the document");
  setText("notice", "");
  $("notice").dataset.tone = "";
  setText("run-error", "");
  $("live-panel").classList.toggle("waiting", waiting);
  show("spinner", waiting);
  show("steps", !waiting);
  show("progress-block", !waiting);
  for (const item of $("steps").children) setStep(item, "pending");
  $("bar").value = 0;
  setText("percent", "0%");
  setText("stage-msg", "Waiting for the server");
  show("pages", false);
  show("eta", false);
  connection(waiting ? "waiting" : "connecting");
  show("live-panel");
  show("report-panel", false);
  clearFindings();
}

function setStep(item, state) {
  item.dataset.state = state;
  const label = { pending: "waiting", active: "in progress", done: "done", failed: "failed" }[state];
  item.querySelector(".step-state").textContent = label;
  if (state === "active") item.setAttribute("aria-current", "step");
  else item.removeAttribute("aria-current");
}

function markStages(current, currentState) {
  const at = STAGES.indexOf(current);
  if (at < 0) return;
  $("steps").querySelectorAll("li").forEach((item, i) => {
    if (i < at) setStep(item, "done");
    else if (i === at) setStep(item, currentState);
    else if (item.dataset.state !== "pending") setStep(item, "pending");
  });
}

export function progress(body) {
  markStages(body.stage, "active");
  const percent = Math.max(0, Math.min(100, Number(body.percent) || 0));
  $("bar").value = percent;
  setText("percent", `${Math.round(percent)}%`);
  if (typeof body.message === "string") setText("stage-msg", body.message);
  if (Number(body.pages) > 0) {
    setText("pages", `Page ${Number(body.page) || 0} of ${Number(body.pages)}`);
    show("pages");
  }
  if (body.eta_s === null || body.eta_s === undefined) {
    setText("eta", "Estimating time left");
  } else {
    const eta = Number(body.eta_s);
    setText("eta", eta < 1 ? "Less than a second left" : `About ${formatSeconds(eta)} left`);
  }
  show("eta");
}

export function finished(report) {
  markStages("report", "done");
  $("bar").value = 100;
  setText("percent", "100%");
  setText("stage-msg", "Analysis complete");
  const seconds = Number(report.duration_s);
  setText("eta", Number.isFinite(seconds) ? `Took ${formatSeconds(seconds)}` : "Done");
  show("spinner", false);
  connection("closed", "Finished");
}

export function failed(stage, sentence) {
  if (STAGES.includes(stage)) markStages(stage, "failed");
  setText("stage-msg", "The analysis stopped");
  show("eta", false);
  show("spinner", false);
  setText("run-error", sentence);
  connection("closed", "Stopped");
}

const CONNECTION_TEXT = {
  connecting: "Connecting",
  live: "Live",
  reconnecting: "Reconnecting",
  waiting: "Waiting for the report",
  closed: "Closed",
  idle: "Idle",
};

export function connection(state, detail = "") {
  $("conn").dataset.state = state;
  setText("conn-text", detail || CONNECTION_TEXT[state] || state);
}

export function heartbeat(body) {
  const when = new Date((Number(body.ts) || Date.now() / 1000) * 1000);
  connection("live", `Live · heartbeat ${when.toLocaleTimeString()}`);
  const conn = $("conn");
  conn.classList.remove("beat");
  void conn.offsetWidth; // restart the pulse animation
  conn.classList.add("beat");
}

export function notice(text, tone = "info") {
  $("notice").dataset.tone = tone;
  setText("notice", text);
}

// ---- findings ----

export function clearFindings() {
  $("findings").replaceChildren();
  $("findings").dataset.flagEvents = "0";
  show("findings-panel", false);
  updateCount(false);
}

function updateCount(final) {
  const n = $("findings").querySelectorAll(".finding").length;
  const noun = n === 1 ? "finding" : "findings";
  setText("findings-count", final ? `(${n})` : `(${n} so far)`);
  $("findings-count").setAttribute("aria-label", `${n} ${noun}${final ? "" : " so far"}`);
  show("findings-empty", n === 0);
}

function group(severity) {
  const level = clampSeverity(severity);
  let section = $("findings").querySelector(`section[data-severity="${level}"]`);
  if (section) return section.querySelector("ul");
  const name = SEVERITY[level];
  section = el(
    "section",
    { class: `severity sev-${level}`, "data-severity": level, "aria-label": `${name} severity` },
    el("h3", { class: "group-title" }, el("span", { class: `badge sev-${level}` }, name), " severity"),
    el("ul", { class: "finding-list" }),
  );
  const after = [...$("findings").children].find((s) => Number(s.dataset.severity) < level);
  $("findings").insertBefore(section, after || null);
  return section.querySelector("ul");
}

function findingItem(flag) {
  const level = clampSeverity(flag.severity);
  const category = CATEGORY[flag.category] || String(flag.category || "other");
  const evidence = Array.isArray(flag.evidence) ? flag.evidence : [];
  return el(
    "li",
    { class: `finding sev-${level}`, "data-flag-id": String(flag.id || "") },
    el(
      "div",
      { class: "finding-head" },
      el("span", { class: `badge sev-${level}` }, `${SEVERITY[level]} · ${level}/5`),
      el("span", { class: "category" }, category),
    ),
    el("h4", { class: "finding-title" }, String(flag.title || "Finding")),
    el(
      "dl",
      { class: "finding-body" },
      el("dt", {}, "Why it matters"),
      el("dd", {}, String(flag.why_it_matters || "")),
      el("dt", {}, "Recommendation"),
      el("dd", {}, String(flag.recommendation || "")),
    ),
    evidence.length
      ? el(
          "div",
          { class: "evidence" },
          el("p", { class: "evidence-title" }, evidence.length === 1 ? "Evidence" : `Evidence (${evidence.length})`),
          ...evidence.map((e) =>
            el(
              "figure",
              { class: "quote" },
              el("blockquote", {}, String(e.quote || "")),
              el("figcaption", {}, `Page ${Number(e.page) || "?"}`),
            ),
          ),
        )
      : null,
  );
}

/** One finding, as a `flag` event brings it. */
export function addFinding(flag) {
  const findings = $("findings");
  findings.dataset.flagEvents = String(Number(findings.dataset.flagEvents || 0) + 1);
  group(flag.severity).append(findingItem(flag));
  show("findings-panel");
  updateCount(false);
}

/** The report's findings, which are final: they replace what the stream showed. */
function renderFindings(flags) {
  const events = $("findings").dataset.flagEvents;
  $("findings").replaceChildren();
  $("findings").dataset.flagEvents = events || "0";
  const sorted = [...flags].sort((a, b) => clampSeverity(b.severity) - clampSeverity(a.severity));
  for (const flag of sorted) group(flag.severity).append(findingItem(flag));
  show("findings-panel");
  updateCount(true);
}

// ---- the report ----

export function riskLevel(report) {
  if (typeof report.risk_level === "string" && report.risk_level) return report.risk_level;
  const r = Number(report.overall_risk) || 0;
  if (r >= 0.8) return "CRITICAL";
  if (r >= 0.6) return "HIGH";
  if (r >= 0.4) return "MEDIUM";
  if (r >= 0.2) return "LOW";
  return "MINIMAL";
}

export function showReport(report, jobLink) {
  const risk = Math.max(0, Math.min(1, Number(report.overall_risk) || 0));
  const level = riskLevel(report);
  $("gauge").dataset.level = level;
  $("gauge-value").setAttribute("stroke-dasharray", `${(risk * GAUGE_LENGTH).toFixed(2)} ${GAUGE_LENGTH}`);
  setText("level", level);
  setText("risk-number", `Overall risk ${risk.toFixed(2)}`);
  const pages = Number(report.page_count) || 0;
  const parts = [
    String(report.doc_name || "document"),
    `${pages} ${pages === 1 ? "page" : "pages"}`,
    `${String(report.analyzer || "rules")} analyser`,
  ];
  setText("doc-meta", parts.join(" · "));
  setText("summary", String(report.summary || ""));
  const notes = Array.isArray(report.notes) ? report.notes.map(String) : [];
  $("notes").replaceChildren(...notes.map((note) => el("li", {}, note)));
  show("notes", notes.length > 0);
  const link = $("job-link");
  link.href = jobLink;
  link.textContent = jobLink;
  setText("copy-status", "");
  show("report-panel");
  renderFindings(Array.isArray(report.flags) ? report.flags : []);
}

// ---- recent jobs ----

const STATUS = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" };

export function recentJobs(jobs) {
  const list = $("recent");
  list.replaceChildren(
    ...jobs.map((job) => {
      const bits = [STATUS[job.status] || String(job.status || "")];
      if (job.status === "done" && typeof job.overall_risk === "number") {
        bits.push(`risk ${riskLevel({ overall_risk: job.overall_risk })}`);
      }
      if (job.status === "failed" && job.error_code) bits.push(String(job.error_code).replaceAll("_", " "));
      if (job.created) bits.push(new Date(job.created * 1000).toLocaleString());
      return el(
        "li",
        { class: "recent-item", "data-status": String(job.status || "") },
        el("a", { href: `#job=${encodeURIComponent(job.job_id)}` }, String(job.doc_name || job.job_id)),
        el("span", { class: "recent-meta" }, bits.join(" · ")),
      );
    }),
  );
  show("recent-empty", jobs.length === 0);
}
