"""Commands that read a store: runs, query, export, reindex."""
