-- Every configuration an assistant has had, as LangGraph Server keeps them: a row per version, written on
-- create and on every PATCH (version N+1, made current). The assistant row is a copy of its current version,
-- which `POST /assistants/{id}/latest` may set back to any stored one.
CREATE TABLE keel.assistant_versions (
    assistant_id uuid NOT NULL REFERENCES keel.assistants (assistant_id) ON DELETE CASCADE,
    version      integer NOT NULL CHECK (version > 0),
    graph_id     text NOT NULL,
    name         text NOT NULL,
    description  text,
    config       jsonb NOT NULL DEFAULT '{}',
    context      jsonb NOT NULL DEFAULT '{}',
    metadata     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (assistant_id, version)
);

-- Assistants made before versions were kept: their current configuration becomes their one stored version.
INSERT INTO keel.assistant_versions
    (assistant_id, version, graph_id, name, description, config, context, metadata, created_at)
SELECT assistant_id, version, graph_id, name, description, config, context, metadata, updated_at
FROM keel.assistants;
