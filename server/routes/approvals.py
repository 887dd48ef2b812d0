"""Approvals: the audit trail of a thread's decisions, and the approvals across threads (the inbox of pending ones,
or the decided ones). What each does is `server.services.approvals`."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter

from server.deps import AccessDep, PoolDep
from server.routes.paging import LimitQuery, OffsetQuery
from server.routes.resources import ApprovalDecision, PendingApproval, ok
from server.services import approvals as service

router = APIRouter(tags=["approvals"])


@router.get("/threads/{thread_id}/approvals", responses=ok(list[ApprovalDecision]))
async def thread_approvals(
    thread_id: uuid.UUID, pool: PoolDep, access: AccessDep, limit: LimitQuery = 10, offset: OffsetQuery = 0
) -> list[Any]:
    """The thread's approval decisions, newest first (404 for a thread the caller cannot read)."""
    return await service.thread_approvals(pool, access, thread_id, limit=limit, offset=offset)


@router.get("/approvals", responses=ok(list[PendingApproval] | list[ApprovalDecision]))
async def list_approvals(
    pool: PoolDep,
    access: AccessDep,
    status: Literal["pending", "decided"] = "pending",
    limit: LimitQuery = 10,
    offset: OffsetQuery = 0,
) -> list[Any]:
    """`pending` (PendingApproval): approvals waiting on the threads the caller may read, that the caller may
    decide (the permission each needs; not the two-person ones the caller asked for). `decided`
    (ApprovalDecision): the decisions on the threads the caller may read. Newest first."""
    return await service.list_approvals(pool, access, status=status, limit=limit, offset=offset)
