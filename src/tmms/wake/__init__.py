"""Waking an agent in a tmux pane: read its screen, and type one verified line only when it is safe."""
