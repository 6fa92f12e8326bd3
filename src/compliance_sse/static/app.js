// The page's controller: upload, live stream (or wait for the report), resume, reopen a job.

import { ApiError, api, apiKey, authHeaders, config, errorFrom, setApiKey } from "./api.js";
import { EventParser } from "./sse.js";
import * as view from "./view.js";

const { $ } = view;
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;
const NOT_STARTED = "Live streaming could not start, so this page waits for the complete report instead.";

let selectedFile = null;
let current = null; // the Run on screen

/** One job on screen: its ids, the stream that follows it, and whether it has ended. */
class Run {
  constructor(docName) {
    this.docName = docName;
    this.jobId = null;
    this.eventsUrl = null;
    this.lastEventId = "";
    this.report = null;
    this.ended = false;
    this.source = null;
    this.controller = new AbortController();
  }

  get live() {
    return current === this && !this.ended;
  }

  /** Stop following the job: the fetch is aborted and the EventSource closed. Can be called twice. */
  end() {
    this.ended = true;
    this.controller.abort();
    if (this.source) {
      this.source.close();
      this.source = null;
    }
  }
}

// ---- events, from the fetch stream or the EventSource alike ----

function jobKnown(run, jobId, eventsUrl) {
  if (!JOB_ID.test(jobId || "")) return;
  const first = !run.jobId;
  run.jobId = jobId;
  if (eventsUrl) run.eventsUrl = eventsUrl;
  else if (!run.eventsUrl) run.eventsUrl = `/jobs/${jobId}/events`;
  if (current === run) history.replaceState(null, "", `#job=${jobId}`);
  if (first) refreshRecent();
}

function handle(run, type, data) {
  if (!run.live) return;
  let body;
  try {
    body = JSON.parse(data);
  } catch {
    return; // not ours: the service's data is always one line of JSON
  }
  if (!body || typeof body !== "object") return;
  switch (type) {
    case "job":
      jobKnown(run, body.job_id, body.events_url);
      break;
    case "progress":
      view.progress(body);
      break;
    case "flag":
      view.addFinding(body);
      break;
    case "heartbeat":
      view.heartbeat(body);
      break;
    case "done":
      done(run, body);
      break;
    case "error":
      jobFailed(run, body.code, body.error, body.stage);
      break;
    default:
      break;
  }
}

function jobLink(jobId) {
  return `${location.origin}/#job=${jobId}`;
}

function done(run, report) {
  run.end();
  run.report = report;
  if (report.job_id && !run.jobId) jobKnown(run, report.job_id);
  view.finished(report);
  view.showReport(report, jobLink(run.jobId || report.job_id || ""));
  $("report-title").focus();
  setBusy(false);
  refreshRecent();
}

const PASSWORD_CODES = new Set(["password_required", "wrong_password"]);

function jobFailed(run, code, detail, stage) {
  run.end();
  const sentence = typeof detail === "string" && detail ? detail : "The analysis failed.";
  view.failed(stage, sentence);
  setBusy(false);
  if (PASSWORD_CODES.has(code)) askPassword(code, run.docName);
  refreshRecent();
}

// ---- streaming with fetch, and its fallbacks ----

function isEventStream(response) {
  return (response.headers.get("Content-Type") || "").startsWith("text/event-stream") && response.body;
}

async function streamUpload(run, body) {
  let response;
  try {
    response = await fetch("/analyze_sse", {
      method: "POST",
      body,
      headers: authHeaders({ Accept: "text/event-stream" }),
      signal: run.controller.signal,
    });
  } catch {
    if (run.live) await waitForReport(run, body, NOT_STARTED);
    return;
  }
  if (!response.ok && [404, 405, 501].includes(response.status)) {
    await waitForReport(run, body, NOT_STARTED);
    return;
  }
  if (!response.ok) throw await errorFrom(response);
  if (!isEventStream(response)) {
    await waitForReport(run, body, NOT_STARTED);
    return;
  }
  jobKnown(run, response.headers.get("X-Job-Id"));
  await follow(run, response);
}

/** Read a job's event stream with fetch; on a dropped connection, resume with an EventSource. */
async function follow(run, response) {
  view.connection("live");
  const parser = new EventParser();
  const reader = response.body.getReader();
  try {
    while (run.live) {
      const { value, done: finishedReading } = await reader.read();
      if (finishedReading) break;
      for (const event of parser.feed(value)) {
        run.lastEventId = parser.lastEventId;
        handle(run, event.type, event.data);
      }
    }
  } catch {
    // a network error: resumed below
  }
  if (!run.live) {
    reader.cancel().catch(() => {});
    return;
  }
  resume(run);
}

