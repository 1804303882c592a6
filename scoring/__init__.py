"""followaudit scoring: a pure, synchronous, fast library. Accounts in, verdicts out."""

from scoring.account import Account, AccountError

__all__ = ["Account", "AccountError"]
