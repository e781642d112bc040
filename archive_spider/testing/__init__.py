"""Test helpers that are also tools: a local Medium-like site."""
