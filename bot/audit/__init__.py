"""The audit use case: fetch a target's followers, score them and build the report (the
worker's runner), and what the runner adds to the report for the chats' actions."""
