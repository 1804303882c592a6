"""The audit pipeline: Redis queue, workers, cache, limits and delivery to chat adapters.

What a chat adapter needs is exported here; see the README's "audit pipeline" section.
"""

from bot.pipeline.delivery import DeliveryConsumer, DeliveryHandler
from bot.pipeline.messages import (
    AuditJob,
    AuditOutcome,
    AuditRequest,
    Delivery,
    MessageError,
    Progress,
    ReplyTo,
    UserError,
)
from bot.pipeline.runner import (
    AuditRunner,
    Budgets,
    Checkpoint,
    ProgressSink,
    RunnerContext,
    TransientAuditError,
    UserFacingError,
)
from bot.pipeline.service import AuditService, Submission
from bot.pipeline.worker import Worker

__all__ = [
    "AuditJob",
    "AuditOutcome",
    "AuditRequest",
    "AuditRunner",
    "AuditService",
    "Budgets",
    "Checkpoint",
    "Delivery",
    "DeliveryConsumer",
    "DeliveryHandler",
    "MessageError",
    "Progress",
    "ProgressSink",
    "ReplyTo",
    "RunnerContext",
    "Submission",
    "TransientAuditError",
    "UserError",
    "UserFacingError",
    "Worker",
]
