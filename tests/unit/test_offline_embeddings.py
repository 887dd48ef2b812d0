"""The offline embedding for `store.index`: deterministic, unit length, `dims` long, and texts sharing words
are closer than texts that share none."""

from __future__ import annotations

import math

from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

from server.models.embeddings import OfflineEmbeddings, embeddings_for, is_import_path
from server.settings import ModelSettings


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_same_text_same_unit_vector() -> None:
    embed = OfflineEmbeddings(32)
    vector = embed.embed_query("Invoices are paid by bank transfer")
    assert vector == OfflineEmbeddings(32).embed_query("invoices are PAID by bank transfer")
    assert len(vector) == 32
    assert math.isclose(sum(x * x for x in vector), 1.0)
    assert math.isclose(sum(x * x for x in embed.embed_query("")), 1.0)  # no zero vector, even for no words


def test_shared_words_are_closer() -> None:
    embed = OfflineEmbeddings(256)
    query = embed.embed_query("paid invoices")
    near, far = embed.embed_documents(["the invoices were paid", "workspace in the eu region"])
    assert cosine(query, near) > cosine(query, far)


def test_the_offline_model_set_embeds_offline_and_a_key_embeds_with_openai() -> None:
    assert isinstance(embeddings_for("openai:text-embedding-3-small", ModelSettings(), dims=8), OfflineEmbeddings)
    keyed = ModelSettings(OPENAI_API_KEY=SecretStr("k"), OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    real = embeddings_for("openai:text-embedding-3-small", keyed, dims=8)
    assert isinstance(real, OpenAIEmbeddings)
    assert (real.model, real.check_embedding_ctx_length) == ("text-embedding-3-small", False)


def test_import_paths_are_told_from_model_names() -> None:
    assert is_import_path("./embed.py:embed") and is_import_path("my_pkg.embed:fn")
    assert not is_import_path("openai:text-embedding-3-small") and not is_import_path("text-embedding-3-small")
