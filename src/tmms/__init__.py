"""tmms: mail between tmux panes, a Python drop-in for TMMS 0.1.1."""

__version__ = "0.3.0"
