-- The demo domain's system of record: a SaaS company's customer desk (onboarding and support).
-- keel's tools read and write these rows; tests count them. Money is integer cents (USD).

CREATE SCHEMA desk;

CREATE TABLE desk.plans (
    plan_id             text PRIMARY KEY,
    name                text NOT NULL,
    monthly_price_cents integer CHECK (monthly_price_cents >= 0),  -- NULL: priced by contract
    seats_included      integer CHECK (seats_included > 0),        -- NULL: set by contract
    max_workspaces      integer CHECK (max_workspaces > 0),        -- NULL: unlimited
    sso                 boolean NOT NULL
);

CREATE TABLE desk.customers (
    customer_id       text PRIMARY KEY CHECK (customer_id ~ '^cus_[a-z0-9_]+$'),
    name              text NOT NULL UNIQUE,
    domain            text NOT NULL UNIQUE,
    plan_tier         text NOT NULL REFERENCES desk.plans (plan_id),
    -- Derived, so it can never disagree with the plan.
    enterprise        boolean GENERATED ALWAYS AS (plan_tier = 'enterprise') STORED,
    region            text NOT NULL CHECK (region IN ('us', 'eu', 'apac')),
    admin_name        text NOT NULL,
    admin_email       text NOT NULL UNIQUE,
    admin_role        text NOT NULL CHECK (admin_role IN ('owner', 'admin', 'billing', 'member')),
    admin_permissions text[] NOT NULL DEFAULT '{}'
                      CHECK (admin_permissions <@ ARRAY['billing.manage', 'workspaces.create', 'sso.configure',
                                                        'users.invite']),
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE desk.workspace_seq START 1001;
CREATE TABLE desk.workspaces (
    workspace_id text PRIMARY KEY DEFAULT 'ws_' || nextval('desk.workspace_seq'),
    customer_id  text NOT NULL REFERENCES desk.customers (customer_id),
    name         text NOT NULL CHECK (length(btrim(name)) > 0),
    region       text NOT NULL CHECK (region IN ('us', 'eu', 'apac')),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workspaces_name_idx ON desk.workspaces (customer_id, lower(name));

-- One subscription per customer; its plan is the customer's plan_tier.
CREATE TABLE desk.subscriptions (
    subscription_id      text PRIMARY KEY,
    customer_id          text NOT NULL UNIQUE REFERENCES desk.customers (customer_id),
    status               text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'canceled')),
    seats                integer NOT NULL CHECK (seats > 0),
    current_period_start date NOT NULL,
    current_period_end   date NOT NULL CHECK (current_period_end > current_period_start)
);

CREATE SEQUENCE desk.invoice_seq START 1001;
CREATE TABLE desk.invoices (
    invoice_id   text PRIMARY KEY DEFAULT 'inv_' || nextval('desk.invoice_seq'),
    customer_id  text NOT NULL REFERENCES desk.customers (customer_id),
    description  text NOT NULL,
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    -- 'overdue' is an open invoice past its due date, set by billing (stored, so it never depends on the clock).
    status       text NOT NULL CHECK (status IN ('open', 'overdue', 'paid', 'void')),
    issued_on    date NOT NULL,
    due_on       date NOT NULL,
    paid_on      date,
    CHECK ((status = 'paid') = (paid_on IS NOT NULL))
);
CREATE INDEX invoices_customer_idx ON desk.invoices (customer_id, issued_on);

CREATE SEQUENCE desk.refund_seq START 1001;
CREATE TABLE desk.refunds (
    refund_id    text PRIMARY KEY DEFAULT 'ref_' || nextval('desk.refund_seq'),
    customer_id  text NOT NULL REFERENCES desk.customers (customer_id),
    invoice_id   text NOT NULL REFERENCES desk.invoices (invoice_id),
    amount_cents integer NOT NULL CHECK (amount_cents > 0),
    reason       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_invoice_idx ON desk.refunds (invoice_id);

CREATE SEQUENCE desk.ticket_seq START 1001;
CREATE TABLE desk.tickets (
    ticket_id   text PRIMARY KEY DEFAULT 'tkt_' || nextval('desk.ticket_seq'),
    customer_id text NOT NULL REFERENCES desk.customers (customer_id),
    subject     text NOT NULL,
    body        text NOT NULL,
    priority    text NOT NULL CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'closed')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_customer_idx ON desk.tickets (customer_id, created_at);

-- Enterprise terms; at most one contract per customer.
CREATE TABLE desk.contracts (
    contract_id         text PRIMARY KEY,
    customer_id         text NOT NULL UNIQUE REFERENCES desk.customers (customer_id),
    seats               integer NOT NULL CHECK (seats > 0),
    sla_uptime          text NOT NULL,
    sla_response        text NOT NULL,
    payment_terms       text NOT NULL,
    annual_value_cents  bigint NOT NULL CHECK (annual_value_cents > 0),
    start_date          date NOT NULL,
    renewal_date        date NOT NULL CHECK (renewal_date > start_date),
    auto_renew          boolean NOT NULL,
    notice_days         integer NOT NULL CHECK (notice_days >= 0)
);

-- Messages to customers, written here and delivered by something else (nothing sends mail in keel).
CREATE SEQUENCE desk.message_seq START 1001;
CREATE TABLE desk.outbox (
    message_id  text PRIMARY KEY DEFAULT 'msg_' || nextval('desk.message_seq'),
    customer_id text NOT NULL REFERENCES desk.customers (customer_id),
    channel     text NOT NULL DEFAULT 'email' CHECK (channel IN ('email')),
    to_address  text NOT NULL,
    subject     text NOT NULL,
    body        text NOT NULL,
    status      text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per side effect, written in the same transaction as the effect: a repeat of the same
-- idempotency key (a replay after a crash, a retried run) returns `result` and writes nothing.
CREATE TABLE desk.tool_effects (
    idempotency_key text PRIMARY KEY,
    tool            text NOT NULL,
    result          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
