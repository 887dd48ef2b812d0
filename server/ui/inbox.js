// The approval inbox: the approvals the signed-in caller may decide (GET /approvals?status=pending), each with
// the agent's reason, the conversation so far and the proposed call as a form; a decision resumes the thread
// (command.resume through POST /threads/{id}/runs/stream) and the resumed run streams in live.
import { add, api, credentials, h, messageView, signInForm, signOut, streamRun, textOf } from "./keel.js";
import { schemaForm } from "./schema_form.js";

const pendingList = document.getElementById("pending");
const decidedList = document.getElementById("decided");
const notice = document.getElementById("notice");
const account = document.getElementById("account");
const gate = document.getElementById("gate");
const schemas = new Map(); // tool name → its args schema (a promise), fetched once per page

function say(text, kind = "") {
  notice.textContent = text;
  notice.className = kind;
}

function showAccount() {
  const signedIn = credentials();
  account.replaceChildren(signedIn
    ? h("span", {}, `Signed in with ${signedIn.kind === "api-key" ? "an API key" : "a bearer token"} `,
        h("button", { type: "button", id: "sign-out", onclick: () => { signOut(); location.reload(); } }, "Sign out"))
    : h("span", { class: "muted" }, ""));
}

async function load() {
  showAccount();
  let pending;
  try {
    pending = await api("/approvals?status=pending&limit=100");
  } catch (error) {
    if (error.status === 401) {
      if (credentials()) signOut();
      gate.replaceChildren(signInForm(error.detail, () => { gate.replaceChildren(); load(); }));
      pendingList.replaceChildren();
      say("");
      return;
    }
    say(`Could not load the inbox: ${error.message}`, "error");
    return;
  }
  const byThread = new Map();
  for (const item of pending) byThread.set(item.thread_id, [...(byThread.get(item.thread_id) || []), item]);
  const cards = await Promise.all([...byThread].map(([threadId, items]) => threadCards(threadId, items)));
  const shown = new Set([...decidedList.querySelectorAll("[data-interrupt]")].map((card) => card.dataset.interrupt));
  pendingList.replaceChildren(...cards.flat().filter((card) => !shown.has(card.dataset.interrupt)));
  say(pendingList.children.length ? `${pendingList.children.length} pending` : "No approvals are waiting for you.");
  document.body.dataset.loaded = "true";
}

async function threadCards(threadId, items) {
  const [state, runs] = await Promise.all([
    api(`/threads/${threadId}/state`),
    api(`/threads/${threadId}/runs?limit=1`),
  ]);
  const values = new Map((state.interrupts || []).map((interrupt) => [interrupt.id, interrupt.value]));
  const latest = runs[0] || {};
  const messages = (state.values && state.values.messages) || [];
  const context = { threadId, messages, assistantId: latest.assistant_id, traceUrl: (latest.metadata || {}).trace_url };
  return Promise.all(items.map((item) => approvalCard(item, values.get(item.interrupt_id) || item, context)));
}

function schemaOf(name, value) {
  const declared = (value.review_configs || []).find((config) => config.action_name === name);
  if (declared && declared.args_schema) return Promise.resolve(declared.args_schema);
  if (!schemas.has(name)) schemas.set(name, api(`/tools/${encodeURIComponent(name)}`).then((tool) => tool.args_schema, () => null));
  return schemas.get(name);
}

// keel's own payload is one call (`tool`, `args`); LangChain's HITL payload lists N `action_requests`.
function actionsOf(value) {
  if (value.tool) return { several: false, actions: [{ name: value.tool, args: value.args || {}, description: value.description }] };
  return { several: true, actions: (value.action_requests || []).map((action) => ({ ...action, args: action.args || {} })) };
}

const DRAFTS = "keel.draft.";

function loadDraft(interruptId) {
  try {
    return JSON.parse(sessionStorage.getItem(DRAFTS + interruptId) || "null") || {};
  } catch {
    return {};
  }
}

