"""Spiders: thin routers from responses to the source parsers."""
