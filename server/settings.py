"""keel's settings: four groups read from the environment (and `.env`), validated at start-up.

A bad value stops keel with one line naming the variable and what it expects
(`SettingsError`), never a traceback.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

import pydantic_settings
from psycopg.conninfo import conninfo_to_dict
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from nodes.faults import FaultRates, ToolFaults
from tools import TOOLS
from tools.limits import Limits

# An empty variable (`OPENAI_API_KEY=` in compose or .env) means "not set".
_ENV = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)


def _check_postgres_url(url: str | None) -> str | None:
    if url is None or url == "":
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError("expected a URL starting with postgresql:// (e.g. postgresql://user:pass@host:5432/db)")
    try:
        conninfo_to_dict(url)
        _ = urlsplit(url).port  # libpq defers port checks to connect time; fail now instead
    except Exception as exc:  # psycopg's ProgrammingError or urllib's ValueError, with the reason
        raise ValueError(f"not a valid PostgreSQL URL ({exc})") from None
    return url


PostgresUrl = Annotated[str | None, AfterValidator(_check_postgres_url)]


class DatabaseSettings(BaseSettings):
    model_config = _ENV

    url: PostgresUrl = Field(default=None, validation_alias="DATABASE_URL")
    # A session-mode connection straight to PostgreSQL, for what a transaction-mode pooler (PgBouncer) in
    # DATABASE_URL's path breaks: LISTEN (run and event notifications) and the migration's advisory lock.
    # Unset: DATABASE_URL serves for both.
    direct_url: PostgresUrl = Field(default=None, validation_alias="KEEL_DIRECT_DATABASE_URL")
    data_dir: Path = Field(default=Path(".keel"), validation_alias="KEEL_DATA_DIR")
    pool_min_size: int = Field(default=2, ge=1, validation_alias="KEEL_DB_POOL_MIN")
    pool_max_size: int = Field(default=20, ge=1, validation_alias="KEEL_DB_POOL_MAX")
    # psycopg prepares a statement on a connection once it has run this many times there; hot statements
    # (event appends, checkpoint writes) then skip PostgreSQL's parse and plan. 0 turns prepared statements
    # off, for a pgbouncer in transaction mode older than 1.21 (which cannot track them).
    prepare_threshold: int = Field(default=5, ge=0, validation_alias="KEEL_DB_PREPARE_THRESHOLD")

    @property
    def embedded(self) -> bool:
        """True when keel must run its own PostgreSQL (no DATABASE_URL given)."""
        return self.url is None

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"


class ModelSettings(BaseSettings):
    model_config = _ENV

    api_key: SecretStr | None = Field(default=None, validation_alias="OPENAI_API_KEY")
    base_url: str | None = Field(default=None, validation_alias="OPENAI_BASE_URL")
    name: str | None = Field(default=None, validation_alias="KEEL_MODEL")
    router: str | None = Field(default=None, validation_alias="KEEL_MODEL_ROUTER")
    worker: str | None = Field(default=None, validation_alias="KEEL_MODEL_WORKER")
    synthesis: str | None = Field(default=None, validation_alias="KEEL_MODEL_SYNTHESIS")
    max_retries: int = Field(default=3, ge=0, validation_alias="KEEL_MODEL_MAX_RETRIES")
    timeout_s: float = Field(default=60.0, gt=0, validation_alias="KEEL_MODEL_TIMEOUT")

    @property
    def default_name(self) -> str:
        """`offline` unless a key is configured; then `KEEL_MODEL` or gpt-4o-mini."""
        if self.name:
            return self.name
        return "gpt-4o-mini" if self.api_key else "offline"


class LangfuseSettings(BaseSettings):
    model_config = _ENV

    public_key: str | None = Field(default=None, validation_alias="LANGFUSE_PUBLIC_KEY")
    secret_key: SecretStr | None = Field(default=None, validation_alias="LANGFUSE_SECRET_KEY")
    base_url: str | None = Field(default=None, validation_alias="LANGFUSE_BASE_URL")

    # Where people open traces, when it differs from where keel sends spans (compose: localhost vs langfuse-web).
    ui_url: str | None = Field(default=None, validation_alias="KEEL_LANGFUSE_UI_URL")

    @property
    def enabled(self) -> bool:
        return bool(self.public_key and self.secret_key and self.base_url)


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(default=0.0, ge=0)
    output: float = Field(default=0.0, ge=0)


class ObservabilitySettings(BaseSettings):
    model_config = _ENV

    # `{"gpt-4o-mini": {"input": 0.15, "output": 0.6}}`; a model not listed costs 0 (so does `offline`).
    prices: dict[str, ModelPrice] = Field(default_factory=dict, validation_alias="KEEL_PRICES")
    log_format: Literal["json", "text"] = Field(default="json", validation_alias="KEEL_LOG_FORMAT")
    # Message content (prompts, answers, tool arguments) goes into logs only when this is true.
    log_content: bool = Field(default=False, validation_alias="KEEL_LOG_CONTENT")


def _comma_separated(value: Any) -> Any:
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def _check_origins(origins: list[str]) -> list[str]:
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (
            parts.scheme not in ("http", "https") or not parts.netloc or origin != f"{parts.scheme}://{parts.netloc}"
        ):
            # A browser sends `Origin: https://chat.example.com`: a path or a trailing slash would never match it.
            raise ValueError(
                f"{origin!r} is not an origin like https://chat.example.com (no path, no trailing slash) or *"
            )
    return origins


class ServerSettings(BaseSettings):
    model_config = _ENV

    host: str = Field(default="127.0.0.1", validation_alias="KEEL_HOST")
    port: int = Field(default=8000, ge=0, le=65535, validation_alias="KEEL_PORT")
    config: Path = Field(default=Path("langgraph.json"), validation_alias="KEEL_CONFIG")
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info", validation_alias="KEEL_LOG_LEVEL")
    # Larger request bodies are refused with 413 before they are read whole (server.input_guard).
    max_body_bytes: int = Field(default=1_048_576, ge=1, validation_alias="KEEL_MAX_BODY_BYTES")
    # One message's text (run input, command.update, state values); longer ones are refused with 422.
    max_message_chars: int = Field(default=100_000, ge=1, validation_alias="KEEL_MAX_MESSAGE_CHARS")
    # With langgraph.json `auth`, /metrics is open like /ok unless this is set (then it is authenticated too).
    metrics_auth: bool = Field(default=False, validation_alias="KEEL_METRICS_AUTH")
    # Without langgraph.json `auth`, `keel serve` listens on loopback only unless this is true.
    allow_unauthenticated: bool = Field(default=False, validation_alias="KEEL_ALLOW_UNAUTHENTICATED")
    # On loopback, hosts beside localhost, 127.0.0.1 and [::1] whose requests keel answers (DNS rebinding guard):
    # comma-separated `name` (any port) or `name:port`; `*` allows any.
    allowed_hosts: Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)] = Field(
        default_factory=list, validation_alias="KEEL_ALLOWED_HOSTS"
    )
    # Origins whose browser pages may call keel (CORS), comma-separated (`https://chat.example.com`), or `*`;
    # unset: no CORS headers, so browsers let only same-origin pages read keel's answers.
    cors_allow_origins: Annotated[
        list[str], NoDecode, BeforeValidator(_comma_separated), AfterValidator(_check_origins)
    ] = Field(default_factory=list, validation_alias="KEEL_CORS_ALLOW_ORIGINS")


class RunLimitOverride(BaseModel):
    """One permission's run limits (KEEL_RUN_LIMITS_BY_PERMISSION); a limit left out keeps the default."""

    model_config = ConfigDict(extra="forbid")

    per_minute: int | None = Field(default=None, ge=0)
    active: int | None = Field(default=None, ge=0)


