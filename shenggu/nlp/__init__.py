"""Chinese text processing: script conversion, punctuation, word LM, inverse text normalization, text tools, FAQ."""
