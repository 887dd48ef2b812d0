"""The output guardrail through the official SDK against a real keel process whose model (an OpenAI-compatible stub)
answers a question about cus_acme with another customer's ids and e-mail address: the thread's answer is redacted,
under the id its tokens streamed with; the metric moves by exactly one; the trace has one warning event without the
values. An answer about the request's own customer, with its own address, is left alone."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client

from nodes.output_guard import MARKER
from tests.openai_stub import OpenAIStub, Reply, running_stub
from tests.server.observability.receiver import Receiver
from tests.server.observability.test_metrics import delta, scrape
from tests.server.runs.cluster import Cluster
from tests.server.runs.serving import human, values_of

pytestmark = pytest.mark.slow

REQUEST = "Who is the admin of cus_acme, and is inv_acme_2026_10 paid?"
LEAKED = ("cus_globex", "greta@globex.example", "inv_globex_2026_q4")
LEAKY = (
    "Alice Nguyen (alice@acme.example) is the admin of cus_acme and inv_acme_2026_10 is paid. "
    "Like cus_globex, whose admin greta@globex.example paid inv_globex_2026_q4."
)
OWN = "Alice Nguyen (alice@acme.example) is the admin of cus_acme; inv_acme_2026_10 is paid."
METRIC = {"guardrail": "output_leak", "action": "redacted"}


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with running_stub() as running:
        yield running


def _last_message(values: dict[str, Any]) -> dict[str, Any]:
    message = values["messages"][-1]
    assert message["type"] == "ai"
    return dict(message)


async def test_a_cross_customer_answer_is_redacted_and_counted_once(
    traced_cluster: Cluster, receiver: Receiver, stub: OpenAIStub
):
    stub.replies = [Reply(text=LEAKY), Reply(text=OWN)]
    model = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": stub.base_url, "KEEL_MODEL": "stub-1"}
    keel = traced_cluster.serve("keel", port=None, **model)
    before = scrape(keel.base_url)
    async with get_client(url=keel.base_url) as client:
        leaky_thread = str(uuid.uuid4())
        streamed_ids, last_values = set(), {}
        async for part in client.runs.stream(
            leaky_thread,
            "support",
            input=human(REQUEST),
            stream_mode=["messages-tuple", "values"],
            if_not_exists="create",
        ):
            if part.event == "messages":
                streamed_ids.add(part.data[0]["id"])
            elif part.event == "values":
                last_values = part.data
        leaky = _last_message(values_of(await client.threads.get_state(leaky_thread)))
        [run] = await client.runs.list(leaky_thread)

        own_thread = str(uuid.uuid4())
        await client.runs.wait(own_thread, "support", input=human(REQUEST), if_not_exists="create")
        own = _last_message(values_of(await client.threads.get_state(own_thread)))
    after = scrape(keel.base_url)

    for value in LEAKED:
        assert value not in leaky["content"]
    assert leaky["content"].count(MARKER) == len(LEAKED)
    assert "alice@acme.example" in leaky["content"] and "inv_acme_2026_10" in leaky["content"]
    # What a streaming client sees last: the redacted message, under the id its tokens streamed with.
    assert _last_message(last_values) == leaky
    assert streamed_ids == {leaky["id"]}
    assert own["content"] == OWN, "the request's own customer is not redacted"
    assert delta(before, after, "keel_guardrail_events_total", **METRIC) == 1

    trace_id = str((run["metadata"] or {})["trace_id"])

    def warned(r: Receiver) -> bool:
        return any(s.name.startswith("guardrail output_leak") for s in r.traces().get(trace_id, []))

    receiver.wait_for(warned)
    [event] = [s for s in receiver.traces()[trace_id] if s.name.startswith("guardrail output_leak")]
    assert event.name == "guardrail output_leak: redacted"
    detail = json.loads(event.attributes["langfuse.observation.input"])
    assert detail == {"kinds": ["customer_id", "email", "invoice_id"], "count": 3}