class ToolFaultRates(BaseModel):
    """One tool's injected failure rates (KEEL_TOOL_FAULTS): probabilities per call, summing to at most 1."""

    model_config = ConfigDict(extra="forbid")

    timeout: float = Field(default=0.0, ge=0, le=1)
    error: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _at_most_certain(self) -> ToolFaultRates:
        if self.timeout + self.error > 1:
            raise ValueError("timeout + error is a probability: at most 1")
        return self


def _known_tools(faults: dict[str, ToolFaultRates]) -> dict[str, ToolFaultRates]:
    if unknown := sorted(set(faults) - set(TOOLS)):
        raise ValueError(f"unknown tools {unknown}; tools are {', '.join(sorted(TOOLS))}")
    return faults


class BudgetLimits(BaseModel):
    """Spend limits of one scope (a run, or a thread); a limit left out or null is no limit (nodes/budget.py)."""

    model_config = ConfigDict(extra="forbid")

    model_calls: int | None = Field(default=None, ge=0)
    tokens: int | None = Field(default=None, ge=0)
    dollars: float | None = Field(default=None, ge=0)
    tool_calls: int | None = Field(default=None, ge=0)
    wall_s: float | None = Field(default=None, ge=0)

    def set(self) -> dict[str, float]:
        return {name: float(value) for name, value in self.model_dump().items() if value is not None}


