"""`provinstr ui`: a local web page over a store (runs, a run, compare, provenance graph, SPARQL).

Starlette serves small JSON endpoints under /api/ and thin HTML pages that draw them with
Plotly's bundled JavaScript; nothing is fetched from the internet. Nothing outside the CLI
imports this package.
"""
