-- Ed25519-signed, numbered and chained audit checkpoints (docs/decisions/0082). The HMAC checkpoints of 0009
-- move aside to audit_checkpoints_hmac, kept as history: `incidentctl audit verify` no longer reads them (their
-- symmetric key let every verifier forge them). Nothing is lost: each partition's first new checkpoint (number 1)
-- signs the running digest of every accepted event since offset 0.
ALTER TABLE audit_checkpoints RENAME TO audit_checkpoints_hmac;
ALTER TABLE audit_checkpoints_hmac RENAME CONSTRAINT audit_checkpoints_pkey TO audit_checkpoints_hmac_pkey;
ALTER INDEX audit_checkpoints_partition_idx RENAME TO audit_checkpoints_hmac_partition_idx;
ALTER SEQUENCE audit_checkpoints_checkpoint_id_seq RENAME TO audit_checkpoints_hmac_checkpoint_id_seq;

CREATE TABLE audit_checkpoints (
    checkpoint_id bigserial   PRIMARY KEY,
    partition     integer     NOT NULL,
    seq           bigint      NOT NULL CHECK (seq >= 1),   -- 1, 2, ... per partition: a gap is a deletion
    next_offset   bigint      NOT NULL,
    digest        text        NOT NULL,
    prev_hash     text        NOT NULL,                    -- the previous checkpoint's hash (number 1: zeros)
    key_id        text        NOT NULL,                    -- ed25519:<sha256 of the public key, 16 hex>
    signature     text        NOT NULL,                    -- base64 Ed25519 signature of the fields above
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (partition, seq)
);
