"""Webhook intake: signature checks, tolerant payload models and event routing."""
