"""Test helpers that are also tools: local Medium-like sites, one publication or a fleet."""