async function approvalCard(item, value, context) {
  if (value.type === "budget") return budgetCard(item, value, context);
  const interruptId = item.interrupt_id;
  const { several, actions } = actionsOf(value);
  const draft = loadDraft(interruptId);
  const note = h("textarea", { name: "note", rows: 2, placeholder: "Your reason (to reject) or message to the agent (to respond)" }, draft.note || "");
  const problem = h("p", { class: "problem", role: "alert" });
  const outcome = h("div", { class: "outcome" });
  const buttons = {};
  const forms = [];
  const choices = [];

  const saveDraft = () => {
    sessionStorage.setItem(DRAFTS + interruptId, JSON.stringify({
      args: forms.map((form) => form.values()), note: note.value, choices: choices.map((choice) => choice && choice.value),
    }));
    enableButtons(buttons, forms, several);
  };
  const schemaList = await Promise.all(actions.map((action) => schemaOf(action.name, value)));
  const sections = actions.map((action, index) => {
    const form = schemaForm(schemaList[index], action.args, {
      idPrefix: `${interruptId}-${index}`,
      draft: (draft.args || [])[index],
      onChange: () => {
        if (choices[index] && form.changed() && choices[index].value === "approve") choices[index].value = "edit";
        saveDraft();
      },
    });
    forms.push(form);
    const choice = several
      ? h("select", { name: "decision", "aria-label": `Decision on ${action.name}`, onchange: saveDraft },
          ["approve", "edit", "reject"].map((kind) => h("option", { value: kind, selected: (draft.choices || [])[index] === kind }, kind)))
      : null;
    choices.push(choice);
    return h("fieldset", { class: "action" },
      h("legend", {}, `Proposed call: ${action.name}`),
      action.description ? h("p", { class: "muted" }, action.description) : null,
      form.element,
      choice ? h("label", {}, "Decision ", choice) : null);
  });

  const card = h("article", { class: "approval", "data-interrupt": interruptId, "data-thread": context.threadId });
  const decide = (kind) => send(card, kind, { several, actions, forms, choices, note, problem, outcome, buttons, context, interruptId });
  if (several) {
    buttons.send = h("button", { type: "button", "data-decision": "decisions", onclick: () => decide("decisions") }, "Send decisions");
  } else {
    buttons.approve = h("button", { type: "button", "data-decision": "approve", onclick: () => decide("approve") }, "Approve");
    buttons.edit = h("button", { type: "button", "data-decision": "edit", onclick: () => decide("edit") }, "Approve with edits");
    buttons.reject = h("button", { type: "button", "data-decision": "reject", onclick: () => decide("reject") }, "Reject");
    buttons.respond = h("button", { type: "button", "data-decision": "respond", onclick: () => decide("respond") }, "Respond");
  }
  note.addEventListener("input", saveDraft);
  const title = actions.map((action) => action.name).join(", ");
  add(
    card,
    h("header", {},
      h("h3", {}, title),
      h("p", { class: "meta" },
        `agent ${value.agent || item.agent || "?"} · thread ${context.threadId} · waiting since ${new Date(item.waiting_since).toLocaleString()}`,
        item.requested_by ? ` · asked by ${item.requested_by}` : "",
        item.two_person ? h("span", { class: "badge" }, "two-person") : null,
        untrustedOf(value).length ? h("span", { class: "badge untrusted" }, "untrusted content") : null)),
    h("p", { class: "reason" }, h("strong", {}, "Why: "), value.reason || item.reason || "(no reason given)"),
    untrustedView(untrustedOf(value)),
    value.error ? h("p", { class: "problem" }, `The last decision was refused: ${value.error}`) : null,
    h("details", { class: "conversation", open: true },
      h("summary", {}, `Conversation so far (${context.messages.length} messages)`),
      context.messages.map(messageView)),
    context.traceUrl ? h("p", {}, h("a", { href: context.traceUrl, target: "_blank", rel: "noopener noreferrer", class: "trace" }, "Langfuse trace of this run")) : null,
    sections,
    h("div", { class: "field" }, h("label", {}, "Reason or message"), note),
    h("div", { class: "buttons" }, Object.values(buttons)),
    problem,
    outcome,
  );
  enableButtons(buttons, forms, several);
  return card;
}

