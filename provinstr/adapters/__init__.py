"""Framework adapters: the thin, framework-specific part of capture, one package per framework.

`keras/` (Keras 3), `sklearn/` (scikit-learn). Each package's `__init__` declares the rule options the
adapter reads (`OPTIONS`) and nothing else at import; its `ADAPTER` (the hooks of
provinstr.capture.hooks.Adapter) is imported when a rule naming it fires, so provinstr never imports a
framework the user's program did not import. Records every adapter builds (attributes, datasets,
class names) come from provinstr.capture.records.
"""
