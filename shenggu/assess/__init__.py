"""Pronunciation (oral) assessment: how well a learner read a known text, in English and Mandarin."""