class RunSettings(BaseSettings):
    model_config = _ENV

    workers: int = Field(default=10, ge=0, validation_alias="KEEL_WORKERS")
    lease_s: float = Field(default=30.0, gt=0, validation_alias="KEEL_RUN_LEASE")
    max_attempts: int = Field(default=3, ge=1, validation_alias="KEEL_RUN_MAX_ATTEMPTS")
    timeout_s: float = Field(default=3600.0, gt=0, validation_alias="KEEL_RUN_TIMEOUT")
    poll_s: float = Field(default=1.0, gt=0, validation_alias="KEEL_RUN_POLL")
    shutdown_grace_s: float = Field(default=20.0, ge=0, validation_alias="KEEL_SHUTDOWN_GRACE")
    event_retention_h: float = Field(default=24.0, gt=0, validation_alias="KEEL_EVENT_RETENTION_HOURS")
    # Signs each webhook POST (X-Keel-Signature); unset: webhooks are sent unsigned, as LangGraph Server sends them.
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="KEEL_WEBHOOK_SECRET")
    cron_poll_s: float = Field(default=5.0, gt=0, validation_alias="KEEL_CRON_POLL")  # LangGraph Server's: 5 s
    # Runs one identity may create per minute, and have active (pending or running) at once; 0: no limit. Unset:
    # keel's defaults (server.runs.limits) when langgraph.json has auth, no limit without (one anonymous caller).
    limit_per_minute: int | None = Field(default=None, ge=0, validation_alias="KEEL_RUN_LIMIT_PER_MINUTE")
    limit_active: int | None = Field(default=None, ge=0, validation_alias="KEEL_RUN_LIMIT_ACTIVE")
    # `{"runs:bulk": {"per_minute": 600, "active": 50}}`: a caller with that permission gets these instead.
    limits_by_permission: dict[str, RunLimitOverride] = Field(
        default_factory=dict, validation_alias="KEEL_RUN_LIMITS_BY_PERMISSION"
    )
    # From this refund amount on (USD), the two-person rule holds: the graphs' Context.limits and the approval checks.
    two_person_refund_usd: float = Field(default=1_000.0, ge=0, validation_alias="KEEL_TWO_PERSON_REFUND_USD")

    @property
    def tool_limits(self) -> Limits:
        """The amounts the tools are handed (tools never read the environment)."""
        return Limits(two_person_refund_usd=self.two_person_refund_usd)

    # Budgets (nodes/budget.py): a run (with the runs that resume it) and a thread pause for a person at these.
    # Generous: far above what keel's graphs need (a supervisor turn is one model call, max_steps 12 per agent).
    budget_run: BudgetLimits = Field(
        default_factory=lambda: BudgetLimits(model_calls=200, tool_calls=400, dollars=5.0),
        validation_alias="KEEL_BUDGET_RUN",
    )
    budget_thread: BudgetLimits = Field(
        default_factory=lambda: BudgetLimits(dollars=50.0), validation_alias="KEEL_BUDGET_THREAD"
    )

    # Chaos evals only: tools that fail on purpose, e.g. {"check_billing_status": {"timeout": 0.2, "error": 0.2}},
    # each call drawn from a hash of KEEL_TOOL_FAULTS_SEED, the thread and the call (nodes/faults.py). Empty: none.
    tool_faults: Annotated[dict[str, ToolFaultRates], AfterValidator(_known_tools)] = Field(
        default_factory=dict, validation_alias="KEEL_TOOL_FAULTS"
    )
    tool_faults_seed: int = Field(default=0, validation_alias="KEEL_TOOL_FAULTS_SEED")

    @property
    def faults(self) -> ToolFaults | None:
        """The injected tool faults the graphs are handed (through Context.faults); None when none are set."""
        if not self.tool_faults:
            return None
        rates = {name: FaultRates(timeout=r.timeout, error=r.error) for name, r in self.tool_faults.items()}
        return ToolFaults(rates=rates, seed=self.tool_faults_seed)

    @property
    def heartbeat_s(self) -> float:
        return self.lease_s / 3


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _check_key_digest(value: str) -> str:
    digest = value.lower()
    if not _SHA256_HEX.fullmatch(digest):
        raise ValueError(
            "expected each name to be an API key's sha256 hex digest (python -m server.auth.api_keys hash), "
            "never the key itself"
        )
    return digest


class ApiKeyUser(BaseModel):
    """Who an API key stands for."""

    model_config = ConfigDict(extra="forbid")

    identity: str = Field(min_length=1)
    permissions: list[str] = Field(default_factory=list)
    display_name: str | None = None


class ApiKeySettings(BaseSettings):
    """Read only when langgraph.json's `auth` names `server.auth.api_keys:auth`."""

    model_config = _ENV

    # `{"<sha256 hex of the key>": {"identity": "alice", "permissions": [...], "display_name": "Alice"}}`
    keys: dict[Annotated[str, AfterValidator(_check_key_digest)], ApiKeyUser] = Field(
        min_length=1, validation_alias="KEEL_API_KEYS"
    )


def _check_http_url(url: str | None) -> str | None:
    if url is not None and urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("expected an http:// or https:// URL")
    return url


