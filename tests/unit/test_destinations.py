"""Destinations are references resolved when sent (decision 0079): a page's event and timers keep no URL, the
sender finds the address in the directory as it is then, and says why when it no longer can."""

from dataclasses import replace

from escalator.destinations import Destinations, Unresolved
from escalator.targets import Allowances, channel_url_problems
from incidents_shared.domain import directory as d
from incidents_shared.domain.enums import ContactKind
from incidents_shared.domain.escalation.book import PolicyBook
from incidents_shared.domain.escalation.destinations import ChannelRef, ContactRef
from incidents_shared.domain.escalation.people import People
from incidents_shared.domain.escalation.policy import Channel, ChannelKind
from tests.unit.test_paging import BASE, BOB, POLICY, directory, logged, pages, s, simulator, user


def test_a_pages_event_and_timers_record_only_scheme_and_host_of_a_webhook_url() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(1))
    [page] = pages(sim)
    assert page.data.contact.address == "http://127.0.0.1:9", "not the URL's path, its secret part"
    assert all("/ann" not in str(t.payload) for t in sim.timers.values()), "nor any timer waiting to fire"
    [delivery] = sim.deliveries
    assert delivery.destination == ContactRef("ann", 0, ContactKind.WEBHOOK)


def test_a_page_goes_to_the_contact_method_as_the_directory_has_it_when_sent() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(1))
    [delivery] = sim.deliveries
    now = [sim.people]
    resolve = Destinations(PolicyBook(POLICY), lambda: now[0]).resolve
    assert resolve(delivery) == "http://127.0.0.1:9/ann"

    moved = user("ann", ("webhook", "https://hooks.example.com/ann-new", "0"))
    now[0] = People(directory(d.CreateUser(user=moved), *BASE[1:]), "service-desk")
    assert resolve(delivery) == "https://hooks.example.com/ann-new", "an edited address: the new one"

    now[0] = People(directory(d.CreateUser(user=user("ann", ("email", "ann@example.com", "0"))), *BASE[1:]))
    assert resolve(delivery) == Unresolved("contact method #1 of 'ann' is now email, was webhook")
    now[0] = People(directory(d.CreateUser(user=user("ann")), *BASE[1:]))
    assert resolve(delivery) == Unresolved("user 'ann' has no contact method #1 any more")
    now[0] = People(directory(d.CreateUser(user=BOB)))
    assert resolve(delivery) == Unresolved("user 'ann' is no longer in the directory")


def test_a_channel_is_looked_up_in_the_policy_file_in_force() -> None:
    sim = simulator(directory(*BASE))
    sim.append(logged())
    sim.advance(s(30 * 60 + 1))  # level 2: the leads' channel
    [to_leads] = [x for x in sim.deliveries if x.channel == "leads-hook"]
    assert to_leads.destination == ChannelRef("leads-hook")
    book = PolicyBook(POLICY)
    assert Destinations(book, People).resolve(to_leads) == "http://127.0.0.1:9/leads"
    slack = Channel(kind=ChannelKind.SLACK, url="https://hooks.slack.com/services/T0/B0/X")
    changed = PolicyBook(POLICY.model_copy(update={"channels": {"leads-hook": slack}}))
    assert Destinations(changed, People).resolve(to_leads) == Unresolved(
        "channel 'leads-hook' is now a slack channel; this message was for webhook"
    )
    gone = PolicyBook(POLICY.model_copy(update={"channels": {}}))
    why = Destinations(gone, People).resolve(replace(to_leads))
    assert isinstance(why, Unresolved) and "no longer in the policy file in force" in why.why


def test_the_policy_files_channels_are_checked_at_start() -> None:
    guarded = channel_url_problems(POLICY, Allowances())
    assert len(guarded) == 1 and "channels.leads-hook" in guarded[0] and "plain http refused" in guarded[0]
    assert "127.0.0.1 is a loopback address" in channel_url_problems(POLICY, Allowances(http=True))[0]
    assert channel_url_problems(POLICY, Allowances(private=True, http=True)) == []
