"""The output guardrail on the support graph, with a scripted supervisor: another customer's ids and e-mail addresses
are redacted from the answer stored in the thread (and reported once, with kinds and count only); the request's own
customer, named by id, name or e-mail or resolved by a lookup of what the user wrote, is not."""

from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from nodes.output_guard import MARKER
from server.observability import metrics
from server.observability.guardrails import GuardrailEvents
from tests.graphs.harness import Desk, answer
from tests.scripted_model import ScriptedModels, Turn, call


def redactions() -> float:
    labels = {"guardrail": "output_leak", "action": "redacted"}
    return metrics.REGISTRY.get_sample_value("keel_guardrail_events_total", labels) or 0.0


async def ask(desk: Desk, request: str, replies: list[AIMessage]) -> tuple[str, float]:
    """The stored answer to `request` when the supervisor replies `replies` in turn, and the redactions counted."""
    remaining = list(replies)

    def script(messages: list[BaseMessage], turn: Turn) -> AIMessage:
        return remaining.pop(0)

    desk.models = ScriptedModels({"router": script})
    thread = str(uuid.uuid4())
    before = redactions()
    config: Any = desk.config(thread) | {"callbacks": [GuardrailEvents()]}
    await desk.graph.ainvoke({"messages": [HumanMessage(request)]}, config, context=desk.context)
    values = (await desk.graph.aget_state({"configurable": {"thread_id": thread}})).values
    return answer(values), redactions() - before


LEAKY = (
    "Acme's admin is alice@acme.example and inv_acme_2026_10 is paid. By the way cus_globex "
    "(greta@globex.example) paid inv_globex_2026_q4, and bob@elsewhere.example asked too."
)


async def test_other_customers_ids_and_addresses_are_redacted_and_reported_once(support: Desk) -> None:
    text, reported = await ask(support, "Who is the admin of cus_acme?", [AIMessage(LEAKY)])
    for leaked in ("cus_globex", "greta@globex.example", "inv_globex_2026_q4", "bob@elsewhere.example"):
        assert leaked not in text
    assert text.count(MARKER) == 4
    assert "alice@acme.example" in text and "inv_acme_2026_10" in text  # the request's own customer
    assert reported == 1


async def test_the_customer_named_by_name_or_address_is_the_requests(support: Desk) -> None:
    own = "Lucius Fox (lucius@wayne.example) is the admin of cus_wayne; contract ctr_wayne."
    requests = ("Who is the admin of Wayne Enterprises?", "wayne enterprises' admin?", "I am lucius@wayne.example.")
    for request in requests:
        text, reported = await ask(support, request, [AIMessage(own)])
        assert text == own
        assert reported == 0


async def test_an_address_the_user_wrote_is_not_redacted(support: Desk) -> None:
    own = "I will write to joe@personal.example about cus_acme, not to rachael@tyrell.example."
    text, reported = await ask(support, "Please answer cus_acme's question to joe@personal.example", [AIMessage(own)])
    assert text == f"I will write to joe@personal.example about cus_acme, not to {MARKER}."
    assert reported == 1


async def test_a_lookup_of_what_the_user_wrote_resolves_the_request_customer(support: Desk) -> None:
    replies = [call("lookup_customer", query="Initech"), AIMessage("peter@initech.example, inv_initech_2026_10")]
    text, reported = await ask(support, "Who runs billing at initech?", replies)
    assert text == "peter@initech.example, inv_initech_2026_10"
    assert reported == 0


async def test_a_lookup_the_model_made_up_does_not(support: Desk) -> None:
    replies = [call("lookup_customer", query="cus_hooli"), AIMessage("Ask jared@hooli.example about ws_hooli_main.")]
    text, reported = await ask(support, "Who runs billing at initech?", replies)
    assert text == f"Ask {MARKER} about {MARKER}."
    assert reported == 1


async def test_an_answer_naming_no_ids_is_left_alone(support: Desk) -> None:
    text, reported = await ask(support, "Hello!", [AIMessage("Hello! How can I help? (cus_nobody is not a customer)")])
    assert text == "Hello! How can I help? (cus_nobody is not a customer)"
    assert reported == 0


SET_UP = "Set up for cus_soylent, sol@soylent.example was told."


async def test_onboarding_answers_are_guarded_with_the_customer_intake_found(onboarding: Desk) -> None:
    def worker(messages: list[BaseMessage], turn: Turn) -> AIMessage:  # intake, then the standard_setup agent
        if "intake agent" in turn.system:
            if turn.result("lookup_customer") is None:
                return call("lookup_customer", query="Soylent")
            return AIMessage("Found cus_soylent, admin sol@soylent.example, on the free plan.")
        return AIMessage(f"{SET_UP} Unlike cus_tyrell (rachael@tyrell.example).")

    def router(messages: list[BaseMessage], turn: Turn) -> AIMessage:
        return call("choose_route", route="standard_setup")

    onboarding.models = ScriptedModels({"worker": worker, "router": router, "synthesis": router})
    thread = str(uuid.uuid4())
    before = redactions()
    config: Any = onboarding.config(thread) | {"callbacks": [GuardrailEvents()]}
    request = "Please onboard the new customer (their name starts with Soylent)"
    await onboarding.graph.ainvoke({"messages": [HumanMessage(request)]}, config, context=onboarding.context)
    values = (await onboarding.graph.aget_state({"configurable": {"thread_id": thread}})).values
    intake, route = [str(m.content) for m in values["messages"] if isinstance(m, AIMessage)]
    assert intake == "Found cus_soylent, admin sol@soylent.example, on the free plan."
    assert route == f"{SET_UP} Unlike {MARKER} ({MARKER})."
    assert redactions() - before == 1
