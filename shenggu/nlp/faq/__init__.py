"""FAQ knowledge bases: entries in Chinese and English, their files (CSV, XLSX, Markdown) and retrieval."""
