"""The offline model's documented rules, without a graph."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage, ToolMessage

from server.models.offline import OfflineChatModel
from tools import TOOLS
from tools.spec import as_langchain_tool

REFUND = [as_langchain_tool(TOOLS["issue_refund"]), as_langchain_tool(TOOLS["search_docs"])]


async def test_calls_the_matching_tool_with_arguments_from_the_request() -> None:
    model = OfflineChatModel().bind_tools(REFUND)
    reply = await model.ainvoke([HumanMessage("Refund $12.50 on inv_acme_2026_10 for cus_acme please")])
    [call] = reply.tool_calls
    assert call["name"] == "issue_refund"
    assert call["args"] == {
        "customer_id": "cus_acme",
        "invoice_id": "inv_acme_2026_10",
        "amount": 12.5,
        "reason": "Refund $12.50 on inv_acme_2026_10 for cus_acme please",
    }
    assert reply.response_metadata["finish_reason"] == "tool_calls"


async def test_declared_keywords_steer_the_choice() -> None:
    system = SystemMessage("Tools:\n- search_docs: the knowledge base (keywords: policy)")
    reply = await OfflineChatModel().bind_tools(REFUND).ainvoke([system, HumanMessage("What is your policy?")])
    assert [c["name"] for c in reply.tool_calls] == ["search_docs"]


async def test_after_tool_results_it_summarises_them() -> None:
    call = {"name": "search_docs", "args": {"query": "x"}, "id": "c1", "type": "tool_call"}
    messages = [
        HumanMessage("Find the docs"),
        AIMessage(content="", tool_calls=[call]),
        ToolMessage(content='{"title": "Refunds", "score": 3}', tool_call_id="c1", name="search_docs"),
    ]
    reply = await OfflineChatModel().bind_tools(REFUND).ainvoke(messages)
    assert reply.tool_calls == []
    assert reply.content == "search_docs: title: Refunds, score: 3"


async def test_a_failed_call_is_retried_when_the_error_names_a_valid_value() -> None:
    call = {"name": "search_docs", "args": {"query": "Find the docs"}, "id": "c1", "type": "tool_call"}
    error = ToolMessage(content="Error: too broad; use limit=1", tool_call_id="c1", name="search_docs", status="error")
    messages = [HumanMessage("Find the docs"), AIMessage(content="", tool_calls=[call]), error]
    reply = await OfflineChatModel().bind_tools(REFUND).ainvoke(messages)
    assert [c["args"] for c in reply.tool_calls] == [{"query": "Find the docs", "limit": 1}]


async def test_streams_word_by_word_and_reports_usage() -> None:
    chunks = [c async for c in OfflineChatModel().astream([HumanMessage("Hello there")])]
    words = [c.content for c in chunks if c.content]
    assert len(words) > 5
    assert all(isinstance(c, AIMessageChunk) for c in chunks)
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    assert str(total.content).startswith("Hello! I'm keel's offline model")
    assert total.usage_metadata is not None
    assert total.usage_metadata["input_tokens"] == 2
    assert total.usage_metadata["output_tokens"] == len(str(total.content).split())


async def test_is_deterministic() -> None:
    messages = [HumanMessage("Refund $5 on inv_acme_2026_10 for cus_acme")]
    first = await OfflineChatModel().bind_tools(REFUND).ainvoke(messages)
    second = await OfflineChatModel().bind_tools(REFUND).ainvoke(messages)
    assert first.tool_calls == second.tool_calls


async def test_reads_content_blocks_as_the_text_they_hold() -> None:
    # Agent Chat UI sends a message as content blocks; the same request as plain text gets the same call.
    blocks = [
        {"type": "text", "text": "Refund $12.50 on inv_acme_2026_10"},
        {"type": "text", "text": "for cus_acme please"},
    ]
    model = OfflineChatModel().bind_tools(REFUND)
    from_blocks = await model.ainvoke([HumanMessage(content=blocks)])  # type: ignore[arg-type]
    from_text = await model.ainvoke([HumanMessage("Refund $12.50 on inv_acme_2026_10\nfor cus_acme please")])
    assert [c["args"] for c in from_blocks.tool_calls] == [c["args"] for c in from_text.tool_calls]
    assert from_blocks.tool_calls[0]["args"]["reason"] == "Refund $12.50 on inv_acme_2026_10\nfor cus_acme please"


WORKSPACE = [as_langchain_tool(TOOLS["create_workspace"])]


async def test_a_name_in_single_or_curly_quotes_is_read_like_one_in_double_quotes() -> None:
    for quoted in ("'Acme Research'", "\u2018Acme Research\u2019", "\u201cAcme Research\u201d", '"Acme Research"'):
        reply = (
            await OfflineChatModel()
            .bind_tools(WORKSPACE)
            .ainvoke([HumanMessage(f"Please create a workspace {quoted} for cus_acme")])
        )
        assert [c["args"]["name"] for c in reply.tool_calls] == ["Acme Research"], quoted


async def test_apostrophes_quote_nothing() -> None:
    reply = (
        await OfflineChatModel()
        .bind_tools(WORKSPACE)
        .ainvoke([HumanMessage("Create cus_acme's workspace 'Ops' \u2014 it isn't there yet, it's Alice\u2019s idea")])
    )
    assert [c["args"]["name"] for c in reply.tool_calls] == ["Ops"]


LOOKUP_AND_BILLING = [as_langchain_tool(TOOLS["lookup_customer"]), as_langchain_tool(TOOLS["check_billing_status"])]


async def test_a_customer_named_without_an_id_is_looked_up_first_then_its_id_is_used() -> None:
    for request, query in (
        ("What is the billing status of Initech?", "Initech"),
        ("Billing status please, for Tyrell Systems", "Tyrell Systems"),
        ("Upgrade Soylent Foods: what is their billing status?", "Soylent Foods"),
        ("Acme Corp was charged twice; check the billing status of Acme Corp", "Acme Corp"),
        ("rachael@tyrell.example asks about her billing status", "rachael@tyrell.example"),
    ):
        model = OfflineChatModel().bind_tools(LOOKUP_AND_BILLING)
        first = await model.ainvoke([HumanMessage(request)])
        assert [(c["name"], c["args"]) for c in first.tool_calls] == [("lookup_customer", {"query": query})], request
        found = ToolMessage(
            '{"customer_id": "cus_initech"}', tool_call_id=first.tool_calls[0]["id"], name="lookup_customer"
        )
        second = await model.ainvoke([HumanMessage(request), first, found])
        assert [(c["name"], c["args"]) for c in second.tool_calls] == [
            ("check_billing_status", {"customer_id": "cus_initech"})
        ]


async def test_with_an_id_in_the_request_nothing_is_looked_up_first() -> None:
    reply = (
        await OfflineChatModel()
        .bind_tools(LOOKUP_AND_BILLING)
        .ainvoke([HumanMessage("What is the billing status of Initech (cus_initech)?")])
    )
    assert [c["name"] for c in reply.tool_calls] == ["check_billing_status"]


async def test_a_hand_off_carries_the_id_of_the_customer_looked_up() -> None:
    handoff = {
        "type": "function",
        "function": {
            "name": "ask_billing",
            "description": "Billing status",
            "parameters": {
                "type": "object",
                "properties": {"request": {"type": "string", "description": "The request, with every id and detail"}},
                "required": ["request"],
            },
        },
    }
    model = OfflineChatModel().bind_tools([as_langchain_tool(TOOLS["lookup_customer"]), handoff])
    request = HumanMessage("What is the billing status of Initech?")
    first = await model.ainvoke([request])
    assert [c["name"] for c in first.tool_calls] == ["lookup_customer"]
    found = ToolMessage(
        '{"customer_id": "cus_initech"}', tool_call_id=first.tool_calls[0]["id"], name="lookup_customer"
    )
    second = await model.ainvoke([request, first, found])
    assert [(c["name"], c["args"]) for c in second.tool_calls] == [
        ("ask_billing", {"request": "What is the billing status of Initech? (cus_initech)"})
    ]


async def test_a_call_without_the_id_it_needs_is_not_made_and_the_reply_asks_for_it() -> None:
    reply = await OfflineChatModel().bind_tools(REFUND).ainvoke([HumanMessage("I want a refund.")])
    assert reply.tool_calls == []
    assert reply.content == (
        "Which customer do you mean? I need more to go on: issue_refund needs customer_id, invoice_id, amount."
    )


async def test_a_call_missing_only_other_arguments_is_made_and_its_validation_says_what_is_wrong() -> None:
    reply = await OfflineChatModel().bind_tools(WORKSPACE).ainvoke([HumanMessage("Create a workspace for cus_acme")])
    assert [(c["name"], c["args"]) for c in reply.tool_calls] == [("create_workspace", {"customer_id": "cus_acme"})]
