"""Human review of audited followers (issue 18): a random draw, labels kept in Redis, the
reviewed fake share beside the audit's, the model checked on the labels, and export to training.
"""

from bot.review.export import Export, export_rows
from bot.review.records import DrawnAccount, LabelRecord, Reviewer, ReviewSession, StoredError
from bot.review.render import render_account, render_answer, render_check, render_results
from bot.review.service import (
    NOT_ALLOWED,
    Answered,
    AuditedSample,
    LabelledAccount,
    NotAllowed,
    RateLimited,
    ReviewError,
    ReviewResults,
    ReviewService,
    Step,
    review_id_of,
)
from bot.review.store import LabelOutcome, ReviewStore

__all__ = [
    "NOT_ALLOWED",
    "Answered",
    "AuditedSample",
    "DrawnAccount",
    "Export",
    "LabelOutcome",
    "LabelRecord",
    "LabelledAccount",
    "NotAllowed",
    "RateLimited",
    "ReviewError",
    "ReviewResults",
    "ReviewService",
    "ReviewSession",
    "ReviewStore",
    "Reviewer",
    "Step",
    "StoredError",
    "export_rows",
    "render_account",
    "render_answer",
    "render_check",
    "render_results",
    "review_id_of",
]
