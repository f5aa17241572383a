"""`incidentctl directory apply/export` against the real command API, counting records on the directory topic.

The example directory is applied with every id tagged for this test, so it lands in an empty part of a directory
other tests share: everything is created, readable through the API, and a second apply appends nothing.
"""

import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka import AIOKafkaConsumer, TopicPartition

from incidents_shared.kafka import verify_log_topic
from incidents_shared.settings import CommonSettings
from tests.integration.helpers import auth
from tests.integration.services import BIN, ROOT

EXAMPLE = ROOT / "examples" / "directory.yaml"


def incidentctl(api_url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(BIN / "incidentctl"), "directory", *args, "--api", api_url]
    env = {**os.environ, "INCIDENTS_TOKEN": token}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)


def tagged(document: dict[str, Any], tag: str) -> dict[str, Any]:
    """The document with `-<tag>` after every id and every reference to one."""

    def t(value: str) -> str:
        return f"{value}-{tag}"

    for user in document["users"]:
        user["id"] = t(user["id"])
    for team in document["teams"]:
        team.update(id=t(team["id"]), members=[t(m) for m in team["members"]], schedule=t(team["schedule"]))
    for service in document["services"]:
        service.update(id=t(service["id"]), owner_team=t(service["owner_team"]))
    for schedule in document["schedules"]:
        schedule["id"] = t(schedule["id"])
        for layer in schedule["layers"]:
            layer["users"] = [t(u) for u in layer["users"]]
        for override in schedule.get("overrides", []):
            override["user"] = t(override["user"])
    return document


