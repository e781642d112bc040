"""Pure parsers, one module per source: text (and a reference time) in, `Post` items out."""


class LayoutChanged(ValueError):
    """A page where posts were expected yielded none: the site's layout probably changed."""
