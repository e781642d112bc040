"""Failures a local site injects on demand, and the log of the requests it answered."""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from typing import NamedTuple

from .server import Reply, html_reply, simple_page

FAULT_KINDS = ("503", "429", "reset", "timeout", "truncated")


@dataclass
class Faults:
    """Failures to inject, changeable while the server runs. robots.txt is exempt unless
    `robots` is set.

    rate, kinds      each request fails with probability `rate` (drawn from
                     random.Random(seed)), in one of `kinds`: "503", "429" (Retry-After: 1),
                     "reset" (connection closed without an answer), "timeout" (the answer
                     waits `timeout_seconds`), "truncated" (half the body, full
                     Content-Length, then the connection closes)
    challenge        every request gets Cloudflare's "Just a moment..." page, with status
                     `challenge_status` (403; Cloudflare also challenges with 200, and then
                     sends no `cf-mitigated` header: only the content tells)
    schema_drift     both listing operations answer "Cannot query field ..." errors
    refuse_primary   a body with PublicationContentDataQuery answers 400 with errors
    offsite_redirect GET / answers 302 to http://example.invalid/
    down_after, down the site goes down after answering `down_after` requests, robots.txt
                     included: "503" answers 503 to everything from then on, "refused"
                     closes that request's connection and stops listening (connections
                     are refused)
    slow             seconds every answer waits
    gone             every request answers 404
    unlisted         post ids both listing operations leave out (sitemaps and RSS still name
                     them, and PostByIdQuery answers them), as when Medium's listing misses
                     posts
    broken_paths     paths (without query) that always answer 500, e.g. one day sitemap
    broken_operations GraphQL operations (operationName) whose requests answer 500
    """

    rate: float = 0.0
    kinds: list[str] = field(default_factory=lambda: ["503"])
    timeout_seconds: float = 10.0
    robots: bool = False
    challenge: bool = False
    challenge_status: int = 403
    down_after: int | None = None
    down: str = "503"
    schema_drift: bool = False
    refuse_primary: bool = False
    offsite_redirect: bool = False
    slow: float = 0.0
    gone: bool = False
    unlisted: set[str] = field(default_factory=set)
    broken_paths: set[str] = field(default_factory=set)
    broken_operations: set[str] = field(default_factory=set)

    def is_down(self, answered: int) -> bool:
        """Whether the site is down, once it has answered `answered` requests."""
        return self.down_after is not None and answered >= self.down_after

    def draw(self, rng: random.Random) -> str | None:
        """The fault kind a request meets, None for most at a low `rate`."""
        if self.rate <= 0:
            return None
        unknown = set(self.kinds) - set(FAULT_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"fault kinds must be some of {FAULT_KINDS}, got {self.kinds}")
        if rng.random() >= self.rate:
            return None
        return rng.choice(self.kinds)


class LoggedRequest(NamedTuple):
    """One request: `status` is the status sent (0 for a reset connection), `at` the
    `time.monotonic()` when it was answered (before any delay of its answer)."""

    method: str
    path: str
    operation: str | None
    status: int
    at: float


def error_reply(status: int) -> Reply:
    """The bare error page of a 503 (busy), 429 (Retry-After: 1) or 500."""
    if status == 503:
        return html_reply(
            503, simple_page("Service Unavailable", "<h1>503 Service Unavailable</h1>")
        )
    if status == 429:
        return html_reply(
            429, simple_page("Too Many Requests", "<h1>429</h1>"), ("Retry-After", "1")
        )
    return html_reply(status, simple_page("Internal Server Error", f"<h1>{status}</h1>"))


def fault_rate(text: str) -> float:
    """A share of failed requests, from the command line."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def fault_kinds(text: str) -> list[str]:
    """Comma-separated fault kinds, from the command line."""
    kinds = [kind.strip() for kind in text.split(",") if kind.strip()]
    if not kinds or set(kinds) - set(FAULT_KINDS):
        raise argparse.ArgumentTypeError(f"choose from {', '.join(FAULT_KINDS)}")
    return kinds


def phase_starts(log: list[LoggedRequest]) -> dict[str, int]:
    """How many requests a first walk (its `log`) sent before each of its phases began: the
    homepage, the second listing page, the cross-checks and the fetch by id."""
    listing = [i for i, r in enumerate(log) if r.operation == "PublicationContentDataQuery"]
    return {
        "homepage": next(i for i, r in enumerate(log) if r.path == "/"),
        "listing": listing[1],
        "crosschecks": next(i for i, r in enumerate(log) if r.path == "/sitemap/sitemap.xml"),
        "by_id": next(i for i, r in enumerate(log) if r.operation == "PostByIdQuery"),
    }
