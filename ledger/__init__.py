"""The rectification ledger (整改台账): the domain, independent of Telegram and the scheduler."""