/** Follow the job's events_url with an EventSource, from the last event seen (Last-Event-ID). */
function resume(run) {
  if (!run.eventsUrl) {
    jobFailed(run, "connection_lost", "The connection was lost before the job started. Please upload the file again.");
    return;
  }
  view.connection("reconnecting");
  view.notice("The connection dropped. Reconnecting…", "warn");
  const url = new URL(run.eventsUrl, location.href);
  if (run.lastEventId) url.searchParams.set("last_event_id", run.lastEventId);
  const source = new EventSource(url);
  run.source = source;
  source.addEventListener("open", () => {
    if (!run.live) return;
    view.connection("live");
    view.notice("Resumed: the stream picked up where it stopped.", "ok");
  });
  for (const type of ["job", "progress", "flag", "heartbeat", "done"]) {
    source.addEventListener(type, (event) => {
      run.lastEventId = event.lastEventId || run.lastEventId;
      handle(run, type, event.data);
    });
  }
  source.addEventListener("error", (event) => {
    // A server `error` event carries data; a transport error has none.
    if (typeof event.data === "string") {
      handle(run, "error", event.data);
      return;
    }
    if (!run.live) return;
    if (source.readyState === EventSource.CLOSED) {
      jobFailed(run, "connection_lost", "The connection to the service was lost. Reload the page to try again.");
      return;
    }
    view.connection("reconnecting");
    view.notice("The connection dropped. Reconnecting…", "warn");
  });
}

/** POST /analyze and wait for the report, with a spinner (streaming off, or it could not start). */
async function waitForReport(run, body, why) {
  view.resetLive(run.docName, true);
  if (why) view.notice(why, "warn");
  const response = await fetch("/analyze", {
    method: "POST",
    body,
    headers: authHeaders({ Accept: "application/json" }),
    signal: run.controller.signal,
  });
  jobKnown(run, response.headers.get("X-Job-Id"));
  if (!response.ok) throw await errorFrom(response);
  done(run, await response.json());
}

// ---- reopening a job from its link ----

async function openJob(jobId) {
  const run = startRun("this job", false);
  jobKnown(run, jobId);
  try {
    const status = await (await api(`/jobs/${jobId}`)).json();
    run.docName = String(status.doc_name || jobId);
    view.setText("live-doc", run.docName);
    const response = await api(`/jobs/${jobId}/events`, {
      headers: { Accept: "text/event-stream" },
      signal: run.controller.signal,
    });
    await follow(run, response);
  } catch (error) {
    runError(run, error);
  }
}

function jobFromHash() {
  const match = /^#job=(.+)$/.exec(location.hash);
  if (!match) return null;
  const jobId = decodeURIComponent(match[1]);
  return JOB_ID.test(jobId) ? jobId : null;
}

function onHashChange() {
  const jobId = jobFromHash();
  if (jobId && (!current || current.jobId !== jobId)) openJob(jobId);
}

// ---- the form ----

function setBusy(busy) {
  $("analyze").disabled = busy;
  $("analyze").textContent = busy ? "Analysing…" : "Analyse";
}

function formError(sentence) {
  view.setText("form-error", sentence);
}

function startRun(docName, waiting) {
  if (current) current.end();
  current = new Run(docName);
  view.resetLive(docName, waiting);
  return current;
}

function runError(run, error) {
  if (error instanceof DOMException && error.name === "AbortError") return;
  if (error instanceof ApiError) {
    if (error.status === 401) askKey("The API key was not accepted. Enter a valid key.");
    jobFailed(run, error.code, error.detail);
    return;
  }
  jobFailed(run, "network", "The service could not be reached. Check the connection and try again.");
}

async function looksLikePdf(file) {
  const head = new Uint8Array(await file.slice(0, 1024 + 5).arrayBuffer());
  const text = String.fromCharCode(...head);
  return text.includes("%PDF-");
}

/** A sentence saying why the file cannot be sent, or "" when it can. */
async function fileProblem(file) {
  const name = `“${file.name}”`;
  const isPdfName = /\.pdf$/i.test(file.name) || file.type === "application/pdf";
  if (!isPdfName) return `${name} is not a PDF. Choose a file ending in .pdf.`;
  if (file.size === 0) return `${name} is empty.`;
  if (file.size > config.maxUploadBytes) {
    return `${name} is ${view.formatBytes(file.size)}, over the limit of ${view.formatBytes(config.maxUploadBytes)}.`;
  }
  if (!(await looksLikePdf(file))) return `${name} is not a PDF: it does not start like one.`;
  return "";
}

