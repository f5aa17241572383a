"""The priority matrix: impact x urgency -> P1..P5."""

from incidents_shared.domain.enums import Level, Priority

H, M, L = Level.HIGH, Level.MEDIUM, Level.LOW

PRIORITY_MATRIX: dict[tuple[Level, Level], Priority] = {
    (H, H): Priority.P1,
    (H, M): Priority.P2,
    (M, H): Priority.P2,
    (H, L): Priority.P3,
    (M, M): Priority.P3,
    (L, H): Priority.P3,
    (M, L): Priority.P4,
    (L, M): Priority.P4,
    (L, L): Priority.P5,
}


def priority_for(impact: Level, urgency: Level) -> Priority:
    """The priority the matrix gives an incident of this impact and urgency."""
    return PRIORITY_MATRIX[(impact, urgency)]


def is_higher(candidate: Priority, than: Priority | None) -> bool:
    """True when `candidate` is more urgent than `than` (P1 is the highest)."""
    return than is None or candidate.value < than.value
