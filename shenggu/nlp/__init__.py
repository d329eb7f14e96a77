"""Chinese text processing: script conversion, homophones, punctuation, word LM and inverse text normalization."""
