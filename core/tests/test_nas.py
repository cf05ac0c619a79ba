"""What routers answer to Disconnect and CoA requests, and declaring one."""

import pytest

from core import nas

# -- Disconnect and CoA answers ---------------------------------------------------

ACKED = nas.Answer(nas.ACK)
SILENT = nas.Answer(nas.NO_ANSWER)


def nak(cause=None):
    return nas.Answer(nas.NAK, cause)


@pytest.mark.parametrize(
    "kind, answers, attempts, fallback, expected",
    [
        ("disconnect", [ACKED], 1, False, nas.DONE),
        ("disconnect", [], 1, False, nas.DONE),
        ("disconnect", [nak(503)], 1, False, nas.DONE),
        ("disconnect", [ACKED, SILENT], 1, False, nas.RETRY),
        ("disconnect", [SILENT], 5, False, nas.GIVE_UP),
        ("disconnect", [nak(506)], 2, False, nas.RETRY),
        ("disconnect", [nak(501)], 1, False, nas.GIVE_UP),
        ("coa", [nak(405)], 1, True, nas.FALLBACK),
        ("coa", [nak()], 1, False, nas.GIVE_UP),
        ("coa", [nak(404), SILENT], 1, True, nas.FALLBACK),
    ],
)
def test_each_answer_says_what_comes_next(kind, answers, attempts, fallback, expected):
    assert nas.after_answers(kind, answers, attempts, fallback, 5) == expected


def test_an_answer_reads_as_words():
    assert nak(405).text == "refused (405 Unsupported Service)"
    assert nak().text == "refused (no Error-Cause given)"
    assert SILENT.text == "no answer"
    with pytest.raises(ValueError):
        nas.after_answers("ping", [], 1, False, 5)


# -- routers -----------------------------------------------------------------------


def test_a_router_needs_an_address_a_port_and_a_plain_secret():
    assert nas.nas_problem("10.0.0.1", 3799) is None
    assert nas.nas_problem("2001:db8::1", 3799) is None
    assert "not a router address" in nas.nas_problem("router-1", 3799)
    assert "not a router address" in nas.nas_problem("", 3799)
    assert "between 1 and 65535" in nas.nas_problem("10.0.0.1", 70000)
    assert nas.secret_problem("s3cret") is None
    assert "needs its RADIUS secret" in nas.secret_problem("")
    assert "without quotes" in nas.secret_problem("it's")
    assert nas.nas_key("10.0.0.1") == "nas:10.0.0.1"
