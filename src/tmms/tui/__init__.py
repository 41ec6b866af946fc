"""``tmms ui``: the full-screen mailbox (Textual), for a terminal or a tmux popup (prefix+M).

Only ``tmms ui`` imports this package, so Textual never loads for ``tmms post`` or the server.
"""
