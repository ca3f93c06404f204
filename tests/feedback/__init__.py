"""Golden files of every bot-written message (bot/feedback) and the rules they follow."""
