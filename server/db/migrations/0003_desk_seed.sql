-- The demo dataset, documented in tools/README.md. Fixed ids and dates, so tool outputs are
-- deterministic and tests, evals and the offline model can rely on them.

INSERT INTO desk.plans (plan_id, name, monthly_price_cents, seats_included, max_workspaces, sso) VALUES
    ('free',       'Free',       0,     3,    1,    false),
    ('starter',    'Starter',    4900,  10,   3,    false),
    ('pro',        'Pro',        19900, 50,   10,   true),
    ('enterprise', 'Enterprise', NULL,  NULL, NULL, true);

INSERT INTO desk.customers
    (customer_id, name, domain, plan_tier, region, admin_name, admin_email, admin_role, admin_permissions, created_at)
VALUES
    ('cus_acme', 'Acme Corp', 'acme.example', 'pro', 'us', 'Alice Nguyen', 'alice@acme.example', 'owner',
     '{billing.manage,workspaces.create,sso.configure,users.invite}', '2025-03-02T10:00:00Z'),
    ('cus_globex', 'Globex Corporation', 'globex.example', 'enterprise', 'eu', 'Greta Lindqvist',
     'greta@globex.example', 'owner', '{billing.manage,workspaces.create,sso.configure,users.invite}',
     '2024-04-01T09:00:00Z'),
    ('cus_initech', 'Initech', 'initech.example', 'starter', 'us', 'Peter Gibbons', 'peter@initech.example', 'owner',
     '{billing.manage,workspaces.create,sso.configure,users.invite}', '2025-08-15T14:30:00Z'),
    ('cus_hooli', 'Hooli', 'hooli.example', 'pro', 'us', 'Jared Dunn', 'jared@hooli.example', 'member',
     '{users.invite}', '2025-06-20T16:00:00Z'),
    ('cus_wayne', 'Wayne Enterprises', 'wayne.example', 'enterprise', 'us', 'Lucius Fox', 'lucius@wayne.example',
     'admin', '{billing.manage,workspaces.create,sso.configure,users.invite}', '2023-12-01T08:00:00Z'),
    ('cus_soylent', 'Soylent Foods', 'soylent.example', 'free', 'apac', 'Sol Roth', 'sol@soylent.example', 'owner',
     '{billing.manage,workspaces.create,sso.configure,users.invite}', '2026-09-10T03:00:00Z'),
    ('cus_tyrell', 'Tyrell Systems', 'tyrell.example', 'starter', 'apac', 'Rachael Tyrell', 'rachael@tyrell.example',
     'billing', '{billing.manage}', '2026-02-01T01:00:00Z'),
    ('cus_nakatomi', 'Nakatomi Trading', 'nakatomi.example', 'starter', 'eu', 'Holly Gennero',
     'holly@nakatomi.example', 'owner', '{billing.manage,workspaces.create,sso.configure,users.invite}',
     '2026-11-18T11:00:00Z');

INSERT INTO desk.subscriptions (subscription_id, customer_id, status, seats, current_period_start, current_period_end)
VALUES
    ('sub_acme',     'cus_acme',     'active',   50,   '2026-11-01', '2026-12-01'),
    ('sub_globex',   'cus_globex',   'active',   500,  '2026-04-01', '2027-04-01'),
    ('sub_initech',  'cus_initech',  'past_due', 10,   '2026-11-01', '2026-12-01'),
    ('sub_hooli',    'cus_hooli',    'active',   50,   '2026-11-01', '2026-12-01'),
    ('sub_wayne',    'cus_wayne',    'active',   1200, '2026-01-01', '2027-01-01'),
    ('sub_soylent',  'cus_soylent',  'active',   3,    '2026-11-10', '2026-12-10'),
    ('sub_tyrell',   'cus_tyrell',   'active',   10,   '2026-11-01', '2026-12-01'),
    ('sub_nakatomi', 'cus_nakatomi', 'trialing', 10,   '2026-11-18', '2026-12-02');

