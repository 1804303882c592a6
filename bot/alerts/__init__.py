"""Team channel alerts (issue 8): watch accounts, re-audit them on a schedule, alert on change.

For the chat adapters (``/watch``, ``/unwatch``, ``/watchlist``, ``/alerts``):
``bot.alerts.service.WatchService`` with ``ChatRef`` (``bot.alerts.model``) and ``Caller``; the
composition root (``bot.app.open_app``) builds it once per process with
``bot.alerts.app.build_alerts`` (or by hand from ``WatchStore``, ``SourceAuditor``). For
``followaudit run``: ``bot.alerts.app.serve(app.alerts, stop)``.
The trigger logic itself is pure, in ``scoring.audit.compare``.

Modules: ``model`` (watches, chats: versioned JSON), ``store`` (Redis), ``schedule`` (slots),
``auditor`` (fetch + score + snapshot), ``render`` (alerts as data each chat renders),
``posters`` (retries and the console's; Telegram's and Discord's are beside their chats),
``runner`` (one pass over due watches), ``service`` (chat commands), ``app`` (wiring),
``cli`` (``followaudit alerts run-due``).
"""
