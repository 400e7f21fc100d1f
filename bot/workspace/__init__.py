"""The reader's workspace: the articles added and removed in the browser, saved chats, feedback.

    catalog.py   every indexed article with its title, date, size and chunk count
    library.py   adding (files, addresses) and removing articles, one change at a time
    db.py        the workspace's SQLite file (BOT_WORKSPACE_DB)
    chats.py     conversations kept to come back to, per user
    feedback.py  thumbs up / down on answers, and the thumbs-down ones as eval cases

None of it imports gradio: the UI (bot/ui/) and the CLI call it alike.
"""
