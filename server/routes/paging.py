"""Page bounds for every list and search endpoint, in one place. An offset past `MAX_OFFSET` could never
find a row anyway; bounding it answers 422 instead of PostgreSQL's "bigint out of range"."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import Field

MAX_LIMIT = 1000
MAX_OFFSET = 2**31 - 1

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
