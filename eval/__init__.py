"""Evaluation: run a Q&A dataset through the bot, score retrieval, answers, citations and refusals."""
