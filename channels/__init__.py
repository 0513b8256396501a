"""Senders for the channels offices use in mainland China (WeCom, DingTalk, email, group robots)."""
