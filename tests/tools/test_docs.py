from __future__ import annotations

import pytest

from tests.tools.desk import run_tool
from tools.docs import KB_DIR, articles, terms
from tools.spec import ToolError


def test_the_knowledge_base_ships_with_keel():
    slugs = {article.slug for article in articles()}
    assert len(slugs) >= 8
    assert {"sso-setup", "workspaces", "billing-cycles", "refunds-policy", "plans", "seats", "data-export"} <= slugs
    for article in articles():
        assert article.title and not article.title.startswith("#")
        assert 20 < len(article.text.split()) < 300, f"{article.slug} should be a short article"
    assert KB_DIR.is_dir()


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("how do I set up SSO", "sso-setup"),
        ("SAML single sign-on", "sso-setup"),
        ("refund policy", "refunds-policy"),
        ("refunds", "refunds-policy"),
        ("overdue invoice", "overdue-invoices"),
        ("past due", "overdue-invoices"),
        ("export my data", "data-export"),
        ("how many seats", "seats"),
        ("pricing of the pro plan", "plans"),
        ("contract renewal notice period", "enterprise-contracts"),
        ("data residency EU", "regions"),
        ("new workspace", "workspaces"),
        ("permissions of a member", "admin-roles"),
        ("when are invoices due billing period", "billing-cycles"),
        ("onboarding", "getting-started"),
    ],
)
async def test_best_match(desk, query, best):
    found = await run_tool(desk, "search_docs", query=query)
    assert found["results"][0]["article"] == best
    scores = [hit["score"] for hit in found["results"]]
    assert scores == sorted(scores, reverse=True)
    assert len(found["results"]) <= 3


async def test_results_carry_the_article_text_and_respect_the_limit(desk):
    found = await run_tool(desk, "search_docs", query="invoice", limit=5)
    assert len(found["results"]) == 5
    assert "due 14 days later" in next(h["text"] for h in found["results"] if h["article"] == "billing-cycles")
    one = await run_tool(desk, "search_docs", query="invoice", limit=1)
    assert [hit["article"] for hit in one["results"]] == [found["results"][0]["article"]]


async def test_no_match_lists_what_the_knowledge_base_covers(desk):
    with pytest.raises(
        ToolError, match=r"no article matches 'zebra crossing'; the knowledge base covers: .*Refund policy"
    ):
        await run_tool(desk, "search_docs", query="zebra crossing")
    with pytest.raises(ToolError, match="no article matches"):
        await run_tool(desk, "search_docs", query="the of and")  # only stopwords


def test_terms_normalize_case_plurals_and_stopwords():
    assert terms("The Refunds for Invoices") == ["refund", "invoice"]
    assert terms("policies") == ["policy"]
    assert terms("billing.manage permission") == ["billing.manage", "permission"]
