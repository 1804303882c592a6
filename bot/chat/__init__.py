"""Platform-neutral pieces shared by the chat adapters (Telegram, Discord, the console): the
conversation controller that decides what a request's message shows and when, over each chat's
small ``Surface`` (``conversation``); the buttons under a report (``buttons``); parsing what a
user typed into an audit request; the actions offered under a finished report (more suspicious
accounts, the full reason breakdown, a CSV of the sample's verdicts); uploaded exports; the
review conversation and the chats' state.

Pure except ``uploads``, ``state`` and ``buttons`` (Redis) and the controller (it drives its
surface's calls).
"""

from bot.chat.actions import MAX_MORE, report_actions, verdicts_csv
from bot.chat.buttons import ReportButtons, ReportPress
from bot.chat.commands import (
    EXAMPLE,
    HELP_LINES,
    AuditCommand,
    CommandError,
    build_request,
    looks_like_handle,
    parse_audit_args,
)
from bot.chat.conversation import Answer, ChatGone, Controller, MessageGone, Result, Surface

__all__ = [
    "EXAMPLE",
    "HELP_LINES",
    "MAX_MORE",
    "Answer",
    "AuditCommand",
    "ChatGone",
    "CommandError",
    "Controller",
    "MessageGone",
    "ReportButtons",
    "ReportPress",
    "Result",
    "Surface",
    "build_request",
    "looks_like_handle",
    "parse_audit_args",
    "report_actions",
    "verdicts_csv",
]
