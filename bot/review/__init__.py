"""Human review of audited followers (issue 18): a random draw, labels kept in Redis, the
reviewed fake share beside the audit's, the model checked on the labels, and export to training.
"""

from bot.review import export, render, service, store
from bot.review.export import *  # noqa: F403 (its __all__, below)
from bot.review.records import DrawnAccount, LabelRecord, Reviewer, ReviewSession, StoredError
from bot.review.render import *  # noqa: F403
from bot.review.service import *  # noqa: F403
from bot.review.store import *  # noqa: F403

#: The records' types, and everything the other modules export.
__all__ = ["DrawnAccount", "LabelRecord", "ReviewSession", "Reviewer", "StoredError"]
__all__ += export.__all__ + render.__all__ + service.__all__ + store.__all__
