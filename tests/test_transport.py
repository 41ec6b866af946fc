"""The router delivers through its transport: the seam where delivery to another host plugs in."""

from __future__ import annotations

import errno
from pathlib import Path

from routerkit import drop, front, leftovers, mail, message
from tmms.registry import Mailbox
from tmms.server.handover import Held
from tmms.server.router import Status
from tmms.server.transport import LocalTransport


class Recording(LocalTransport):
    """The local transport, noting each message it is given."""

    def __init__(self) -> None:
        self.given: list[tuple[str, str, bool]] = []  # (outbox path, mailbox, with corrected bytes)

    def deliver(self, held: Held, box: Mailbox, data: bytes | None = None) -> str:
        self.given.append((held.path, box.name, data is not None))
        return super().deliver(held, box, data)


class Down:
    """A transport whose far end cannot be reached."""

    def deliver(self, held: Held, box: Mailbox, data: bytes | None = None) -> str:
        raise OSError(errno.EHOSTUNREACH, "No route to host")


def test_every_delivery_goes_through_the_transport_once(tmp_path: Path) -> None:
    box = mail(tmp_path)
    transport = box.router.transport = Recording()
    plain = drop(box.boxes["alpha"].outbox, "a.md", message("alpha", "beta"))
    forged = drop(box.boxes["alpha"].outbox, "b.md", message("mallory", "carol"))
    outcomes = box.route()
    assert [o.status for o in outcomes] == [Status.DELIVERED, Status.DELIVERED]
    assert sorted(transport.given) == [(str(plain), "beta", False), (str(forged), "carol", True)]
    (delivered,) = box.inbox("carol")
    assert front(delivered)["tmms_from"] == "alpha"  # the corrected bytes are what arrived


def test_a_transport_that_fails_leaves_the_message_in_the_outbox_to_try_again(tmp_path: Path) -> None:
    box = mail(tmp_path)
    box.router.transport = Down()
    drop(box.boxes["alpha"].outbox, "a.md", message("alpha", "beta"))
    box.router.refresh_registry()
    (outcome,) = list(box.router.route_outbox(str(box.boxes["alpha"].outbox)))
    assert outcome.status is Status.FAILED and "No route to host" in outcome.reason
    assert leftovers(box.boxes["alpha"].outbox) == ["a.md"]
    assert box.inbox("beta") == [] and box.dead_letters() == []
