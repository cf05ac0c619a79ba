"""The routers (NAS): what their answers to Disconnect and CoA requests
mean, and what declaring one to FreeRADIUS needs.

The rules, as a network engineer would state them:

- Each Disconnect-Request or CoA-Request (RFC 5176) gets an answer per open
  session: ACK, NAK with its Error-Cause, or none. No answer, or a router
  busy (Resources Unavailable), is asked again later, a few times; a session
  the router no longer has (Session Context Not Found) needs nothing more; a
  refused CoA may become a Disconnect-Request, as the service says; any other
  refusal is given up at once, since the same request would be refused again.
- A router is declared by its address (IPv4 or IPv6), a RADIUS secret without
  quotes or line breaks, and its CoA port.
"""

import ipaddress
from dataclasses import dataclass

ACK = "ack"
NAK = "nak"
NO_ANSWER = "no_answer"
ANSWERS = (ACK, NAK, NO_ANSWER)

# What to do once the routers answered a Disconnect or CoA request.
DONE = "done"
RETRY = "retry"
FALLBACK = "fallback"
GIVE_UP = "give_up"

# RFC 5176 Error-Cause values a router may give with a NAK.
ERROR_CAUSES = {
    201: "Residual Session Context Removed",
    202: "Invalid EAP Packet",
    401: "Unsupported Attribute",
    402: "Missing Attribute",
    403: "NAS Identification Mismatch",
    404: "Invalid Request",
    405: "Unsupported Service",
    406: "Unsupported Extension",
    407: "Invalid Attribute Value",
    501: "Administratively Prohibited",
    502: "Request Not Routable (Proxy)",
    503: "Session Context Not Found",
    504: "Session Context Not Removable",
    505: "Other Proxy Processing Error",
    506: "Resources Unavailable",
    507: "Request Initiated",
    508: "Multiple Session Selection Unsupported",
}
# The session is gone: the request has nothing left to do.
_GONE = (201, 503)
# The router may take it later.
_TRANSIENT = (506,)


@dataclass(frozen=True)
class Answer:
    """A router's answer to one request: ACK, NAK (with its Error-Cause, when
    it gave one) or NO_ANSWER."""

    outcome: str
    error_cause: int | None = None

    @property
    def text(self) -> str:
        if self.outcome == ACK:
            return "acknowledged"
        if self.outcome == NO_ANSWER:
            return "no answer"
        cause = ERROR_CAUSES.get(self.error_cause, "no Error-Cause given")
        if self.error_cause:
            cause = f"{self.error_cause} {cause}"
        return f"refused ({cause})"


def after_answers(
    kind: str,
    answers: list[Answer],
    attempts: int,
    fallback_disconnect: bool,
    max_attempts: int,
) -> str:
    """What to do after the ``attempts``-th sending of a ``disconnect`` or
    ``coa`` request got ``answers`` (one per open session; none: no open
    session).

    - Every router acknowledged, or a NAK says the session is gone: DONE.
    - A router refused a CoA and the service says so: FALLBACK to a
      Disconnect-Request (the subscriber reconnects under the new rules).
    - A router did not answer, or is busy (Resources Unavailable): RETRY
      later, up to ``max_attempts`` sendings, then GIVE_UP.
    - Any other refusal: GIVE_UP at once; the same request would be refused
      again.
    """
    if kind not in ("disconnect", "coa"):
        raise ValueError(f"Unknown request {kind!r}.")
    pending = [a for a in answers if a.outcome != ACK and a.error_cause not in _GONE]
    if not pending:
        return DONE
    refused = [
        a for a in pending if a.outcome == NAK and a.error_cause not in _TRANSIENT
    ]
    if refused:
        return FALLBACK if kind == "coa" and fallback_disconnect else GIVE_UP
    return RETRY if attempts < max_attempts else GIVE_UP


# The routers' declaration.

NAS_KEY_PREFIX = "nas:"


def nas_key(address: str) -> str:
    """The outbox key of a router: never a subscriber's username."""
    return f"{NAS_KEY_PREFIX}{address}"


def nas_problem(address: str | None, coa_port: int) -> str | None:
    """Why a router cannot be declared to FreeRADIUS, or None."""
    try:
        ipaddress.ip_address((address or "").strip())
    except ValueError:
        return (
            f"{address!r} is not a router address: give the IPv4 or IPv6 address "
            "it sends RADIUS from, e.g. 10.0.0.1."
        )
    if not 0 < coa_port < 65536:
        return "A CoA port lies between 1 and 65535."
    return None


def secret_problem(secret: str | None) -> str | None:
    """Why ``secret`` cannot be a router's RADIUS secret, or None."""
    if not secret:
        return "A router needs its RADIUS secret: the one set on the router."
    if any(char in secret for char in "'\"\\\n") or len(secret) > 60:
        return "A RADIUS secret is up to 60 characters, without quotes or line breaks."
    return None
