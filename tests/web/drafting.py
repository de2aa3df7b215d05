"""Helpers of the intake workbench tests: upload a document as a draft, read one item's card."""

from __future__ import annotations

from tests.web.browser import SignedIn


async def upload_draft(clerk: SignedIn, content: bytes, name: str) -> tuple[str, int]:
    """Upload `content` as a new draft; return its page URL and id."""
    files = {"file": (name, content, "text/plain")}
    made = await clerk.client.post("/policies/drafts", files=files, data={"csrf_token": clerk.csrf})
    url = made.headers["location"]
    return url, int(url.rsplit("/", 1)[1])


def article(html: str, ref: str) -> str:
    """Return the review screen's card of one item (its element id is `ref`)."""
    return html.split(f'id="{ref}"', 1)[1].split("</article>", 1)[0]
