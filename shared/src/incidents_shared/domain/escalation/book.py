"""The policy versions the escalator knows: the one in force for new incidents and every version pinned before."""

from dataclasses import dataclass, field

from incidents_shared.domain.escalation.policy import Channel, Policy
from incidents_shared.domain.state import Incident


class PolicyVersionChanged(RuntimeError):
    """The file's id + version was seen before with other content: the version must be bumped."""


@dataclass
class PolicyBook:
    current: Policy
    versions: dict[tuple[str, int], Policy] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.versions.setdefault(self.current.key, self.current)

    def for_incident(self, state: Incident) -> Policy:
        """The version pinned on the incident by its last `incident.sla_targets_set`, else the one in force."""
        if state.sla_policy_id is not None and state.sla_policy_version is not None:
            return self.versions.get((state.sla_policy_id, state.sla_policy_version), self.current)
        return self.current

    def channels(self, policy: Policy, names: list[str]) -> list[tuple[str, Channel | None]]:
        """Channels are deployment configuration: each name as the file in force defines it, else as `policy` does
        (None: neither does). The escalator stores its pinned versions without their channels (decision 0079)."""
        return [(name, self.current.channels.get(name, policy.channels.get(name))) for name in names]
