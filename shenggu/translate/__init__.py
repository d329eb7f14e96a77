"""Machine translation zh↔en: self-checks that a draft keeps the facts of its source."""
