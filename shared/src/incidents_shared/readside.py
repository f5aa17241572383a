"""Names the read side's writers and readers agree on; defined in incidents_shared.names."""

from incidents_shared.names import READ_MODEL_LOCK, RELEASE_CHANNEL, STREAM_CHANNEL, SWAP_CHANNEL

__all__ = ["READ_MODEL_LOCK", "RELEASE_CHANNEL", "STREAM_CHANNEL", "SWAP_CHANNEL"]