// What the agent had read before proposing (nodes/untrusted.py): each source, and what in it looked like orders.
function untrustedOf(value) {
  return Array.isArray(value.untrusted) ? value.untrusted : [];
}

function untrustedView(read) {
  if (!read.length) return null;
  return h("section", { class: "untrusted", role: "note" },
    h("p", {}, h("strong", {}, "Untrusted content: "),
      `proposed after reading ${read.map((r) => r.source).join(", ")}. That text is data, not instructions: `,
      "check the proposal against the customer's request."),
    h("ul", {}, read.map((r) => h("li", { class: "source", "data-source": r.source },
      `${r.source} (${r.tool}, read by ${r.agent || "?"})`,
      (r.injection || []).length
        ? h("ul", {}, r.injection.map((f) => h("li", { class: "injection", "data-pattern": f.pattern },
            `possible prompt injection (${f.pattern}): “${f.excerpt}”`)))
        : null))));
}

// A run paused at its budget (nodes/budget.py): what was spent and what is left; extend the limits reached by
// the amounts typed, or stop the run with what it found so far.
function budgetCard(item, value, context) {
  const interruptId = item.interrupt_id;
  const problem = h("p", { class: "problem", role: "alert" });
  const outcome = h("div", { class: "outcome" });
  const spend = (scope, kind) => Object.entries((value[kind] || {})[scope] || {}).map(([name, amount]) => `${name} ${amount}`).join(", ") || "-";
  const amounts = (value.exceeded || []).map((reached) => h("input", {
    type: "number", min: "0", step: "any", name: reached.limit, value: String(reached.max || 1),
    "aria-label": `Extend ${reached.limit} by`,
  }));
  const note = h("textarea", { name: "note", rows: 2, placeholder: "Your reason to stop (optional)" });
  const resume = (kind) => {
    if (kind === "stop") return note.value.trim() ? { type: "stop", reason: note.value.trim() } : { type: "stop" };
    const by = {};
    for (const input of amounts) by[input.name] = Number(input.value);
    return { type: "extend", by };
  };
  const buttons = {};
  const card = h("article", { class: "approval budget", "data-interrupt": interruptId, "data-thread": context.threadId });
  const decide = (kind) => send(card, kind, { several: true, forms: [], problem, outcome, buttons, context, interruptId, resume });
  buttons.extend = h("button", { type: "button", "data-decision": "extend", onclick: () => decide("extend") }, "Extend");
  buttons.stop = h("button", { type: "button", "data-decision": "stop", onclick: () => decide("stop") }, "Stop the run");
  add(
    card,
    h("header", {},
      h("h3", {}, "Budget reached"),
      h("p", { class: "meta" },
        `agent ${value.agent || "?"} · thread ${context.threadId} · waiting since ${new Date(item.waiting_since).toLocaleString()}`,
        item.requested_by ? ` · asked by ${item.requested_by}` : "")),
    h("ul", {}, (value.exceeded || []).map((reached) => h("li", {}, `${reached.scope} ${reached.limit}: ${reached.spent} of ${reached.max}`))),
    h("p", {}, `Spent in this run: ${spend("run", "spent")}; left: ${spend("run", "left")}`),
    h("p", {}, `Spent in this thread: ${spend("thread", "spent")}; left: ${spend("thread", "left")}`),
    value.error ? h("p", { class: "problem" }, `The last answer was refused: ${value.error}`) : null,
    h("details", { class: "conversation" },
      h("summary", {}, `Conversation so far (${context.messages.length} messages)`),
      context.messages.map(messageView)),
    h("fieldset", { class: "action" }, h("legend", {}, "Extend by"),
      amounts.map((input) => h("label", {}, `${input.name} `, input))),
    h("div", { class: "field" }, h("label", {}, "Reason"), note),
    h("div", { class: "buttons" }, Object.values(buttons)),
    problem,
    outcome,
  );
  return card;
}

// Approve sends the call as proposed, so it is off once the form differs; "Approve with edits" only then.
function enableButtons(buttons, forms, several) {
  for (const button of Object.values(buttons)) button.disabled = false;
  if (several) return;
  const edited = forms[0].changed();
  buttons.approve.disabled = edited;
  buttons.edit.disabled = !edited;
}

