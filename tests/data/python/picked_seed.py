"""A seeding helper of the project's own that picks a seed when given none and returns it (as
Lightning's seed_everything does); tests/data/python/seed_rules.toml names it."""


def seed_everything(seed=None):
    return 1234 if seed is None else seed


seed_everything()
