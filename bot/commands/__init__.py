"""One module per ``followaudit`` sub-command; each is imported only when its command runs."""
