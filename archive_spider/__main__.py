"""`python -m archive_spider` is `archive-spider`."""

from .cli import main

main()
