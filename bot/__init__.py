"""followaudit's async side: platform sources, the Redis pipeline, chat adapters and the CLI."""
