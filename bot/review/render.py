"""Plain-text renderings of a review: the account card a reviewer sees (the score hidden), the
answer (the score revealed) and the results. Every platform string is escaped; chat adapters
may render the same typed data their own way."""

from __future__ import annotations

from datetime import datetime

from bot.review.service import Answered, ReviewResults, Step
from scoring.account import Account
from scoring.audit.escape import escape_plain
from scoring.audit.profiles import display_handle, profile_url
from scoring.review import ModelCheck

__all__ = ["render_account", "render_answer", "render_check", "render_results"]

_SAID = {"fake": "fake", "genuine": "genuine", "unsure": "can't tell"}


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _age(account: Account) -> str:
    seen: datetime | None = account.observed_at
    if account.created_at is None or seen is None:
        return "unknown"
    days = max(0, (seen - account.created_at).days)
    return f"{days:,} days" if days < 730 else f"{days / 365.25:.1f} years"


def render_account(step: Step) -> str:
    """The account to label, as the reviewer sees it (no score); empty when the review is done."""
    item = step.item
    if item is None:
        return ""
    a = item.account
    name = escape_plain(display_handle(a.platform, a.id, a.handle))
    url = profile_url(a.platform, a.handle)
    lines = [f"{step.position + 1} of {step.total}: {name}" + (f" ({url})" if url else "")]
    if a.display_name:
        lines.append(f"name: {escape_plain(a.display_name)}")
    if a.bio:
        lines.append(f"bio: {escape_plain(a.bio, 300)}")
    lines.append(
        f"followers {_count(a.followers_count)}, following {_count(a.following_count)}, "
        f"posts {_count(a.posts_count)}; age {_age(a)}"
    )
    avatar = None if a.has_default_avatar is None else not a.has_default_avatar
    lines.append(f"avatar: {_yes_no(avatar)}, banner: {_yes_no(a.has_banner)}")
    return "\n".join(lines)


def render_answer(answered: Answered) -> str:
    """The label taken and the model's probability of that account, now revealed."""
    return (
        f"Labelled {_SAID[answered.label]}; the model gave it {_pct(answered.probability)}. "
        f"{answered.step.position} of {answered.step.total} done."
    )


def render_check(platform: str, check: ModelCheck) -> str:
    """The model on every label of a platform: AUC and the reliability bins with labels."""
    head = (
        f"Model on {escape_plain(platform)} labels ({check.n_fake:,} fake, "
        f"{check.n_genuine:,} genuine): AUC "
        + ("not yet (needs both kinds)" if check.auc is None else f"{check.auc:.2f}")
    )
    bins = [
        f"{_pct(b['from'])}-{_pct(b['to'])}: {b['n']:,} labelled, said {_pct(b['mean_p'])}, "
        f"{_pct(b['observed'])} fake"
        for b in check.bins
        if b["n"]
    ]
    return "\n".join([head, *(f"  {line}" for line in bins)])


def render_results(results: ReviewResults) -> str:
    s, share = results.session, results.share
    subject = escape_plain(display_handle(s.platform, s.handle, s.handle))
    lines = [
        f"Review of {subject}'s followers: {share.decided + share.unsure + results.disputed} of "
        f"{len(s.accounts)} drawn at random labelled by {results.reviewers} "
        f"reviewer{'s' * (results.reviewers != 1)}."
    ]
    if share.share is None:
        lines.append("Reviewed fake share: not yet (no account labelled fake or genuine).")
    else:
        lines.append(
            f"Reviewed fake share: {_pct(share.share)} ({_pct(share.low)}-{_pct(share.high)}, "
            f"95% Wilson interval; {share.fake} fake of {share.decided})."
        )
    left_out = [f"{share.unsure} can't tell"] if share.unsure else []
    if results.disputed:
        left_out.append(f"{results.disputed} labelled both ways")
    if left_out:
        lines.append(f"Left out: {', '.join(left_out)}.")
    if s.audit_share is not None:
        est, low, high = s.audit_share
        lines.append(f"The audit estimated {_pct(est)} ({_pct(low)}-{_pct(high)}).")
    if results.agree is not None:
        lines.append(
            "They agree (the intervals overlap)."
            if results.agree
            else "They disagree (the intervals do not overlap)."
        )
    lines.append(render_check(s.platform, results.check))
    return "\n".join(lines)
