"""Cloudflare's bot challenges and block pages, recognised by their content at any status.

Cloudflare answers a crawler with "Just a moment..." or "Attention Required!" pages, with
status 403, 429 or 503, and sometimes 200; someone else's job may also have saved one to a
file, as HTML or as a reader-style markdown capture. Neither is ever Medium content.
"""

from __future__ import annotations

# Looked for in the first bytes of a body: a challenge page is small and says so early.
HEAD_BYTES = 20_000
# Texts only Cloudflare's interstitial and block pages carry, whatever their status.
PAGE_MARKERS = (
    b"<title>Just a moment...</title>",
    b"Attention Required! | Cloudflare",
    b"_cf_chl_opt",
    b"cf-error-details",
    b"Verify you are human by completing the action below",
    b"needs to review the security of your connection before proceeding",
    b"Performance &amp; security by Cloudflare",
    b"Performance & security by Cloudflare",
)
# Weaker texts, a challenge only with the statuses Cloudflare challenges with.
STATUS_MARKERS = (b"Just a moment...", b"cf-chl", b"cf_chl")
CHALLENGE_STATUSES = (403, 429, 503)
# Every Medium page carries its Apollo state; no challenge page does.
MEDIUM_PAGE = b"window.__APOLLO_STATE__"


def is_challenge(body: bytes, status: int = 200, mitigated: bool = False) -> bool:
    """Whether a response (or a saved file) is a Cloudflare challenge, not content.

    `mitigated` is Cloudflare's `cf-mitigated` header, which settles it.
    """
    if mitigated:
        return True
    head = body[:HEAD_BYTES]
    if MEDIUM_PAGE in head:
        return False
    if any(marker in head for marker in PAGE_MARKERS):
        return True
    return status in CHALLENGE_STATUSES and any(marker in head for marker in STATUS_MARKERS)
