"""Persistent content. The root of traversal is the Site (`registry.resources.site`); a
database gets it, or its pending evolve steps, from `registry.resources.evolve.bootstrap`."""
