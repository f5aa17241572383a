-- Running digest of accepted events per partition (projector state, rebuilt with the read model) and the
-- signed checkpoints of it (history: never rebuilt, never swapped).
CREATE TABLE partition_digests (
    partition integer PRIMARY KEY,
    digest    text    NOT NULL
);

CREATE TABLE audit_checkpoints (
    checkpoint_id bigserial PRIMARY KEY,
    partition     integer     NOT NULL,
    next_offset   bigint      NOT NULL,
    digest        text        NOT NULL,
    signature     text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_checkpoints_partition_idx ON audit_checkpoints (partition, next_offset);
