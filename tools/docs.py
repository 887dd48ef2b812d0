"""search_docs: keyword search over the product knowledge base shipped with keel (`tools/kb/*.md`).

Plain term scoring, no network and no embeddings: a query term counts once per occurrence in an
article's text and three times more in its title or file name, so "refund" finds the refund policy
before an article that mentions refunds in passing."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pydantic import Field

from tools.spec import Outside, Risk, ToolArgs, ToolCall, ToolError, ToolSpec

KB_DIR = Path(__file__).parent / "kb"
TITLE_WEIGHT = 3
_WORD = re.compile(r"[a-z0-9]+(?:\.[a-z]+)?")  # keeps permission names such as billing.manage whole
_STOPWORD_TEXT = (
    "a an and are as at be by can do does for from how i in is it my of on or our the their this to we what when "
    "where which who why will with you your"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _stem(word: str) -> str:
    """Just enough to match plurals ("refunds" and "refund", "invoices" and "invoice")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def terms(text: str) -> list[str]:
    return [_stem(word) for word in _WORD.findall(text.lower()) if word not in _STOPWORDS]


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    text: str
    title_terms: Counter[str]
    body_terms: Counter[str]

    def score(self, query: list[str]) -> int:
        return sum(TITLE_WEIGHT * self.title_terms[term] + self.body_terms[term] for term in set(query))


@cache
def articles() -> tuple[Article, ...]:
    loaded = []
    for path in sorted(KB_DIR.glob("*.md")):
        heading, _, body = path.read_text(encoding="utf-8").partition("\n")
        title = heading.removeprefix("# ").strip()
        loaded.append(
            Article(
                slug=path.stem,
                title=title,
                text=body.strip(),
                title_terms=Counter(terms(f"{title} {path.stem.replace('-', ' ')}")),
                body_terms=Counter(terms(body)),
            )
        )
    return tuple(loaded)


class SearchDocsArgs(ToolArgs):
    query: str = Field(min_length=1, max_length=300, description="Keywords, e.g. 'sso setup' or 'refund policy'")
    limit: int = Field(default=3, ge=1, le=5, description="How many articles to return, best first")


async def search_docs(args: SearchDocsArgs, _call: ToolCall) -> dict[str, object]:
    query = terms(args.query)
    ranked = sorted(((article.score(query), article) for article in articles()), key=lambda pair: -pair[0])
    hits = [{"article": a.slug, "title": a.title, "score": score, "text": a.text} for score, a in ranked if score > 0]
    if not hits:
        titles = "; ".join(article.title for article in articles())
        raise ToolError(f"no article matches {args.query!r}; the knowledge base covers: {titles}")
    return {"query": args.query, "results": hits[: args.limit]}


def articles_read(result: dict[str, object]) -> list[Outside]:
    """The articles in a search's result: knowledge-base text anyone with write access to the KB wrote."""
    hits = result.get("results")
    return (
        [
            Outside(source=f"kb/{hit['article']}.md", text=f"{hit['title']}\n{hit['text']}")
            for hit in hits
            if isinstance(hit, dict)
        ]
        if isinstance(hits, list)
        else []
    )


SEARCH_DOCS = ToolSpec(
    name="search_docs",
    description="Search the product knowledge base (plans, billing cycles, overdue invoices, refund policy, seats, "
    "workspaces, regions, SSO setup, admin roles, data export, enterprise contracts, onboarding). "
    "Returns the best matching articles' full text.",
    args=SearchDocsArgs,
    run=search_docs,
    risk=Risk.READ_ONLY,
    timeout_s=5.0,
    untrusted=articles_read,
)
