from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import fanout
from core.fanout import Batch

DAY = date(2026, 12, 1)


@given(st.lists(st.integers(1, 10**6)), st.integers(1, 50))
def test_batches_cover_every_id_once_in_order(ids, size):
    cut = fanout.batches(ids, size)
    unique = sorted(set(ids))
    assert sum(b.count for b in cut) == len(unique)
    assert all(1 <= b.count <= size for b in cut)
    # In order, disjoint: each batch starts after the previous one ends.
    assert all(a.last < b.first for a, b in zip(cut, cut[1:], strict=False))
    # Every id falls in exactly one [first, last] range.
    for i in unique:
        assert sum(b.first <= i <= b.last for b in cut) == 1
    # Only the last batch may be short.
    assert all(b.count == size for b in cut[:-1])


def test_batches_of_a_known_list():
    assert fanout.batches([7, 3, 3, 9, 12, 1], 2) == [
        Batch(1, 3, 2),
        Batch(7, 9, 2),
        Batch(12, 12, 1),
    ]
    assert fanout.batches([], 5) == []


@pytest.mark.parametrize("size", [0, -1, 2.5, True, None])
def test_a_bad_batch_size_is_refused(size):
    with pytest.raises(ValueError, match="1 or more"):
        fanout.batches([1, 2], size)


@given(st.lists(st.integers(1, 10**6), min_size=1), st.integers(1, 20))
def test_the_same_work_gets_the_same_keys(ids, size):
    keys = [fanout.identity_key("grant", 1, DAY, b) for b in fanout.batches(ids, size)]
    again = [
        fanout.identity_key("grant", 1, DAY, b)
        for b in fanout.batches(list(reversed(ids)) + ids[:1], size)
    ]
    assert keys == again
    assert len(set(keys)) == len(keys)


def test_keys_differ_by_kind_scope_day_and_range():
    batch = Batch(10, 20, 5)
    key = fanout.identity_key("grant", 1, DAY, batch)
    assert key == "isp-grant:1:2026-12-01:10-20"
    assert key.startswith(fanout.scope_prefix("grant", 1))
    others = {
        fanout.identity_key("deliver", 1, DAY, batch),
        fanout.identity_key("grant", 2, DAY, batch),
        fanout.identity_key("grant", 1, date(2026, 12, 2), batch),
        fanout.identity_key("grant", 1, DAY, Batch(10, 21, 5)),
    }
    assert key not in others and len(others) == 4
    # A scope's prefix is not the prefix of another scope's keys (1 vs 12).
    assert not fanout.identity_key("grant", 12, DAY, batch).startswith(
        fanout.scope_prefix("grant", 1)
    )
    with pytest.raises(ValueError, match="Unknown kind"):
        fanout.scope_prefix("mail", 1)


def test_a_user_is_delivered_only_by_who_holds_all_their_events():
    pending = [(1, "alice"), (2, "bob"), (3, "alice"), (4, "carol")]
    assert fanout.deliverable(pending, {1, 2, 3, 4}) == {"alice", "bob", "carol"}
    # Another transaction holds alice's newer event: she is its to deliver.
    assert fanout.deliverable(pending, {1, 2, 4}) == {"bob", "carol"}
    assert fanout.deliverable(pending, set()) == frozenset()
    assert fanout.deliverable([], {1}) == frozenset()


@given(
    st.lists(
        st.tuples(st.integers(1, 200), st.sampled_from("abcde")),
        unique_by=lambda p: p[0],
    ),
    st.sets(st.integers(1, 200)),
)
def test_deliverable_users_hold_every_event_of_theirs(pending, locked):
    ok = fanout.deliverable(pending, locked)
    for user in {u for _i, u in pending}:
        theirs = {i for i, u in pending if u == user}
        assert (user in ok) == theirs.issubset(locked)
