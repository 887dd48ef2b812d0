-- The user who created a cron (under langgraph.json `auth`), as a run's config carries it: each run the cron fires
-- runs as that user (config.configurable.langgraph_auth_user), checked as that user's own run would be. NULL: the
-- cron was created without auth, and its runs carry no identity.
ALTER TABLE keel.crons ADD COLUMN auth_user jsonb;
