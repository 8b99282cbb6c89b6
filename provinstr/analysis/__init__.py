"""Analysis: reading stores, named queries, export, graphs and plots."""