INSERT INTO desk.workspaces (workspace_id, customer_id, name, region, created_at) VALUES
    ('ws_acme_main',       'cus_acme',    'Acme Main',       'us',   '2025-03-02T10:05:00Z'),
    ('ws_acme_staging',    'cus_acme',    'Acme Staging',    'us',   '2025-05-12T09:00:00Z'),
    ('ws_globex_eu',       'cus_globex',  'Globex EU',       'eu',   '2024-04-01T09:10:00Z'),
    ('ws_globex_research', 'cus_globex',  'Globex Research', 'eu',   '2024-09-03T12:00:00Z'),
    ('ws_initech_main',    'cus_initech', 'Initech',         'us',   '2025-08-15T14:35:00Z'),
    ('ws_hooli_main',      'cus_hooli',   'Hooli XYZ',       'us',   '2025-06-20T16:10:00Z'),
    ('ws_wayne_hq',        'cus_wayne',   'Wayne HQ',        'us',   '2023-12-01T08:30:00Z'),
    ('ws_soylent_main',    'cus_soylent', 'Soylent Kitchen', 'apac', '2026-09-10T03:05:00Z'),
    ('ws_tyrell_main',     'cus_tyrell',  'Tyrell Labs',     'apac', '2026-02-01T01:10:00Z');

INSERT INTO desk.invoices (invoice_id, customer_id, description, amount_cents, status, issued_on, due_on, paid_on) VALUES
    ('inv_acme_2026_10',    'cus_acme',    'Pro plan, October 2026',          19900,   'paid', '2026-10-01', '2026-10-15', '2026-10-02'),
    ('inv_acme_2026_11',    'cus_acme',    'Pro plan, November 2026',         19900,   'paid', '2026-11-01', '2026-11-15', '2026-11-02'),
    ('inv_globex_2026_q4',  'cus_globex',  'Enterprise contract, Q4 2026',    6000000, 'paid', '2026-10-01', '2026-11-15', '2026-11-10'),
    ('inv_initech_2026_09', 'cus_initech', 'Starter plan, September 2026',    4900,    'paid', '2026-09-01', '2026-09-15', '2026-09-03'),
    ('inv_initech_2026_10', 'cus_initech', 'Starter plan, October 2026',      4900,    'overdue', '2026-10-01', '2026-10-15', NULL),
    ('inv_initech_2026_11', 'cus_initech', 'Starter plan, November 2026',     4900,    'overdue', '2026-11-01', '2026-11-15', NULL),
    ('inv_hooli_2026_11',   'cus_hooli',   'Pro plan, November 2026',         19900,   'paid', '2026-11-01', '2026-11-15', '2026-11-01'),
    ('inv_wayne_2026',      'cus_wayne',   'Enterprise contract, 2026',       36000000, 'paid', '2026-01-01', '2026-03-02', '2026-02-20'),
    ('inv_tyrell_2026_11',  'cus_tyrell',  'Starter plan, November 2026',     4900,    'paid', '2026-11-01', '2026-11-15', '2026-11-01'),
    ('inv_tyrell_2026_11b', 'cus_tyrell',  'Starter plan, November 2026 (duplicate charge)', 4900, 'paid', '2026-11-01', '2026-11-15', '2026-11-01');

-- An earlier partial refund (a downtime credit), so inv_acme_2026_10 has only $149.00 left to refund.
INSERT INTO desk.refunds (refund_id, customer_id, invoice_id, amount_cents, reason, created_at) VALUES
    ('ref_0001', 'cus_acme', 'inv_acme_2026_10', 5000, 'Service credit for the 2026-10-20 outage',
     '2026-10-22T15:00:00Z');

INSERT INTO desk.tickets (ticket_id, customer_id, subject, body, priority, status, created_at) VALUES
    ('tkt_0901', 'cus_initech', 'Card declined for October invoice',
     'Our card was declined; we will update it but need the invoice re-sent.', 'normal', 'open',
     '2026-10-16T10:00:00Z'),
    ('tkt_0902', 'cus_tyrell', 'Charged twice in November',
     'We see two charges of $49.00 on 2026-11-01 for the Starter plan.', 'high', 'open', '2026-11-03T02:00:00Z'),
    ('tkt_0903', 'cus_globex', 'SSO certificate rotation',
     'Please confirm the new SAML signing certificate was picked up.', 'normal', 'closed', '2026-08-05T07:30:00Z');

INSERT INTO desk.contracts (contract_id, customer_id, seats, sla_uptime, sla_response, payment_terms,
                            annual_value_cents, start_date, renewal_date, auto_renew, notice_days) VALUES
    ('ctr_globex', 'cus_globex', 500, '99.95%', 'P1 incidents answered within 1 hour, 24/7', 'net 45',
     24000000, '2024-04-01', '2027-04-01', true, 60),
    ('ctr_wayne', 'cus_wayne', 1200, '99.9%', 'P1 incidents answered within 4 hours, business hours', 'net 60',
     36000000, '2024-01-01', '2027-01-01', false, 30);
