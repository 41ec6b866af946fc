"""The server: the loop, the router, what follows a delivery, and how a message reaches an inbox."""