# Asymmetric only: an HS* token would be verified with the public key as its shared secret (algorithm confusion).
JwtAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class JwtSettings(BaseSettings):
    """Read only when langgraph.json's `auth` names `server.auth.jwt_bearer:auth`. Exactly one key source is set
    (checked there, with the key itself)."""

    model_config = _ENV

    jwks_url: Annotated[str | None, AfterValidator(_check_http_url)] = Field(
        default=None, validation_alias="KEEL_JWT_JWKS_URL"
    )
    # PEM text, or the path of a PEM file.
    public_key: str | None = Field(default=None, validation_alias="KEEL_JWT_PUBLIC_KEY")
    # Comma-separated; a token must name one of them in `aud`.
    audience: Annotated[list[str], NoDecode, BeforeValidator(_comma_separated)] = Field(
        min_length=1, validation_alias="KEEL_JWT_AUDIENCE"
    )
    issuer: str | None = Field(default=None, validation_alias="KEEL_JWT_ISSUER")
    leeway_s: float = Field(default=30.0, ge=0, le=600, validation_alias="KEEL_JWT_LEEWAY_S")
    # A list of strings or a space-separated string (`scope`); dots reach into objects (`realm_access.roles`).
    permissions_claim: str = Field(default="permissions", min_length=1, validation_alias="KEEL_JWT_PERMISSIONS_CLAIM")
    algorithms: Annotated[list[JwtAlgorithm], NoDecode, BeforeValidator(_comma_separated)] = Field(
        default=["RS256", "ES256"], min_length=1, validation_alias="KEEL_JWT_ALGORITHMS"
    )
    jwks_cache_s: float = Field(default=300.0, gt=0, validation_alias="KEEL_JWT_JWKS_CACHE_S")


_Group = TypeVar("_Group", bound=BaseSettings)


class SettingsError(Exception):
    """A setting has a bad value. `str()` is the one line to show the operator."""


class Settings:
    """The groups, read once. Use `get_settings()`; tests call `get_settings.cache_clear()`."""

    def __init__(self) -> None:
        self.database = _read(DatabaseSettings)
        self.model = _read(ModelSettings)
        self.langfuse = _read(LangfuseSettings)
        self.server = _read(ServerSettings)
        self.runs = _read(RunSettings)
        self.observability = _read(ObservabilitySettings)


def _read(group: type[_Group]) -> _Group:
    try:
        return group()
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    except pydantic_settings.SettingsError as exc:
        # A structured value (KEEL_PRICES) that is not JSON fails in the source, before validation.
        raise SettingsError(_unparsable(group, exc)) from None
    except (OSError, UnicodeError) as exc:  # `.env` is unreadable or not UTF-8
        raise SettingsError(f"invalid settings file .env: {' '.join(str(exc).split())}") from None


def read_group(group: type[_Group]) -> _Group:
    """One group read on its own, with `Settings`' one-line errors: for groups only some apps use (an authenticator
    langgraph.json names)."""
    return _read(group)


# Values that may carry credentials are never echoed back.
# KEEL_API_KEYS: a plaintext key pasted where its digest belongs.
_SENSITIVE = frozenset(
    {
        "DATABASE_URL",
        "KEEL_DIRECT_DATABASE_URL",
        "OPENAI_API_KEY",
        "LANGFUSE_SECRET_KEY",
        "KEEL_WEBHOOK_SECRET",
        "KEEL_API_KEYS",
    }
)


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    variable, *inside = [str(part) for part in first["loc"]] or [exc.title]
    message = first["msg"].removeprefix("Value error, ")
    if inside[-1:] == ["[key]"]:  # a bad name in a mapping may be a secret (a key pasted where its digest belongs)
        inside = []
    if inside:  # a place inside a structured value: KEEL_PRICES at gpt-4o.input
        message = f"at {'.'.join(inside)}: {message}"
    got = first.get("input")
    hidden = variable in _SENSITIVE or isinstance(got, dict) or got is None
    shown = "" if hidden else f" (got {str(got)[:80]!r})"
    extra = f"; {exc.error_count() - 1} more invalid setting(s)" if exc.error_count() > 1 else ""
    return " ".join(f"invalid setting {variable}: {message}{shown}{extra}".split())


_FIELD = re.compile(r'field "(\w+)"')


def _unparsable(group: type[BaseSettings], exc: pydantic_settings.SettingsError) -> str:
    """pydantic-settings names the field, not the variable, and keeps the parser's reason in `__cause__`."""
    found = _FIELD.search(str(exc))
    field = group.model_fields.get(found.group(1)) if found else None
    variable = field.validation_alias if field and isinstance(field.validation_alias, str) else group.__name__
    reason = " ".join(str(exc.__cause__ or exc).split())
    return f"invalid setting {variable}: expected JSON ({reason})"


@cache
def get_settings() -> Settings:
    return Settings()
