"""Platform-neutral pieces shared by the chat adapters (Telegram, Discord): parsing what a user
typed into an audit request, and the actions offered under a finished report (more suspicious
accounts, the full reason breakdown, a CSV of the sample's verdicts, uploaded exports).

Pure except ``uploads`` (which stores an export's bytes in Redis for the runner).
"""

from bot.chat.actions import MAX_MORE, report_actions, verdicts_csv
from bot.chat.commands import (
    EXAMPLE,
    HELP_LINES,
    AuditCommand,
    CommandError,
    build_request,
    looks_like_handle,
    parse_audit_args,
)

__all__ = [
    "EXAMPLE",
    "HELP_LINES",
    "MAX_MORE",
    "AuditCommand",
    "CommandError",
    "build_request",
    "looks_like_handle",
    "parse_audit_args",
    "report_actions",
    "verdicts_csv",
]
