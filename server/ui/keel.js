// What keel's pages share: the credentials a person signs in with, authenticated API calls, and run streams
// (server-sent events read through fetch, so they can carry the credentials, and resumed with Last-Event-ID).

const CREDENTIALS = "keel.credentials";

export function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem(CREDENTIALS) || "null");
  } catch {
    return null;
  }
}

export function signIn(kind, secret) {
  sessionStorage.setItem(CREDENTIALS, JSON.stringify({ kind, secret }));
}

export function signOut() {
  sessionStorage.removeItem(CREDENTIALS);
}

function authHeaders() {
  const signedIn = credentials();
  if (!signedIn || !signedIn.secret) return {};
  return signedIn.kind === "api-key" ? { "x-api-key": signedIn.secret } : { Authorization: `Bearer ${signedIn.secret}` };
}

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

async function failure(response) {
  let detail = response.statusText;
  try {
    const body = await response.json();
    detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    // not JSON: the status text says enough
  }
  return new ApiError(response.status, detail);
}

function request(path, { method = "GET", body, headers = {} } = {}) {
  const json = body === undefined ? {} : { "Content-Type": "application/json" };
  return fetch(path, {
    method,
    headers: { ...authHeaders(), ...json, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

export async function api(path, options) {
  const response = await request(path, options);
  if (!response.ok) throw await failure(response);
  return response.status === 204 ? null : response.json();
}

// Parses a text/event-stream body into {id, event, data} (data parsed as JSON when it is JSON).
async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    // A frame ends at a blank line; a trailing "\r" may be half of a "\r\n" still in flight.
    const complete = buffer.endsWith("\r") ? buffer.slice(0, -1) : buffer;
    const held = buffer.slice(complete.length);
    const lines = complete.replace(/\r\n?/g, "\n").split("\n\n");
    buffer = lines.pop() + held;
    for (const frame of lines) {
      const event = parseFrame(frame);
      if (event) yield event;
    }
  }
}

function parseFrame(frame) {
  let id = null;
  let event = "message";
  const data = [];
  for (const line of frame.split("\n")) {
    if (!line || line.startsWith(":")) continue; // a comment: the server's keep-alive ping
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") id = value;
    else if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  if (!data.length && id === null) return null;
  const text = data.join("\n");
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text data
  }
  return { id, event, data: parsed };
}

const RECONNECTS = 30;

// Starts a run with POST `path` (a /runs/stream endpoint) and follows its events to the run's `end`, calling
// onEvent for each. A stream that breaks off before `end` (a proxy timeout, keel restarting) is joined again at
// GET /threads/{id}/runs/{run_id}/stream with Last-Event-ID, so no event is missed or repeated.
export async function streamRun(path, body, { onEvent = () => {}, onStatus = () => {} } = {}) {
  let response = await request(path, { method: "POST", body });
  if (!response.ok) throw await failure(response);
  const threadId = body.thread_id || path.split("/")[2];
  let runId = runFrom(response.headers.get("Content-Location"));
  let lastId = null;
  onStatus("streaming", runId);
  for (let attempt = 0; ; attempt += 1) {
    try {
      for await (const event of serverSentEvents(response)) {
        if (event.id !== null) lastId = event.id;
        if (event.event === "metadata" && event.data && event.data.run_id) runId = event.data.run_id;
        onEvent(event);
        if (event.event === "end") {
          onStatus("done", runId);
          return runId;
        }
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      // the connection broke: join the run again below
    }
    if (!runId || attempt >= RECONNECTS) throw new Error("the run's stream ended early and could not be joined again");
    onStatus("reconnecting", runId);
    await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 5000)));
    const modes = (body.stream_mode || []).map((mode) => `stream_mode=${encodeURIComponent(mode)}`).join("&");
    try {
      response = await request(`/threads/${threadId}/runs/${runId}/stream?${modes}`, {
        headers: lastId === null ? {} : { "Last-Event-ID": lastId },
      });
    } catch {
      continue; // keel is not reachable yet: try again
    }
    if (response.status >= 500) continue; // 503 while its database is away: try again
    if (!response.ok) throw await failure(response);
    onStatus("streaming", runId);
  }
}

function runFrom(location) {
  const match = /\/runs\/([0-9a-f-]{36})/.exec(location || "");
  return match ? match[1] : null;
}

// The text of a message's content: a string, or content blocks ([{type: "text", text}, ...]).
export function textOf(content) {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((block) => (typeof block === "string" ? block : block && block.type === "text" ? block.text : "")).join("");
}

// h("div", {class: "x"}, child, "text"): a DOM element (text is always set as text, never parsed as HTML).
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  return add(element, ...children);
}

// Appends children (nested lists flattened; null, undefined and false left out) to `element`.
export function add(element, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

// The sign-in form: an API key (x-api-key) or a bearer token (Authorization), kept for this tab only.
export function signInForm(detail, onSignedIn) {
  const kind = h("select", { name: "kind", "aria-label": "Credential type" },
    h("option", { value: "api-key" }, "API key"), h("option", { value: "bearer" }, "Bearer token"));
  const secret = h("input", { name: "secret", type: "password", autocomplete: "off", required: true, "aria-label": "Key or token" });
  const form = h("form", { class: "sign-in", id: "sign-in" },
    h("h2", {}, "Sign in"),
    h("p", { class: "muted" }, detail || "keel asks for credentials."),
    h("label", {}, "Credential ", kind),
    h("label", {}, "Key or token ", secret),
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(kind.value, secret.value.trim());
    onSignedIn();
  });
  return form;
}

// A message in a conversation: who said it, and its text or tool calls, compactly.
export function messageView(message) {
  const kind = message.type || message.role || "message";
  const who = { human: "Person", user: "Person", ai: "Agent", assistant: "Agent", tool: "Tool", system: "System" }[kind] || kind;
  const calls = (message.tool_calls || []).map((call) =>
    h("div", { class: "tool-call" }, `→ ${call.name}(${JSON.stringify(call.args)})`));
  const label = kind === "tool" && message.name ? `${who} · ${message.name}` : message.name && kind === "ai" ? `${who} · ${message.name}` : who;
  return h("div", { class: `message ${kind}` }, h("span", { class: "who" }, label), h("div", { class: "text" }, textOf(message.content)), calls);
}
