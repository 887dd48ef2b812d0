// The calls Agent Chat UI makes (its StreamProvider, ThreadProvider and useStream), through the official JS client:
// the /info probe, a new thread, a streamed run whose human message is content blocks, the thread list searched by
// graph_id and by assistant_id, the state history, and the resume it sends (`input: {}` beside `command`).
// Every request carries the page's Origin and the API key. Prints one JSON object for the pytest test to check.
import { Client } from "@langchain/langgraph-sdk";

const [apiUrl, apiKey, origin, request, resume] = process.argv.slice(2);
const defaultHeaders = { Origin: origin };
const client = new Client({ apiUrl, apiKey, defaultHeaders });

const info = await fetch(`${apiUrl}/info`, { headers: { "X-Api-Key": apiKey, Origin: origin } });

async function stream(threadId, assistantId, payload) {
  const events = [];
  let values = null;
  for await (const chunk of client.runs.stream(threadId, assistantId, {
    ...payload,
    streamMode: ["values", "updates"],
    streamSubgraphs: true,
    streamResumable: true,
    onDisconnect: "continue",
  })) {
    events.push(chunk.event);
    if (chunk.event === "values") values = chunk.data;
  }
  return { events, values };
}

const [assistant] = await client.assistants.search({ graphId: "support", limit: 1 });
const thread = await client.threads.create({});
const asked = await stream(thread.thread_id, "support", {
  input: { messages: [{ type: "human", content: [{ type: "text", text: request }] }] },
});
const state = await client.threads.getState(thread.thread_id);
const byGraph = await client.threads.search({ metadata: { graph_id: "support" }, limit: 100 });
const byAssistant = await client.threads.search({ metadata: { assistant_id: assistant.assistant_id }, limit: 100 });
const history = await client.threads.getHistory(thread.thread_id, { limit: 10 });
const resumed = await stream(thread.thread_id, assistant.assistant_id, {
  input: {},
  command: { resume: JSON.parse(resume) },
});
const after = await client.threads.get(thread.thread_id);

console.log(
  JSON.stringify({
    info_status: info.status,
    info_cors: info.headers.get("access-control-allow-origin"),
    thread_id: thread.thread_id,
    asked_events: asked.events,
    asked_interrupts: (asked.values?.__interrupt__ ?? []).map((item) => item.value),
    pending: (state.interrupts ?? []).map((item) => item.value),
    by_graph: byGraph.map((item) => item.thread_id),
    by_assistant: byAssistant.map((item) => item.thread_id),
    history_length: history.length,
    resumed_events: resumed.events,
    resumed_message_types: (resumed.values?.messages ?? []).map((message) => message.type),
    resumed_interrupts: resumed.values?.__interrupt__ ?? [],
    status: after.status,
  }),
);
