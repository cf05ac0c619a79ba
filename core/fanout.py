"""Spreading a run over workers: its batches, their identity, who delivers.

With the fan-out on, a scheduled action no longer does the work itself: it
selects what is due and cuts it into batches, one job each for OCA
``queue_job``, whose runner hands the jobs to every worker of every server.
The rules:

- The batches cover every due id exactly once, in id order, at most ``size``
  ids each. A batch is named by its first and last id: its job takes, when it
  runs and under lock, whatever is *still* due between the two. So a batch
  done twice, or by two jobs at once, does its work once.
- A batch has an identity: the kind of work, its scope (the company or the
  RADIUS server), the day and its first and last id. The same due ids give the
  same identities, so a second run, or a run after a crash, that finds the
  same work waiting enqueues nothing new (``queue_job``'s ``identity_key``).
- One subscriber's network events are delivered by one transaction at a time:
  a job delivers a user only when it holds the lock of *every* pending event
  of that user it can see, else it leaves the user to whoever holds them (see
  ``deliverable``). So two jobs never write one user's rows out of order.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

GRANT = "grant"
DELIVER = "deliver"
NOTIFY = "notify"
KINDS = (GRANT, DELIVER, NOTIFY)
# Every identity key of this addon starts with this.
KEY_PREFIX = "isp-"


@dataclass(frozen=True)
class Batch:
    """The ids ``first`` to ``last`` (both included), ``count`` of them due."""

    first: int
    last: int
    count: int


def batches(ids: Iterable[int], size: int) -> list[Batch]:
    """Cut these ids into batches of at most ``size``, in id order.

    Duplicates count once. ``size`` must be 1 or more.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError("A batch size must be a whole number, 1 or more.")
    ordered = sorted(set(ids))
    return [
        Batch(chunk[0], chunk[-1], len(chunk))
        for chunk in (ordered[i : i + size] for i in range(0, len(ordered), size))
    ]


def scope_prefix(kind: str, scope: int) -> str:
    """What the identity keys of one kind of work in one scope start with."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind of work: {kind!r}.")
    return f"{KEY_PREFIX}{kind}:{int(scope)}:"


def identity_key(kind: str, scope: int, day: date, batch: Batch) -> str:
    """The identity of one batch: the same work gives the same key."""
    return f"{scope_prefix(kind, scope)}{day.isoformat()}:{batch.first}-{batch.last}"


def deliverable(
    pending: Iterable[tuple[int, str]], locked: Iterable[int]
) -> frozenset[str]:
    """The users this transaction may deliver.

    ``pending``: (event id, user) of every pending event it sees of the users
    at hand; ``locked``: the ids among them that it holds the lock of. A user
    is deliverable when all of their pending events are locked here: another
    transaction holding one of them is delivering that user.
    """
    held = set(locked)
    users: dict[str, bool] = {}
    for event_id, user in pending:
        users[user] = users.get(user, True) and event_id in held
    return frozenset(user for user, all_held in users.items() if all_held)
