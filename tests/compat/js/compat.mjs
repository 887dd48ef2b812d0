// Drives keel with the official JS client: a streamed run that stops at a sub-graph's interrupt, the
// thread's state, the resume, the `events` stream mode, and a thread search. Prints one JSON object for the pytest test to check.
import { Client } from "@langchain/langgraph-sdk";

const [apiUrl, tag] = process.argv.slice(2);
const client = new Client({ apiUrl });

const thread = await client.threads.create({ metadata: { suite: tag } });
const events = [];
for await (const chunk of client.runs.stream(thread.thread_id, "approval", {
  input: { request: "deploy" },
  streamMode: ["updates"],
  streamSubgraphs: true,
})) {
  events.push(chunk.event);
}
const state = await client.threads.getState(thread.thread_id);
let last = null;
for await (const chunk of client.runs.stream(thread.thread_id, "approval", {
  command: { resume: "yes" },
  streamMode: "values",
})) {
  if (chunk.event === "values") last = chunk.data;
}
// the `events` mode: each astream_events (v2) event of the run
const eventKinds = [];
for await (const chunk of client.runs.stream(thread.thread_id, "echo", { input: {}, streamMode: "events" })) {
  if (chunk.event === "events") eventKinds.push(chunk.data.event);
}
const found = await client.threads.search({ metadata: { suite: tag } });
const after = await client.threads.get(thread.thread_id);

console.log(
  JSON.stringify({
    thread_id: thread.thread_id,
    events,
    interrupts: (state.interrupts ?? []).map((item) => item.value),
    final: last,
    status: after.status,
    found: found.map((item) => item.thread_id),
    event_kinds: eventKinds,
  }),
);
