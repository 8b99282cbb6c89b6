"""One module per page; each exposes `ROUTES`, a list of starlette Routes (its HTML page and its /api/ JSON)."""
