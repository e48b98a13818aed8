"""Train the intent regression on the TRAIN part of dev.jsonl and write its weights.

    python -m synth_agent.core.reasoning.train_intent [--data dev.jsonl] [--out FILE]

Only rows with `part == "train"` (see `dataset.split_part`) are used, so the evaluation part
stays unseen. Takes well under a minute on a 2-core CPU (embedding ~530 sentences twice, then
an L-BFGS fit). scikit-learn is needed here only; the node applies the weights with numpy.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from synth_agent.core.reasoning.dataset import DEFAULT_DEV, load_rows
from synth_agent.core.reasoning.intent import DEFAULT_WEIGHTS, Embedder, IntentModel, features

# Extra training sentences for intents the data lacks (no stop phrasings, few turns/drives):
# written here, not taken from dev.jsonl, so they cannot leak evaluation rows.
EXTRA: list[tuple[str, str]] = [
    ("turn left", "turn"), ("turn right", "turn"), ("rotate 90 degrees", "turn"),
    ("turn around", "turn"), ("spin to the right", "turn"), ("face the other way", "turn"),
    ("drive forward one meter", "drive"), ("move back a little", "drive"),
    ("go straight ahead", "drive"), ("back up", "drive"), ("move forward", "drive"),
    ("roll ahead two metres", "drive"),
    ("stop", "stop"), ("halt", "stop"), ("freeze", "stop"), ("cancel that", "stop"),
    ("what do you see", "describe"), ("where are you", "answer"),
    ("is there a cup on the table", "describe"), ("what can you do", "answer"),
]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DEV))
    ap.add_argument("--out", default=str(DEFAULT_WEIGHTS))
    ap.add_argument("--C", type=float, default=10.0, help="inverse L2 strength")
    args = ap.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    rows = [r for r in load_rows(args.data) if r.part == "train" and r.intent]
    texts = [r.text for r in rows] + [t for t, _ in EXTRA]
    labels = [r.intent for r in rows] + [i for _, i in EXTRA]
    t0 = time.monotonic()
    x = features(Embedder(), texts)
    clf = LogisticRegression(C=args.C, max_iter=3000, class_weight="balanced")
    clf.fit(x, labels)
    acc = float(np.mean(clf.predict(x) == np.asarray(labels)))
    model = IntentModel(
        labels=tuple(str(c) for c in clf.classes_),
        weights=clf.coef_.astype(np.float32),
        bias=clf.intercept_.astype(np.float32),
        meta={
            "trained_on": f"{len(rows)} train-part rows of dev.jsonl + {len(EXTRA)} written",
            "features": "MiniLM(whole) ++ MiniLM(last clause)",
            "C": args.C,
            "train_accuracy": round(acc, 4),
        },
    )
    model.save(args.out)
    print(f"trained on {len(texts)} sentences in {time.monotonic() - t0:.1f} s; "
          f"train accuracy {acc:.3f}; wrote {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
