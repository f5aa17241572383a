"""How a rebuild deals partitions to its worker processes."""

from incidentctl.rebuild_workers import split


def test_every_partition_goes_to_exactly_one_worker_with_its_end_offset() -> None:
    target = {p: 100 + p for p in range(12)}
    groups = split(target, 5)
    assert len(groups) == 5
    merged = {p: end for group in groups for p, end in group.items()}
    assert merged == target
    assert sum(len(g) for g in groups) == 12, "no partition twice"
    assert max(len(g) for g in groups) - min(len(g) for g in groups) <= 1, "dealt evenly"


def test_fewer_partitions_than_workers_leaves_no_empty_worker() -> None:
    assert split({0: 5, 1: 7}, 4) == [{0: 5}, {1: 7}]
    assert split({}, 3) == []
