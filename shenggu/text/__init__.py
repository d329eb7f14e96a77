"""Text utilities every capability shares: the bottom layer of shenggu.

``script`` tells Chinese from other text (one Han character class), ``chinese`` holds the Chinese resources loaded
once per process (OpenCC's simplified characters, jieba's words), ``pinyin`` is the one wrapper of pypinyin,
``numbers_zh`` and ``numbers_en`` say numbers as words and ``numbers_en_parse`` reads English number words back;
``digits`` finds digit numbers in one canonical form (grounding checks compare them);
``lists`` splits comma-separated lists (hotwords, list and glossary names; the stream client uses it too).
Nothing here imports a capability: these modules depend only on :mod:`shenggu.errors` and :mod:`shenggu.lazy`.
"""
