"""keel's demo tools for a SaaS customer desk, by name. One line per tool; the risk level is on the spec."""

from __future__ import annotations

from tools.billing import CHECK_BILLING_STATUS, ENABLE_PAID_PLAN
from tools.calculator import CALCULATOR
from tools.contact_preferences import REMEMBER_PREFERRED_CHANNEL
from tools.contracts import LOOKUP_CONTRACT_TERMS
from tools.customers import CHECK_ADMIN_PERMISSIONS, LOOKUP_CUSTOMER
from tools.docs import SEARCH_DOCS
from tools.messages import SEND_EXTERNAL_MESSAGE
from tools.refunds import ISSUE_REFUND
from tools.spec import ToolSpec
from tools.tickets import OPEN_TICKET
from tools.workspaces import CREATE_WORKSPACE

TOOLS: dict[str, ToolSpec] = {
    "lookup_customer": LOOKUP_CUSTOMER,
    "check_billing_status": CHECK_BILLING_STATUS,
    "check_admin_permissions": CHECK_ADMIN_PERMISSIONS,
    "lookup_contract_terms": LOOKUP_CONTRACT_TERMS,
    "search_docs": SEARCH_DOCS,
    "calculator": CALCULATOR,
    "create_workspace": CREATE_WORKSPACE,
    "open_ticket": OPEN_TICKET,
    "enable_paid_plan": ENABLE_PAID_PLAN,
    "issue_refund": ISSUE_REFUND,
    "send_external_message": SEND_EXTERNAL_MESSAGE,
    "remember_preferred_channel": REMEMBER_PREFERRED_CHANNEL,
}
