"""followaudit scoring: a pure, synchronous, fast library. Accounts in, verdicts out."""

from scoring.account import Account, AccountError
from scoring.model import Model, ModelError, ScoredBatch, Verdict, load_model

__all__ = ["Account", "AccountError", "Model", "ModelError", "ScoredBatch", "Verdict", "load_model"]