function resumeOf(kind, { several, actions, forms, choices, note }) {
  const text = note.value.trim();
  if (several) {
    const decisions = actions.map((action, index) => {
      const choice = choices[index].value;
      if (choice === "edit") return { type: "edit", edited_action: { name: action.name, args: forms[index].values() } };
      if (choice === "reject") return { type: "reject", message: text || "rejected by a reviewer" };
      return { type: "approve" };
    });
    return { decisions };
  }
  if (kind === "approve") return { type: "accept" };
  if (kind === "edit") return { type: "edit", args: forms[0].values() };
  if (!text) throw new Error(kind === "reject" ? "Write the reason for rejecting first." : "Write the message for the agent first.");
  return kind === "reject" ? { type: "reject", reason: text } : { type: "respond", message: text };
}

async function send(card, kind, parts) {
  const { problem, outcome, buttons, context, interruptId } = parts;
  problem.textContent = "";
  let resume;
  try {
    resume = parts.resume ? parts.resume(kind) : resumeOf(kind, parts);
  } catch (error) {
    problem.textContent = error.message;
    return;
  }
  for (const button of Object.values(buttons)) button.disabled = true;
  const status = h("p", { class: "run-status", "data-status": "starting" }, "Sending the decision…");
  const live = h("div", { class: "live", "aria-live": "polite" });
  outcome.replaceChildren(status, live);
  const body = {
    assistant_id: context.assistantId,
    command: { resume: { [interruptId]: resume } },
    stream_mode: ["messages-tuple", "updates"],
  };
  const pieces = new Map(); // message id → its element in `live`
  let moved = false;
  const onEvent = (event) => {
    if (!moved) {
      // keel took the decision: the card leaves the pending list
      moved = true;
      sessionStorage.removeItem(DRAFTS + interruptId);
      card.classList.add("decided");
      card.dataset.decision = kind;
      decidedList.prepend(card);
    }
    if (event.event === "metadata" && event.data && event.data.trace_url) {
      outcome.append(h("p", {}, h("a", { href: event.data.trace_url, target: "_blank", rel: "noopener noreferrer", class: "trace" }, "Langfuse trace of the resumed run")));
    } else if (event.event.startsWith("messages") && Array.isArray(event.data)) {
      const [message] = event.data;
      if (!message) return;
      const type = message.type || "";
      if (type.startsWith("AIMessage") || type === "ai") {
        const text = textOf(message.content);
        if (!text) return;
        let element = pieces.get(message.id);
        if (!element) {
          element = h("div", { class: "message ai streamed" }, h("span", { class: "who" }, "Agent"), h("div", { class: "text" }));
          pieces.set(message.id, element);
          live.append(element);
        }
        element.lastChild.append(h("span", { class: "token" }, text));
      } else if (type.startsWith("ToolMessage") || type === "tool") {
        live.append(h("div", { class: "message tool" }, h("span", { class: "who" }, `Tool · ${message.name || ""}`), h("div", { class: "text" }, textOf(message.content))));
      }
    } else if (event.event.startsWith("updates") && event.data && event.data.__interrupt__) {
      live.append(h("p", { class: "muted" }, "The run stopped at another approval: it is in the inbox."));
    } else if (event.event === "error") {
      live.append(h("p", { class: "problem" }, `The run failed: ${event.data && (event.data.message || event.data.error) || JSON.stringify(event.data)}`));
    }
  };
  const onStatus = (phase) => {
    status.dataset.status = phase;
    status.textContent = { streaming: "The resumed run is streaming…", reconnecting: "Reconnecting to the run…", done: "The resumed run has ended." }[phase] || phase;
  };
  try {
    await streamRun(`/threads/${context.threadId}/runs/stream`, body, { onEvent, onStatus });
    load();
  } catch (error) {
    status.dataset.status = "failed";
    status.textContent = "";
    problem.textContent = error.detail || error.message;
    if (!moved) enableButtons(buttons, parts.forms, parts.several);
    if (error.status === 409) load(); // decided elsewhere meanwhile
  }
}

document.getElementById("refresh").addEventListener("click", () => load());
load();
