"""Chat models by role, from settings: keel's deterministic `offline` model, or `ChatOpenAI` for any other
name (OpenAI or any OpenAI-compatible server at `OPENAI_BASE_URL`).

A role (router, worker, synthesis) resolves to `KEEL_MODEL_<ROLE>`, else `KEEL_MODEL`, else `offline`
without a key and gpt-4o-mini with one. One model instance is kept per resolved name, so roles that share
a model share its HTTP connection pool.
"""

from __future__ import annotations

import threading
from typing import get_args

from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from nodes.context import Role
from server.models.offline import OfflineChatModel
from server.settings import ModelSettings, SettingsError

OFFLINE = "offline"
# Local OpenAI-compatible servers (vLLM, Ollama, llama.cpp) ignore the key, but the client insists on one.
_NO_KEY = SecretStr("not-needed")


class ModelFactory:
    """A `nodes.context.ModelProvider`. Construction checks every role's model can be built, so a
    missing key stops keel at start (SettingsError), not at the first run."""

    def __init__(self, settings: ModelSettings) -> None:
        self._settings = settings
        self._models: dict[str, BaseChatModel] = {}
        self._lock = threading.Lock()  # workers may ask for a model from several threads at once
        for role in get_args(Role):
            name = self.name_for(role)
            if name != OFFLINE and settings.api_key is None and settings.base_url is None:
                raise SettingsError(
                    f"invalid setting OPENAI_API_KEY: model {name!r} (for the {role} role) needs OPENAI_API_KEY, or "
                    "OPENAI_BASE_URL of a server that needs no key; or set KEEL_MODEL=offline"
                )

    def name_for(self, role: Role) -> str:
        settings = self._settings
        overrides = {"router": settings.router, "worker": settings.worker, "synthesis": settings.synthesis}
        return overrides[role] or settings.default_name

    def chat(self, role: Role) -> BaseChatModel:
        name = self.name_for(role)
        with self._lock:
            if name not in self._models:
                self._models[name] = self._build(name)
            return self._models[name]

    def _build(self, name: str) -> BaseChatModel:
        if name == OFFLINE:
            return OfflineChatModel()
        return ChatOpenAI(
            model=name,
            api_key=self._settings.api_key or _NO_KEY,
            base_url=self._settings.base_url,
            # The openai client retries 408/409/429/5xx and connection errors itself, with exponential
            # backoff and jitter, honouring Retry-After; keel adds no retry loop of its own.
            max_retries=self._settings.max_retries,
            timeout=self._settings.timeout_s,
            # Without it a custom base_url streams no token usage (no `stream_options.include_usage`).
            stream_usage=True,
        )
