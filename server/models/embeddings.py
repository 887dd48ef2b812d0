"""Embeddings for the store's vector index (`store.index.embed` in langgraph.json), from the same settings as
the chat models: keel's deterministic `offline` embedding when the offline model is in use (no key), else
`OpenAIEmbeddings` against OpenAI or the OpenAI-compatible server at `OPENAI_BASE_URL`.

`embed` is written as on LangGraph Server: `"openai:<model>"` (or a bare model name), or a path to the user's
own embeddings (`./file.py:attr` or `package.module:attr`: a LangChain `Embeddings` or an embedding function),
which is used as it is whatever the settings say.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import re
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from langchain_openai import OpenAIEmbeddings
from pydantic import SecretStr

from server.settings import ModelSettings, SettingsError

OFFLINE = "offline"
_WORD = re.compile(r"\w+")
# Local OpenAI-compatible servers ignore the key, but the client insists on one.
_NO_KEY = SecretStr("not-needed")


class OfflineEmbeddings(Embeddings):
    """Hashed bag of words into `dims` signed buckets, L2-normalised: texts that share words are close (by
    cosine), the same text always gets the same vector, and nothing leaves the process. Not semantic."""

    def __init__(self, dims: int) -> None:
        self.dims = dims

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_query(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        vector = [0.0] * self.dims
        # A text with no word still gets a vector of its own: a zero vector has no cosine distance.
        for word in _WORD.findall(text.lower()) or [""]:
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "big") % self.dims
            vector[bucket] += 1.0 if digest[4] & 1 else -1.0
        norm = math.sqrt(sum(x * x for x in vector)) or 1.0
        return [x / norm for x in vector]


def is_import_path(embed: str) -> bool:
    """`./file.py:attr` or `pkg.module:attr` (the user's own embeddings), not `provider:model`."""
    module, _, attr = embed.rpartition(":")
    return bool(module and attr) and ("/" in module or module.endswith(".py") or "." in module)


def embeddings_for(embed: str, settings: ModelSettings, *, dims: int, base: Path | None = None) -> Any:
    """What `store.index.embed` names, for LangGraph's store (an `Embeddings` or an embedding function).
    A path is resolved against `base`, the folder of langgraph.json."""
    if is_import_path(embed):
        return _load(embed, base or Path.cwd())
    provider, _, model = embed.rpartition(":")
    if provider not in ("", "openai"):
        raise SettingsError(
            f"invalid store.index.embed {embed!r}: keel embeds with OpenAI-compatible models only "
            '("openai:<model>"), or with your own embeddings ("./file.py:attr")'
        )
    if settings.default_name == OFFLINE:
        return OfflineEmbeddings(dims)
    return OpenAIEmbeddings(
        model=model,
        openai_api_key=settings.api_key or _NO_KEY,
        openai_api_base=settings.base_url,
        max_retries=settings.max_retries,
        request_timeout=settings.timeout_s,
        # Splitting long texts needs OpenAI's tokenizer (tiktoken, downloaded at first use) and sends token
        # ids, which other OpenAI-compatible servers do not read: with a base URL, texts are sent as they are.
        check_embedding_ctx_length=settings.base_url is None,
    )


def _load(embed: str, base: Path) -> Any:
    module_part, _, attr = embed.rpartition(":")
    try:
        if module_part.endswith(".py") or "/" in module_part:
            path = (base / module_part).resolve()
            spec = importlib.util.spec_from_file_location("keel_embeddings_" + path.stem, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_part)
        return getattr(module, attr)
    except Exception as exc:  # user code: report it on one line
        raise SettingsError(f"invalid store.index.embed {embed!r}: {type(exc).__name__}: {exc}") from None
