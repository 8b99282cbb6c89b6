"""`python -m provinstr.rules`: the table of rule options that docs/rules.md holds, from the declarations."""

from provinstr.rules.adapters import all_declared_options
from provinstr.rules.options import options_markdown

print(options_markdown(all_declared_options()))