def example(tag: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(EXAMPLE.read_text(), Loader=yaml.BaseLoader)  # every scalar as text
    return tagged(document, tag)


def write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


async def directory_records(settings: CommonSettings) -> int:
    """How many records the directory topic holds, read one by one by a consumer of its own."""
    partitions = await verify_log_topic(settings, settings.directory_topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(settings.directory_topic, p) for p in range(partitions)]
        consumer.assign(tps)
        starts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        count = 0
        for tp in tps:
            consumer.seek(tp, starts[tp])
            while await consumer.position(tp) < ends[tp]:
                batches = await consumer.getmany(tp, timeout_ms=1000)
                count += sum(len(records) for records in batches.values())
        return count
    finally:
        await consumer.stop()


async def test_apply_creates_the_example_and_a_second_apply_changes_nothing(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    file = write(tmp_path / "directory.yaml", example(tag))
    before = await directory_records(settings)

    first = incidentctl(api_url, tokens["admin"], "apply", str(file))
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"+ user ann-{tag}" in first.stdout.splitlines()
    assert f"+ override payments-oncall-{tag}/carol-{tag}@2027-03-26T17:00:00Z" in first.stdout.splitlines()
    assert (
        first.stdout.splitlines()[-1] == "applied: 14 command(s) sent (14 created, 0 changed, 0 deleted, 0 unchanged)"
    )
    assert await directory_records(settings) == before + 14

    ann = await api.get(f"/v1/users/ann-{tag}", headers=auth(tokens, "admin"))
    assert ann.status_code == 200, ann.text
    assert ann.headers["etag"]
    assert [(m["kind"], m["address"]) for m in ann.json()["contact_methods"]] == [
        ("webhook", "http://127.0.0.1:9000/pages/ann"),
        ("email", "ann@example.com"),
    ]
    team = (await api.get(f"/v1/teams/payments-{tag}", headers=auth(tokens, "admin"))).json()
    assert (team["members"], team["schedule"]) == (
        [f"ann-{tag}", f"bob-{tag}", f"carol-{tag}"],
        f"payments-oncall-{tag}",
    )
    service = (await api.get(f"/v1/services/checkout-{tag}", headers=auth(tokens, "admin"))).json()
    assert (service["owner_team"], service["tier"]) == (f"payments-{tag}", 1)
    rota = (await api.get(f"/v1/schedules/payments-oncall-{tag}", headers=auth(tokens, "admin"))).json()
    assert [layer["name"] for layer in rota["layers"]] == ["weekly", "nights"]
    assert [o["user"] for o in rota["overrides"]] == [f"carol-{tag}"]

    second = incidentctl(api_url, tokens["admin"], "apply", str(file))
    assert second.returncode == 0, second.stdout + second.stderr
    (summary,) = second.stdout.splitlines()  # other tests' resources, if any, are counted as left as they are
    assert summary.split(";")[0] == "no changes, 14 unchanged"
    assert await directory_records(settings) == before + 14


async def test_dry_run_prints_the_diff_and_appends_nothing_then_apply_sends_only_the_change(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    document = example(tag)
    assert incidentctl(api_url, tokens["admin"], "apply", str(write(tmp_path / "a.yaml", document))).returncode == 0
    document["users"][0]["email"] = "ann@payments.example.com"
    document["users"][0]["contact_methods"][1]["delay"] = "10m"
    document["services"].pop()  # without --prune a service the file no longer names stays
    changed = write(tmp_path / "b.yaml", document)
    before = await directory_records(settings)

    dry = incidentctl(api_url, tokens["admin"], "apply", str(changed), "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    *diff_lines, summary, last = dry.stdout.splitlines()
    assert diff_lines == [
        f"~ user ann-{tag}",
        '    email: "ann@example.com" -> "ann@payments.example.com"',
        '    contact_methods.1.delay: "PT5M" -> "PT10M"',
    ]
    assert summary.startswith("0 to create, 1 to change, 0 to delete, 12 unchanged; ")  # identity and others' kept
    assert summary.endswith(" not in the file left as they are (--prune deletes them)")
    assert last == "dry run: 1 command(s) not sent"
    assert await directory_records(settings) == before
    ann = (await api.get(f"/v1/users/ann-{tag}", headers=auth(tokens, "admin"))).json()
    assert ann["email"] == "ann@example.com"

    applied = incidentctl(api_url, tokens["admin"], "apply", str(changed))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert await directory_records(settings) == before + 1
    ann = (await api.get(f"/v1/users/ann-{tag}", headers=auth(tokens, "admin"))).json()
    assert (ann["email"], ann["contact_methods"][1]["delay"]) == ("ann@payments.example.com", "PT10M")
    identity = await api.get(f"/v1/services/identity-{tag}", headers=auth(tokens, "admin"))
    assert identity.status_code == 200, identity.text


async def test_a_change_made_by_hand_is_undone_by_applying_the_same_file_again(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    document = example(tag)
    document["users"][0]["email"] = "ann@payments.example.com"  # the file's update of ann, sent once already
    first, file = example(tag), write(tmp_path / "b.yaml", document)
    assert incidentctl(api_url, tokens["admin"], "apply", str(write(tmp_path / "a.yaml", first))).returncode == 0
    assert incidentctl(api_url, tokens["admin"], "apply", str(file)).returncode == 0
    admin = auth(tokens, "admin")
    ann = await api.get(f"/v1/users/ann-{tag}", headers=admin)
    by_hand = {**ann.json(), "email": "ann@example.com"}
    put = await api.put(f"/v1/users/ann-{tag}", json=by_hand, headers={**admin, "If-Match": ann.headers["etag"]})
    assert put.status_code == 200, put.text
    gone = await api.delete(f"/v1/services/identity-{tag}", headers=admin)
    assert gone.status_code == 204, gone.text
    before = await directory_records(settings)

    # The same update of ann as the last apply sent: on a new revision, so a new request (not the old answer).
    again = incidentctl(api_url, tokens["admin"], "apply", str(file))
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"~ user ann-{tag}" in again.stdout.splitlines()
    assert f"+ service identity-{tag}" in again.stdout.splitlines()
    assert await directory_records(settings) == before + 2
    assert (await api.get(f"/v1/users/ann-{tag}", headers=admin)).json()["email"] == "ann@payments.example.com"
    assert (await api.get(f"/v1/services/identity-{tag}", headers=admin)).status_code == 200
    assert "directory_apply_second_round" not in again.stderr

    # Deleted by hand once more: this time the create of identity is the very request the last apply sent, so
    # the API answers it from that record; apply sees it still missing and sends it again under a new key.
    assert (await api.delete(f"/v1/services/identity-{tag}", headers=admin)).status_code == 204
    before = await directory_records(settings)
    third = incidentctl(api_url, tokens["admin"], "apply", str(file))
    assert third.returncode == 0, third.stdout + third.stderr
    assert "directory_apply_second_round" in third.stderr
    assert await directory_records(settings) == before + 1
    assert (await api.get(f"/v1/services/identity-{tag}", headers=admin)).status_code == 200
    last = incidentctl(api_url, tokens["admin"], "apply", str(file))
    assert last.stdout.splitlines()[-1].startswith("no changes, 14 unchanged"), last.stdout + last.stderr


async def test_export_then_apply_changes_nothing_and_prune_deletes_only_what_the_file_drops(
    api: httpx.AsyncClient, api_url: str, tokens: dict[str, str], settings: CommonSettings, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    assert incidentctl(api_url, tokens["admin"], "apply", str(write(tmp_path / "a.yaml", example(tag)))).returncode == 0
    exported = tmp_path / "export.yaml"
    done = incidentctl(api_url, tokens["admin"], "export", "-o", str(exported))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"id: ann-{tag}" in exported.read_text()
    before = await directory_records(settings)

    again = incidentctl(api_url, tokens["admin"], "apply", str(exported))
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1].startswith("no changes, ")
    assert await directory_records(settings) == before

    whole: dict[str, Any] = yaml.safe_load(exported.read_text())
    whole["services"] = [s for s in whole["services"] if s["id"] != f"identity-{tag}"]
    pruned = incidentctl(api_url, tokens["admin"], "apply", str(write(tmp_path / "p.yaml", whole)), "--prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert pruned.stdout.splitlines()[0] == f"- service identity-{tag}"
    assert await directory_records(settings) == before + 1
    gone = await api.get(f"/v1/services/identity-{tag}", headers=auth(tokens, "admin"))
    assert gone.status_code == 404, gone.text


async def test_a_bad_file_exits_2_naming_the_field_and_a_refusal_exits_1_with_the_problem(
    api_url: str, tokens: dict[str, str], settings: CommonSettings, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    document = example(tag)
    document["users"][1]["time_zone"] = "Europe/Atlantis"
    before = await directory_records(settings)
    bad = incidentctl(api_url, tokens["admin"], "apply", str(write(tmp_path / "bad.yaml", document)))
    assert bad.returncode == 2, bad.stdout + bad.stderr
    assert f"{tmp_path / 'bad.yaml'}:users.1.time_zone: unknown time zone 'Europe/Atlantis'" in bad.stderr

    dangling = example(tag)
    dangling["teams"][0]["members"].append("nobody")
    refused_whole = incidentctl(api_url, tokens["admin"], "apply", str(write(tmp_path / "d.yaml", dangling)))
    assert refused_whole.returncode == 2, refused_whole.stdout + refused_whole.stderr
    assert "d.yaml:teams.0.members.3: unknown user 'nobody'" in refused_whole.stderr

    responder = incidentctl(api_url, tokens["responder"], "apply", str(write(tmp_path / "ok.yaml", example(tag))))
    assert responder.returncode == 1, responder.stdout + responder.stderr
    assert "403" in responder.stderr
    assert await directory_records(settings) == before
