"""Platform-neutral pieces shared by the chat adapters (Discord, Telegram, console).

* ``bot.chat.requests``: what a user typed (a handle, a sample, fresh) -> an ``AuditRequest``.
* ``bot.chat.outcomes``: button actions on a stored outcome (more suspicious accounts, the reason
  breakdown, a CSV of the sample's verdicts), as plain data an adapter renders.
* ``bot.chat.state``: small per-chat state in Redis (recent audits, the request behind a job).
* ``bot.chat.uploads``: an uploaded follower export parked in Redis for the worker to read.
"""