async function choose(file) {
  selectedFile = file || null;
  formError("");
  view.show("password-row", false);
  $("password").value = "";
  if (!file) {
    view.show("file-name", false);
    return;
  }
  view.setText("file-name", `${file.name} · ${view.formatBytes(file.size)}`);
  view.show("file-name");
  const problem = await fileProblem(file);
  if (problem) {
    selectedFile = null;
    formError(problem);
  }
}

function askPassword(code, docName) {
  const wrong = code === "wrong_password" && !$("password-row").hidden;
  view.show("password-row");
  formError(
    wrong
      ? `That password does not open “${docName}”. Check it and press Analyse again.`
      : `“${docName}” is protected by a password. Enter it below and press Analyse again.`,
  );
  $("password").focus();
}

async function submit(event) {
  event.preventDefault();
  formError("");
  if (config.authRequired && !apiKey()) {
    askKey("Enter an API key first.");
    return;
  }
  const file = selectedFile;
  if (!file) {
    formError($("file").files.length ? "Choose another file: this one cannot be analysed." : "Choose a PDF first.");
    $("file").focus();
    return;
  }
  const body = new FormData();
  body.append("file", file, file.name);
  if (!$("password-row").hidden && $("password").value) body.append("password", $("password").value);
  const streaming = $("live").checked;
  const run = startRun(file.name, !streaming);
  setBusy(true);
  try {
    if (streaming) await streamUpload(run, body);
    else await waitForReport(run, body, "");
  } catch (error) {
    runError(run, error);
  }
}

// ---- the API key ----

function askKey(message) {
  setApiKey("");
  if (message) view.setText("key-message", message);
  view.show("key-panel");
  $("key").focus();
}

function saveKey(event) {
  event.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  setApiKey(key);
  $("key").value = "";
  view.show("key-panel", false);
  refreshRecent();
  onHashChange();
  $("file").focus();
}

// ---- recent jobs, downloads, link ----

async function refreshRecent() {
  if (config.authRequired && !apiKey()) return;
  try {
    const body = await (await api("/jobs?limit=10")).json();
    view.recentJobs(Array.isArray(body.jobs) ? body.jobs : []);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) askKey("The API key was not accepted. Enter a valid key.");
  }
}

function baseName() {
  const name = String(current?.report?.doc_name || "report").replace(/\.pdf$/i, "");
  return name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80) || "report";
}

function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = view.el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function downloadJson() {
  if (!current?.report) return;
  const text = JSON.stringify(current.report, null, 2);
  download(new Blob([text], { type: "application/json" }), `${baseName()}.json`);
}

async function downloadMarkdown() {
  if (!current?.jobId) return;
  try {
    const response = await api(`/jobs/${current.jobId}/report.md`);
    download(await response.blob(), `${baseName()}.md`);
    view.setText("copy-status", "");
  } catch (error) {
    view.setText("copy-status", error instanceof ApiError ? error.detail : "The download failed.");
  }
}

async function copyLink() {
  const link = $("job-link").href;
  try {
    await navigator.clipboard.writeText(link);
    view.setText("copy-status", "Link copied. Opening it shows this job again.");
  } catch {
    view.setText("copy-status", "Copy the link above: the browser did not allow copying.");
  }
}

// ---- wiring ----

function wireDrop() {
  const drop = $("drop");
  const over = (event) => {
    event.preventDefault();
    drop.classList.add("over");
  };
  drop.addEventListener("dragenter", over);
  drop.addEventListener("dragover", over);
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const files = event.dataTransfer?.files;
    if (!files || !files.length) return;
    try {
      $("file").files = files;
    } catch {
      // an older browser: the dropped file is still used
    }
    choose(files[0]);
  });
}

function init() {
  view.setText("cap", view.formatBytes(config.maxUploadBytes));
  $("file").addEventListener("change", () => choose($("file").files[0]));
  $("upload-form").addEventListener("submit", submit);
  $("key-form").addEventListener("submit", saveKey);
  $("refresh").addEventListener("click", refreshRecent);
  $("download-json").addEventListener("click", downloadJson);
  $("download-md").addEventListener("click", downloadMarkdown);
  $("copy-link").addEventListener("click", copyLink);
  window.addEventListener("hashchange", onHashChange);
  wireDrop();
  if (config.authRequired && !apiKey()) {
    askKey("");
    document.body.dataset.ready = "true";
    return;
  }
  refreshRecent();
  onHashChange();
  document.body.dataset.ready = "true";
}

init();
