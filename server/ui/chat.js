// A plain chat page for one graph (/ui/chat/{graph}): each message starts a run on the conversation's thread
// and its answer streams in token by token (stream_mode messages-tuple).
import { api, credentials, h, messageView, signInForm, signOut, streamRun, textOf } from "./keel.js";

const graph = decodeURIComponent(location.pathname.split("/").filter(Boolean)[2] || "");
const conversation = document.getElementById("conversation");
const notice = document.getElementById("notice");
const gate = document.getElementById("gate");
const ask = document.getElementById("ask");
const THREAD = `keel.chat.${graph}`;
document.getElementById("title").textContent = `keel · chat with ${graph}`;
document.title = `keel · ${graph}`;

function threadId() {
  return new URLSearchParams(location.search).get("thread") || sessionStorage.getItem(THREAD);
}

function showAccount() {
  const signedIn = credentials();
  document.getElementById("account").replaceChildren(signedIn
    ? h("button", { type: "button", id: "sign-out", onclick: () => { signOut(); location.reload(); } }, "Sign out")
    : "");
}

async function load() {
  showAccount();
  try {
    await api(`/assistants/${encodeURIComponent(graph)}`);
    const thread = threadId();
    const state = thread ? await api(`/threads/${thread}/state`) : null;
    conversation.replaceChildren(...(((state && state.values && state.values.messages) || []).map(messageView)));
    if (state && (state.interrupts || []).length) waitingForApproval();
    ask.hidden = false;
    notice.textContent = thread ? `thread ${thread}` : "";
    document.body.dataset.loaded = "true";
  } catch (error) {
    if (error.status === 401) {
      if (credentials()) signOut();
      ask.hidden = true;
      gate.replaceChildren(signInForm(error.detail, () => { gate.replaceChildren(); load(); }));
      return;
    }
    notice.textContent = error.status === 404 ? `keel serves no graph ${graph}` : error.message;
    notice.className = "error";
  }
}

function waitingForApproval() {
  conversation.append(h("p", { class: "muted waiting" }, "The agent is waiting for an approval: ",
    h("a", { href: "/ui" }, "open the approval inbox"), "."));
}

async function send(text) {
  let thread = threadId();
  if (!thread) {
    thread = (await api("/threads", { method: "POST", body: { metadata: { graph_id: graph } } })).thread_id;
    sessionStorage.setItem(THREAD, thread);
    notice.textContent = `thread ${thread}`;
  }
  conversation.append(messageView({ type: "human", content: text }));
  const pieces = new Map();
  const body = { assistant_id: graph, input: { messages: [{ role: "human", content: text }] }, stream_mode: ["messages-tuple", "updates"] };
  await streamRun(`/threads/${thread}/runs/stream`, body, {
    onEvent: (event) => {
      if (event.event.startsWith("messages") && Array.isArray(event.data)) {
        const [message] = event.data;
        const type = (message && message.type) || "";
        if (!(type.startsWith("AIMessage") || type === "ai")) return;
        const piece = textOf(message.content);
        if (!piece) return;
        let element = pieces.get(message.id);
        if (!element) {
          element = h("div", { class: "message ai streamed" }, h("span", { class: "who" }, "Agent"), h("div", { class: "text" }));
          pieces.set(message.id, element);
          conversation.append(element);
        }
        element.lastChild.append(h("span", { class: "token" }, piece));
      } else if (event.event.startsWith("updates") && event.data && event.data.__interrupt__) {
        waitingForApproval();
      } else if (event.event === "error") {
        conversation.append(h("p", { class: "problem" }, `The run failed: ${JSON.stringify(event.data)}`));
      }
    },
    onStatus: (phase) => { ask.dataset.status = phase; },
  });
}

ask.addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = ask.elements.message;
  const text = field.value.trim();
  if (!text) return;
  field.value = "";
  ask.querySelector("button").disabled = true;
  try {
    await send(text);
  } catch (error) {
    conversation.append(h("p", { class: "problem" }, error.detail || error.message));
  } finally {
    ask.querySelector("button").disabled = false;
  }
});

document.getElementById("new-thread").addEventListener("click", () => {
  sessionStorage.removeItem(THREAD);
  history.replaceState(null, "", location.pathname);
  conversation.replaceChildren();
  notice.textContent = "";
});

load();
